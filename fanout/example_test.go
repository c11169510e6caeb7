package fanout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// member is one recipient device; the server would hold its bundle.
type member struct {
	addr    session.Address
	store   *session.MemoryStore
	groups  *group.Cipher
	publish func() *prekey.Bundle
}

// accounts holds each account's identity key pair: in the signal flavour
// all devices of an account share it (a device with another key is refused).
var accounts = map[string]prekey.IdentityKeyPair{}

func newMember(name string, device uint32) *member {
	id, ok := accounts[name]
	if !ok {
		id, _ = prekey.GenerateIdentityKeyPair(rand.Reader)
		accounts[name] = id
	}
	st := session.NewMemoryStore(id, 100+device)
	m := &member{addr: session.Address{Name: name, DeviceID: device}, store: st, groups: group.NewCipher(group.NewMemoryStore())}
	m.publish = func() *prekey.Bundle {
		ctx := context.Background()
		spk, _ := prekey.GenerateSignedPreKey(rand.Reader, id, 1, time.Now())
		kpk, _ := prekey.GenerateKyberPreKey(rand.Reader, id, 1, true, time.Now())
		st.StoreSignedPreKey(ctx, &spk)
		st.StoreKyberPreKey(ctx, &kpk)
		return prekey.NewBundle(100+device, device, id.PublicKey(), &spk, nil, &kpk)
	}
	return m
}

func Example() {
	ctx := context.Background()

	// Our side: a session store (session.MemoryStore, or an sqlstore.Store
	// which is all three stores in one), sender keys and the shared set.
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	store := session.NewMemoryStore(id, 1)
	keys := group.NewMemoryStore()
	sessions := session.NewCipher(store)
	sender, _ := fanout.NewSender(fanout.Config{
		Sessions: sessions, SessionStore: store,
		Groups: group.NewCipher(keys), SenderKeys: keys,
		Shared: fanout.NewMemoryDistributionStore(),
	})
	self := group.SenderKeyName{Sender: "alice", DeviceID: 1, DistributionID: "d1b6d8d5-5c3a-4f2e-9b1a-0c2d4e6f8a9b"}

	devices := []*member{newMember("bob", 1), newMember("bob", 2), newMember("carol", 1)}
	recipients := make([]session.Recipient, len(devices))
	for i, d := range devices {
		recipients[i] = session.Recipient{Address: d.addr, RegistrationID: 100 + d.addr.DeviceID}
	}

	out, err := sender.Send(ctx, self, recipients, []byte("hello, group"))
	var mismatch *session.DeviceMismatchError
	if errors.As(err, &mismatch) {
		// No sessions yet: fetch the bundles the error names and retry.
		need, _ := sessions.ResolveDeviceMismatch(ctx, mismatch)
		fmt.Println("bundles needed:", len(need))
		for i, d := range devices {
			recipients[i].Bundle = d.publish()
		}
		out, err = sender.Send(ctx, self, recipients, []byte("hello, group"))
	}
	if err != nil {
		panic(err)
	}
	fmt.Println("distribution messages:", len(out.Distribution))
	sender.Delivered(ctx, out) // the server took them

	// Each device: the 1:1 message carries our sender key, then the group
	// message decrypts.
	from := group.SenderKeyName{Sender: "alice", DeviceID: 1}
	for i, d := range devices {
		m := out.Distribution[i]
		skdm, _ := session.NewCipher(d.store).Decrypt(ctx, session.Address{Name: "alice", DeviceID: 1}, m.Type, m.Body)
		parsed, _ := group.ParseSenderKeyDistributionMessage(skdm, group.LayoutSignal)
		d.groups.ProcessDistributionMessage(ctx, from, parsed)
		pt, _ := d.groups.Decrypt(ctx, from, out.SenderKeyMessage)
		fmt.Printf("%s: %s\n", d.addr, pt)
	}

	// The next message needs no distribution at all.
	for i := range recipients {
		recipients[i].Bundle = nil
	}
	out, _ = sender.Send(ctx, self, recipients, []byte("second"))
	fmt.Println("distribution messages:", len(out.Distribution))
	// Output:
	// bundles needed: 3
	// distribution messages: 3
	// bob.1: hello, group
	// bob.2: hello, group
	// carol.1: hello, group
	// distribution messages: 0
}
