package fanout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

const testDist = "5a6b1d2e-3f40-4152-8364-758697a8b9ca"

type user struct {
	name    string
	id      prekey.IdentityKeyPair
	devices []*device
	nextDev uint32
}

func newUser(t testing.TB, name string, n int) *user {
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u := &user{name: name, id: id, nextDev: 1}
	for range n {
		u.addDevice(t)
	}
	return u
}

func (u *user) addDevice(t testing.TB) *device {
	d := newDevice(t, u.name, u.nextDev, u.id)
	u.nextDev++
	u.devices = append(u.devices, d)
	return d
}

// TestGroupProperty: 50 users with 1–5 devices each; devices and users are
// added, removed and re-registered at random between messages. Every
// member device decrypts every message sent while it is a member exactly
// once; removed devices read nothing sent after their removal; a repeated
// delivery is refused as a duplicate.
func TestGroupProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewPCG(seed, 0x1077))
	ctx := context.Background()

	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	alice := newGroupSender(t, uuidName(0), testDist, session.NewMemoryStore(id, 1), group.NewMemoryStore(), fanout.NewMemoryDistributionStore())

	var users []*user
	for i := range 50 {
		users = append(users, newUser(t, uuidName(i+1), 1+rng.IntN(5)))
	}
	nextUser := 51
	expect := map[*device]map[string]bool{}
	var removed []*device // removed from the group (the chain rotated)
	var everyone []*device
	seen := map[*device]bool{}

	rounds := 30
	if testing.Short() {
		rounds = 10
	}
	for round := range rounds {
		switch ev := rng.IntN(8); ev {
		case 0: // a user links a new device
			u := users[rng.IntN(len(users))]
			if len(u.devices) < 5 {
				u.addDevice(t)
			}
		case 1: // a device is unlinked
			u := users[rng.IntN(len(users))]
			if len(u.devices) > 1 {
				i := rng.IntN(len(u.devices))
				removed = append(removed, u.devices[i])
				u.devices = slices.Delete(u.devices, i, i+1)
				if err := alice.sender.Rotate(ctx, alice.self); err != nil {
					t.Fatal(err)
				}
			}
		case 2: // a device is re-installed: same ID, new registration
			u := users[rng.IntN(len(users))]
			i := rng.IntN(len(u.devices))
			old := u.devices[i]
			u.devices[i] = newDevice(t, u.name, old.addr.DeviceID, u.id)
		case 3: // a user leaves
			if len(users) > 45 {
				i := rng.IntN(len(users))
				removed = append(removed, users[i].devices...)
				users = slices.Delete(users, i, i+1)
				if err := alice.sender.Rotate(ctx, alice.self); err != nil {
					t.Fatal(err)
				}
			}
		case 4: // a user joins
			users = append(users, newUser(t, uuidName(nextUser), 1+rng.IntN(5)))
			nextUser++
		}
		var devs []*device
		for _, u := range users {
			devs = append(devs, u.devices...)
		}
		pt := fmt.Sprintf("message %d", round)
		for _, d := range devs {
			if expect[d] == nil {
				expect[d] = map[string]bool{}
			}
			expect[d][pt] = true
			if !seen[d] {
				seen[d] = true
				everyone = append(everyone, d)
			}
		}
		out := alice.send(t, devs, pt)
		if len(out.Devices) != len(devs) {
			t.Fatalf("round %d: %d devices, want %d", round, len(out.Devices), len(devs))
		}
		alice.deliver(t, out, devs)

		from := group.SenderKeyName{Sender: alice.addr.Name, DeviceID: 1}
		for _, d := range removed {
			if _, err := d.groups.Decrypt(ctx, from, out.SenderKeyMessage); err == nil {
				t.Fatalf("round %d: removed device %s decrypted %q", round, d.addr, pt)
			}
		}
		d := devs[rng.IntN(len(devs))]
		if _, err := d.groups.Decrypt(ctx, from, out.SenderKeyMessage); !errors.Is(err, group.ErrDuplicateMessage) {
			t.Fatalf("round %d: repeated delivery to %s: %v", round, d.addr, err)
		}
	}
	for _, d := range everyone {
		for pt, n := range d.got {
			if !expect[d][pt] {
				t.Errorf("%s decrypted %q, sent while it was not a member", d.addr, pt)
			}
			if n != 1 {
				t.Errorf("%s decrypted %q %d times", d.addr, pt, n)
			}
		}
		for pt := range expect[d] {
			if d.got[pt] != 1 {
				t.Errorf("%s never decrypted %q", d.addr, pt)
			}
		}
	}
}

// TestDistributionOnce: the distribution message goes to each device once
// per chain, again to a device with a new session, and to everyone after a
// rotation.
func TestDistributionOnce(t *testing.T) {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	alice := newGroupSender(t, uuidName(0), testDist, session.NewMemoryStore(id, 1), group.NewMemoryStore(), fanout.NewMemoryDistributionStore())
	users := []*user{newUser(t, uuidName(1), 2), newUser(t, uuidName(2), 3)}
	devs := append(slices.Clone(users[0].devices), users[1].devices...)
	count := func(out *fanout.Outgoing) int { return len(out.Distribution) }

	out := alice.send(t, devs, "one")
	alice.deliver(t, out, devs)
	if count(out) != 5 {
		t.Fatalf("first send distributed to %d devices, want 5", count(out))
	}
	out = alice.send(t, devs, "two")
	alice.deliver(t, out, devs)
	if count(out) != 0 {
		t.Fatalf("second send distributed to %d devices, want 0", count(out))
	}
	// Not delivered: sent again next time.
	extra := users[1].addDevice(t)
	devs = append(devs, extra)
	out = alice.send(t, devs, "three")
	if count(out) != 1 || out.Distribution[0].Address != extra.addr {
		t.Fatalf("new device: distributed to %v", out.Distribution)
	}
	out = alice.send(t, devs, "three again")
	if count(out) != 1 {
		t.Fatalf("undelivered distribution not repeated: %d", count(out))
	}
	alice.deliver(t, out, devs)
	if err := alice.sender.Rotate(context.Background(), alice.self); err != nil {
		t.Fatal(err)
	}
	devs = devs[1:]
	out = alice.send(t, devs, "four")
	alice.deliver(t, out, devs)
	if count(out) != len(devs) {
		t.Fatalf("after rotation distributed to %d devices, want %d", count(out), len(devs))
	}
}

// TestSealedSenderV2: the sender-key message sealed once for every device
// of every member; each device opens it and decrypts the group message.
func TestSealedSenderV2(t *testing.T) {
	ctx := context.Background()
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	alice := newGroupSender(t, uuidName(0), testDist, session.NewMemoryStore(id, 1), group.NewMemoryStore(), fanout.NewMemoryDistributionStore())
	users := []*user{newUser(t, uuidName(1), 2), newUser(t, uuidName(2), 1), newUser(t, uuidName(3), 3)}
	var devs []*device
	for _, u := range users {
		devs = append(devs, u.devices...)
	}
	out := alice.send(t, devs, "sealed")
	// Distribute without the group message.
	from := group.SenderKeyName{Sender: alice.addr.Name, DeviceID: 1}
	for _, m := range out.Distribution {
		for _, d := range devs {
			if d.addr == m.Address {
				pt, err := d.sessions.Decrypt(ctx, alice.addr, m.Type, m.Body)
				if err != nil {
					t.Fatal(err)
				}
				skdm, err := group.ParseSenderKeyDistributionMessage(pt, group.LayoutSignal)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.groups.ProcessDistributionMessage(ctx, from, skdm); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	rootKP, _ := prekey.GenerateKeyPair(rand.Reader)
	serverKP, _ := prekey.GenerateKeyPair(rand.Reader)
	server, err := sealedsender.NewServerCertificate(rand.Reader, rootKP.Private, 1, serverKP.Public)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
		UUID: alice.addr.Name, DeviceID: 1, IdentityKey: alice.id.PublicKey(), Expires: time.Now().Add(time.Hour),
	}, server, serverKP.Private)
	if err != nil {
		t.Fatal(err)
	}
	groupID := []byte("group-id")
	sealed, err := alice.sender.SealSenderKeyMessage(ctx, nil, out, cert, sealedsender.HintResendable, groupID)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := sealedsender.ParseSentMessage(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Recipients) != len(users) {
		t.Fatalf("%d recipients, want %d", len(sent.Recipients), len(users))
	}
	for _, d := range devs {
		sid, _ := sealedsender.ParseServiceID(d.addr.Name)
		msg, err := sealedsender.SplitForRecipient(sealed, sid, d.addr.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		content, err := sealedsender.DecryptToContent(d.id, msg)
		if err != nil {
			t.Fatalf("%s: %v", d.addr, err)
		}
		if content.Type() != session.TypeSenderKey || string(content.GroupID()) != string(groupID) {
			t.Fatalf("%s: content type %d, group %q", d.addr, content.Type(), content.GroupID())
		}
		for _, r := range sent.Recipients {
			if r.ServiceID == sid {
				found := false
				for _, dv := range r.Devices {
					found = found || (dv.ID == d.addr.DeviceID && dv.RegistrationID == d.regID)
				}
				if !found {
					t.Fatalf("%s: device or registration ID missing from %v", d.addr, r.Devices)
				}
			}
		}
		pt, err := d.groups.Decrypt(ctx, from, content.Contents())
		if err != nil || string(pt) != "sealed" {
			t.Fatalf("%s: %q, %v", d.addr, pt, err)
		}
	}
}
