package fanout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// TestIssue20Item8_ReinstalledDeviceWritesFirst: issue #20 item 8. Bob
// reinstalls, writes to Alice first (a PreKeySignalMessage), Alice accepts
// his new identity; her next group send must carry a distribution message
// for his new installation, although his listed registration ID matches the
// new session. Before the fix the shared set, keyed by address and chain
// only, said he held the chain and the new installation got no sender key.
func TestIssue20Item8_ReinstalledDeviceWritesFirst(t *testing.T) {
	for _, tc := range []struct {
		name    string
		newKeys bool // a new identity key (trusted by the user) or the restored one
	}{{"new identity", true}, {"same identity", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			alice := newGroupSender(t, uuidName(0), testDist, session.NewMemoryStore(id, 1), group.NewMemoryStore(), fanout.NewMemoryDistributionStore())
			carol := newDevice(t, uuidName(2), 1, mustIdentity(t))
			bobID := mustIdentity(t)
			bob := newDevice(t, uuidName(1), 1, bobID)
			devs := []*device{bob, carol}
			alice.deliver(t, alice.send(t, devs, "before"), devs)

			// Bob reinstalls: new registration ID, new stores.
			if tc.newKeys {
				bobID = mustIdentity(t)
			}
			bob2 := newDevice(t, bob.addr.Name, bob.addr.DeviceID, bobID)
			if err := bob2.sessions.ProcessBundle(ctx, alice.addr, aliceBundle(t, alice)); err != nil {
				t.Fatal(err)
			}
			typ, ct, err := bob2.sessions.Encrypt(ctx, alice.addr, []byte("reinstalled"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = alice.sessions.Decrypt(ctx, bob2.addr, typ, ct)
			if tc.newKeys {
				if !errors.Is(err, session.ErrUntrustedIdentity) {
					t.Fatalf("message from a new identity: %v, want ErrUntrustedIdentity", err)
				}
				// The user accepts the new safety number.
				if _, err := alice.store.SaveIdentity(ctx, bob2.addr, bobID.PublicKey()); err != nil {
					t.Fatal(err)
				}
				_, err = alice.sessions.Decrypt(ctx, bob2.addr, typ, ct)
			}
			if err != nil {
				t.Fatalf("Alice decrypts Bob's first message: %v", err)
			}

			devs = []*device{bob2, carol}
			out := alice.send(t, devs, "after")
			if len(out.Distribution) != 1 || out.Distribution[0].Address != bob2.addr {
				t.Fatalf("distribution after Bob's reinstall went to %v, want only %s", out.Distribution, bob2.addr)
			}
			alice.deliver(t, out, devs)
			if bob2.got["after"] != 1 {
				t.Fatal("Bob's new installation cannot read the group")
			}
			// And only once.
			if out := alice.send(t, devs, "again"); len(out.Distribution) != 0 {
				t.Fatalf("distributed again to %v", out.Distribution)
			}
		})
	}
}

func mustIdentity(t testing.TB) prekey.IdentityKeyPair {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// aliceBundle publishes a bundle for the group sender g from its store.
func aliceBundle(t testing.TB, g *groupSender) *prekey.Bundle {
	t.Helper()
	d := &device{addr: g.addr, id: g.id, store: g.store.(*session.MemoryStore), nextID: 100}
	return d.bundle(t)
}

// TestIssue20Item10_GhostDeviceNotSentGroupKey: issue #20 item 10. A bob.7
// the server adds with its own identity key gets neither the plaintext nor
// the group's sender key: Send fails with ErrUntrustedIdentity.
func TestIssue20Item10_GhostDeviceNotSentGroupKey(t *testing.T) {
	ctx := context.Background()
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	alice := newGroupSender(t, uuidName(0), testDist, session.NewMemoryStore(id, 1), group.NewMemoryStore(), fanout.NewMemoryDistributionStore())
	bob := newDevice(t, uuidName(1), 1, mustIdentity(t))
	alice.deliver(t, alice.send(t, []*device{bob}, "hello"), []*device{bob})
	ghost := newDevice(t, bob.addr.Name, 7, mustIdentity(t))
	_, err := alice.sender.Send(ctx, alice.self, []session.Recipient{
		{Address: bob.addr, RegistrationID: bob.regID},
		{Address: ghost.addr, RegistrationID: ghost.regID, Bundle: ghost.bundle(t)},
	}, []byte("secret plans"))
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("Send to a ghost device: %v, want ErrUntrustedIdentity", err)
	}
}

// corruptStore is a MemoryStore whose records for the addresses in bad do
// not parse until a new record is stored for them.
type corruptStore struct {
	*session.MemoryStore
	bad map[session.Address]bool
}

func (c *corruptStore) LoadSession(ctx context.Context, a session.Address) (*session.Record, error) {
	if c.bad[a] {
		return nil, &session.CorruptRecordError{Address: a, Err: errors.New("garbage")}
	}
	return c.MemoryStore.LoadSession(ctx, a)
}

func (c *corruptStore) LoadSessions(ctx context.Context, addrs []session.Address) (map[session.Address]*session.Record, error) {
	recs, err := c.MemoryStore.LoadSessions(ctx, addrs)
	if err != nil {
		return nil, err
	}
	be := &session.BatchError{Errors: map[session.Address]error{}}
	for _, a := range addrs {
		if c.bad[a] {
			delete(recs, a)
			be.Errors[a] = &session.CorruptRecordError{Address: a, Err: errors.New("garbage")}
		}
	}
	if len(be.Errors) > 0 {
		return recs, be
	}
	return recs, nil
}

func (c *corruptStore) StoreSession(ctx context.Context, a session.Address, r *session.Record) error {
	delete(c.bad, a)
	return c.MemoryStore.StoreSession(ctx, a, r)
}

func (c *corruptStore) StoreSessions(ctx context.Context, recs map[session.Address]*session.Record) error {
	for a := range recs {
		delete(c.bad, a)
	}
	return c.MemoryStore.StoreSessions(ctx, recs)
}

func (c *corruptStore) DeleteSession(ctx context.Context, a session.Address) error {
	delete(c.bad, a)
	return c.MemoryStore.DeleteSession(ctx, a)
}

// TestIssue20Item17_GroupSendCorruptRecord: a device whose stored record
// does not parse is reported Missing (not a failure of the whole send); the
// bundle the app fetches replaces the record and the group goes on.
func TestIssue20Item17_GroupSendCorruptRecord(t *testing.T) {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	st := &corruptStore{MemoryStore: session.NewMemoryStore(id, 1), bad: map[session.Address]bool{}}
	alice := newGroupSender(t, uuidName(0), testDist, st, group.NewMemoryStore(), fanout.NewMemoryDistributionStore())
	bob := newDevice(t, uuidName(1), 1, mustIdentity(t))
	carol := newDevice(t, uuidName(2), 1, mustIdentity(t))
	devs := []*device{bob, carol}
	alice.deliver(t, alice.send(t, devs, "hello"), devs)
	st.bad[bob.addr] = true
	alice.deliver(t, alice.send(t, devs, "after the corruption"), devs)
	if st.bad[bob.addr] {
		t.Fatal("the corrupt record was not replaced")
	}
}
