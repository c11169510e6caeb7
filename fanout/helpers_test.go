package fanout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// device is one member device: its own session and sender-key stores.
type device struct {
	addr     session.Address
	id       prekey.IdentityKeyPair
	regID    uint32
	store    *session.MemoryStore
	sessions *session.Cipher
	groups   *group.Cipher
	nextID   uint32
	got      map[string]int // plaintext → times decrypted
}

func newDevice(t testing.TB, name string, dev uint32, id prekey.IdentityKeyPair) *device {
	t.Helper()
	reg, err := prekey.GenerateRegistrationID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := session.NewMemoryStore(id, reg)
	return &device{
		addr: session.Address{Name: name, DeviceID: dev}, id: id, regID: reg, store: st,
		sessions: session.NewCipher(st), groups: group.NewCipher(group.NewMemoryStore()),
		nextID: 1, got: map[string]int{},
	}
}

// bundle publishes fresh prekeys (the server hands one out per fetch).
func (d *device) bundle(t testing.TB) *prekey.Bundle {
	t.Helper()
	ctx := context.Background()
	id := d.nextID
	d.nextID++
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, d.id, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pks, err := prekey.GeneratePreKeys(rand.Reader, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	k, err := prekey.GenerateKyberPreKey(rand.Reader, d.id, id, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{d.store.StoreSignedPreKey(ctx, &spk), d.store.StorePreKey(ctx, &pks[0]), d.store.StoreKyberPreKey(ctx, &k)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return &prekey.Bundle{
		RegistrationID: d.regID, DeviceID: d.addr.DeviceID, IdentityKey: d.id.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		PreKeyID: pks[0].ID, PreKey: pks[0].KeyPair.Public,
		KyberPreKeyID: k.ID, KyberPreKey: k.KeyPair.Public, KyberPreKeySignature: k.Signature,
	}
}

// groupSender is the sending device.
type groupSender struct {
	addr     session.Address
	id       prekey.IdentityKeyPair
	store    session.Store
	sessions *session.Cipher
	groups   *group.Cipher
	sender   *fanout.Sender
	self     group.SenderKeyName
}

func newGroupSender(t testing.TB, name, dist string, store session.Store, keys group.SenderKeyStore, shared fanout.DistributionStore) *groupSender {
	t.Helper()
	id, err := store.IdentityKeyPair(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := &groupSender{
		addr: session.Address{Name: name, DeviceID: 1}, id: id, store: store,
		sessions: session.NewCipher(store), groups: group.NewCipher(keys),
		self: group.SenderKeyName{Sender: name, DeviceID: 1, DistributionID: dist},
	}
	s, err := fanout.NewSender(fanout.Config{
		Sessions: g.sessions, SessionStore: store, Groups: g.groups, SenderKeys: keys, Shared: shared,
	})
	if err != nil {
		t.Fatal(err)
	}
	g.sender = s
	return g
}

// send sends pt to devs as an application would: on a device mismatch it
// resolves, fetches the bundles the error names and retries.
func (g *groupSender) send(t testing.TB, devs []*device, pt string) *fanout.Outgoing {
	t.Helper()
	ctx := context.Background()
	byAddr := map[session.Address]*device{}
	recips := make([]session.Recipient, len(devs))
	for i, d := range devs {
		byAddr[d.addr] = d
		recips[i] = session.Recipient{Address: d.addr, RegistrationID: d.regID}
	}
	for attempt := 0; ; attempt++ {
		out, err := g.sender.Send(ctx, g.self, recips, []byte(pt))
		var dm *session.DeviceMismatchError
		if errors.As(err, &dm) && attempt == 0 {
			need, err := g.sessions.ResolveDeviceMismatch(ctx, dm)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range need {
				for i := range recips {
					if recips[i].Address == a {
						recips[i].Bundle = byAddr[a].bundle(t)
					}
				}
			}
			continue
		}
		if err != nil {
			t.Fatalf("send %q (attempt %d): %v", pt, attempt, err)
		}
		return out
	}
}

// deliver hands the distribution messages and the group message to devs.
func (g *groupSender) deliver(t testing.TB, out *fanout.Outgoing, devs []*device) {
	t.Helper()
	ctx := context.Background()
	byAddr := map[session.Address]*device{}
	for _, d := range devs {
		byAddr[d.addr] = d
	}
	from := group.SenderKeyName{Sender: g.addr.Name, DeviceID: g.addr.DeviceID}
	for _, m := range out.Distribution {
		d := byAddr[m.Address]
		pt, err := d.sessions.Decrypt(ctx, g.addr, m.Type, m.Body)
		if err != nil {
			t.Fatalf("%s: distribution message: %v", d.addr, err)
		}
		skdm, err := group.ParseSenderKeyDistributionMessage(pt, g.groups.Layout())
		if err != nil {
			t.Fatal(err)
		}
		if err := d.groups.ProcessDistributionMessage(ctx, from, skdm); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.sender.Delivered(ctx, out); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Devices {
		d := byAddr[a]
		pt, err := d.groups.Decrypt(ctx, from, out.SenderKeyMessage)
		if err != nil {
			t.Fatalf("%s: group message: %v", a, err)
		}
		d.got[string(pt)]++
	}
}

func uuidName(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", i) }
