package session_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// device returns another device of p's account: the same identity key pair
// (the signal flavour) when sameKey, a fresh one otherwise (a server's
// invention, or a whatsapp companion device).
func device(t testing.TB, p *party, id uint32, sameKey bool, opts ...session.StoreOption) *party {
	t.Helper()
	d := newParty(t, p.addr.Name)
	d.addr.DeviceID = id
	if sameKey {
		d.id = p.id
	}
	d.store = session.NewMemoryStore(d.id, d.regID, opts...)
	d.cipher = session.NewCipher(d.store)
	return d
}

func wantUntrusted(t *testing.T, what string, err error, unverified bool) {
	t.Helper()
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("%s: %v, want ErrUntrustedIdentity", what, err)
	}
	var ue *session.UntrustedIdentityError
	if !errors.As(err, &ue) {
		t.Fatalf("%s: %v is no *UntrustedIdentityError", what, err)
	}
	if ue.Unverified != unverified || errors.Is(err, session.ErrUnverifiedDevice) != unverified {
		t.Fatalf("%s: unverified = %v, want %v", what, ue.Unverified, unverified)
	}
}

// TestIssue20Item10_GhostDeviceRefused: issue #20 item 10. A bob.7 the server
// adds with its own identity key is refused by ProcessBundle, EncryptMany
// and Decrypt while bob.1's key is pinned: in the signal flavour the key is
// the account's.
func TestIssue20Item10_GhostDeviceRefused(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	ghost := device(t, bob, 7, false)

	err := alice.cipher.ProcessBundle(ctx, ghost.addr, ghost.bundle(t, true, true))
	wantUntrusted(t, "ProcessBundle of a ghost device", err, false)

	_, err = alice.cipher.EncryptMany(ctx, []session.Recipient{
		{Address: bob.addr},
		{Address: ghost.addr, Bundle: ghost.bundle(t, true, true)},
	}, []byte("group key"))
	wantUntrusted(t, "EncryptMany to a ghost device", err, false)

	// The ghost starts a session with Alice: "it's bob, new phone".
	if err := ghost.cipher.ProcessBundle(ctx, alice.addr, alice.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	w := ghost.send(t, alice, "bob here, new phone")
	_, err = alice.cipher.Decrypt(ctx, ghost.addr, w.typ, w.ct)
	wantUntrusted(t, "Decrypt from a ghost device", err, false)
	if _, ok, _ := alice.store.DeviceIdentity(ctx, ghost.addr); ok {
		t.Fatal("the ghost device's key was stored")
	}
}

// TestIssue20Item10_SameKeyNewDeviceReported: issue #20 item 10. A new device
// of a known account with the account's key is accepted (signal flavour),
// and the observer hears of it: never silently.
func TestIssue20Item10_SameKeyNewDeviceReported(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var events []session.IdentityEvent
	observe := session.WithIdentityObserver(func(_ context.Context, ev session.IdentityEvent) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.Address.Name == "bob" { // Bob's own cipher shares the observer
			events = append(events, ev)
		}
		return nil
	})
	alice, bob := established(t, observe)
	if len(events) != 1 || events[0].Change != session.IdentityNewAccount || events[0].Address != bob.addr {
		t.Fatalf("events after the first session: %+v, want bob.1 new account", events)
	}
	bob2 := device(t, bob, 2, true)
	if err := alice.cipher.ProcessBundle(ctx, bob2.addr, bob2.bundle(t, true, true)); err != nil {
		t.Fatalf("a new device with the account's key: %v", err)
	}
	if len(events) != 2 || events[1].Change != session.IdentityNewDevice || events[1].Address != bob2.addr {
		t.Fatalf("events: %+v, want bob.2 new device", events)
	}
	bob2.recv(t, alice, alice.send(t, bob2, "hi bob's laptop"))

	// A third device writes first.
	bob3 := device(t, bob, 3, true)
	if err := bob3.cipher.ProcessBundle(ctx, alice.addr, alice.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	alice.recv(t, bob3, bob3.send(t, alice, "bob's tablet"))
	if len(events) != 3 || events[2].Change != session.IdentityNewDevice || events[2].Address != bob3.addr {
		t.Fatalf("events: %+v, want bob.3 new device", events)
	}
}

// TestIssue20Item10_ObserverVeto: an observer's error refuses the device and
// stores nothing.
func TestIssue20Item10_ObserverVeto(t *testing.T) {
	ctx := context.Background()
	veto := errors.New("not without the user's consent")
	alice, bob := established(t)
	strict := session.NewCipher(alice.store, session.WithIdentityObserver(func(_ context.Context, ev session.IdentityEvent) error {
		if ev.Change == session.IdentityNewDevice {
			return veto
		}
		return nil
	}))
	bob2 := device(t, bob, 2, true)
	if err := strict.ProcessBundle(ctx, bob2.addr, bob2.bundle(t, true, true)); !errors.Is(err, veto) {
		t.Fatalf("ProcessBundle: %v, want the veto", err)
	}
}

// TestIssue20Item10_OwnLinkedDevice: issue #20 item 10. A fake "own linked
// device" with another key is refused once the store knows its own name.
func TestIssue20Item10_OwnLinkedDevice(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice")
	alice.store = session.NewMemoryStore(alice.id, alice.regID, session.WithOwnName("alice"))
	alice.cipher = session.NewCipher(alice.store)
	fake := device(t, alice, 5, false)
	err := alice.cipher.ProcessBundle(ctx, fake.addr, fake.bundle(t, true, true))
	wantUntrusted(t, "a fake own device", err, false)
	real := device(t, alice, 2, true)
	if err := alice.cipher.ProcessBundle(ctx, real.addr, real.bundle(t, true, true)); err != nil {
		t.Fatalf("a linked device with our key: %v", err)
	}
}

// TestIssue20Item10_FirstUseConflictInBatch: two unknown devices of one
// account with different keys in one EncryptMany are both refused: trust on
// first use cannot choose.
func TestIssue20Item10_FirstUseConflictInBatch(t *testing.T) {
	ctx := context.Background()
	alice, carol := newParty(t, "alice"), newParty(t, "carol")
	ghost := device(t, carol, 9, false)
	_, err := alice.cipher.EncryptMany(ctx, []session.Recipient{
		{Address: carol.addr, Bundle: carol.bundle(t, true, true)},
		{Address: ghost.addr, Bundle: ghost.bundle(t, true, true)},
	}, []byte("hi"))
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("EncryptMany: %v, want ErrUntrustedIdentity", err)
	}
	if _, ok, _ := alice.store.Identity(ctx, carol.addr); ok {
		t.Fatal("an identity was pinned")
	}
}

// TestIssue20Item10_PerDeviceUnvouched: issue #20 item 10, whatsapp flavour.
// Devices have their own keys; a new device of a known account is reported
// as unverified until the application vouches for it with SaveIdentity.
func TestIssue20Item10_PerDeviceUnvouched(t *testing.T) {
	ctx := context.Background()
	opts := []session.StoreOption{session.WithIdentityScope(session.PerDevice)}
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	alice.store = session.NewMemoryStore(alice.id, alice.regID, opts...)
	alice.cipher = session.NewCipher(alice.store, session.WithPolicy(session.AllowX3DH))
	bob.addr.DeviceID = 0
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, false)); err != nil {
		t.Fatal(err)
	}
	companion := device(t, bob, 12, false)
	b := companion.bundle(t, true, false)
	err := alice.cipher.ProcessBundle(ctx, companion.addr, b)
	wantUntrusted(t, "an unvouched companion", err, true)

	// The app verified the account's signature over the companion's key.
	if _, err := alice.store.SaveIdentity(ctx, companion.addr, companion.id.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if err := alice.cipher.ProcessBundle(ctx, companion.addr, b); err != nil {
		t.Fatalf("a vouched companion: %v", err)
	}
	// Its key is its own: another key for it is a change.
	other, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := alice.store.IsTrustedIdentity(ctx, companion.addr, other.PublicKey(), session.Sending); ok {
		t.Fatal("another key for a pinned companion is trusted")
	}
}
