package session_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// TestRedteamIncomingX3DHForVersion4Device: issue #20 item 13, red team.
// The downgrade check ran only when we process a bundle. The server strips
// the Kyber prekey from the bundle *Bob* fetches for Alice once Bob has no
// session left (he deleted it, or lost it): Bob's cipher sees no record and
// builds X3DH, and Alice accepted the version 3 PreKeySignalMessage, which
// replaced her live version 4 session with Bob's device — every later
// message both ways without PQXDH or SPQR, with no explicit reset on her
// side. A version 3 session offered by a device whose record shows version
// 4 is now ErrDowngrade, and changes nothing.
func TestRedteamIncomingX3DHForVersion4Device(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t, session.WithPolicy(session.AllowX3DH))
	if v, err := alice.cipher.SessionVersion(ctx, bob.addr); err != nil || v != 4 {
		t.Fatalf("session version %d, %v", v, err)
	}
	if err := bob.cipher.DeleteSession(ctx, alice.addr); err != nil {
		t.Fatal(err)
	}
	if err := bob.cipher.ProcessBundle(ctx, alice.addr, alice.bundle(t, true, false)); err != nil {
		t.Fatal(err)
	}
	w := bob.send(t, alice, "x3dh now")
	before := alice.record(t, bob.addr)
	_, err := alice.cipher.Decrypt(ctx, bob.addr, w.typ, w.ct)
	if !errors.Is(err, session.ErrDowngrade) {
		v, _ := alice.cipher.SessionVersion(ctx, bob.addr)
		t.Fatalf("version 3 first message from a device that spoke version 4: %v (session version now %d)", err, v)
	}
	if !bytes.Equal(before, alice.record(t, bob.addr)) {
		t.Fatal("refused message changed the record")
	}
	// After Alice deletes the session deliberately, X3DH is accepted.
	if err := alice.cipher.DeleteSession(ctx, bob.addr); err != nil {
		t.Fatal(err)
	}
	alice.recv(t, bob, w)
}

// barrierStore is a MemoryStore (no Transactor) whose LoadPreKey waits, up
// to a short timeout, until two callers have loaded the prekey: it makes a
// race between two decryptions deterministic.
type barrierStore struct {
	*session.MemoryStore
	arrived chan struct{}
}

func (s *barrierStore) LoadPreKey(ctx context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	r, err := s.MemoryStore.LoadPreKey(ctx, id)
	s.arrived <- struct{}{}
	deadline := time.After(300 * time.Millisecond)
	for len(s.arrived) < 2 {
		select {
		case <-deadline:
			return r, err
		case <-time.After(time.Millisecond):
		}
	}
	return r, err
}

// TestRedteamConcurrentFirstMessageTwoAddresses: issue #20 items 2/11 class,
// red team. Without a Transactor (MemoryStore, the documented fallback),
// the one-time prekey is loaded, then removed after the decryption, with
// only the per-address lock held. The server delivers one version 3 first
// message (X3DH, no address binding, no Kyber prekey) at the same time as
// from bob.1 and from bob.2: both decryptions load the prekey before
// either removes it (RemovePreKey of a missing key is no error), and the
// same ciphertext decrypts twice, starting two sessions. Version 4 is
// caught by MarkKyberPreKeyUsed (the one-time Kyber prekey is gone, or the
// last-resort triple is seen), version 3 is not.
func TestRedteamConcurrentFirstMessageTwoAddresses(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", session.WithPolicy(session.AllowX3DH))
	bob := newParty(t, "bob", session.WithPolicy(session.AllowX3DH))
	bs := &barrierStore{MemoryStore: alice.store, arrived: make(chan struct{}, 2)}
	ac := session.NewCipher(bs, session.WithPolicy(session.AllowX3DH))
	if err := bob.cipher.ProcessBundle(ctx, alice.addr, alice.bundle(t, true, false)); err != nil {
		t.Fatal(err)
	}
	w := bob.send(t, alice, "pay 100")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, from := range []session.Address{{Name: "bob", DeviceID: 1}, {Name: "bob", DeviceID: 2}} {
		wg.Go(func() { _, errs[i] = ac.Decrypt(ctx, from, w.typ, w.ct) })
	}
	wg.Wait()
	if errs[0] == nil && errs[1] == nil {
		t.Fatal("one first message decrypted twice, as from bob.1 and from bob.2")
	}
}
