package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// Issue #20 item 2: a PreKeySignalMessage built on a last-resort Kyber
// prekey, with no one-time prekey, consumes nothing when it is accepted, so
// only the store's record of the (Kyber prekey, signed prekey, base key)
// triples it has accepted (KyberPreKeyStore.MarkKyberPreKeyUsed, as
// libsignal's mark_kyber_pre_key_used) stops the same bytes from starting a
// session again: relabelled as from another address, or from the same
// address once the original state has left the record.

// lastResortBundle publishes p's signed prekey and a last-resort Kyber
// prekey, without a one-time prekey: the bundle a server hands out once the
// one-time prekeys have run out, the same for every sender.
func lastResortBundle(t *testing.T, p *party) *prekey.Bundle {
	t.Helper()
	ctx := context.Background()
	id := p.nextID
	p.nextID++
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, p.id, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.StoreSignedPreKey(ctx, &spk); err != nil {
		t.Fatal(err)
	}
	k, err := prekey.GenerateKyberPreKey(rand.Reader, p.id, id, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.StoreKyberPreKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	return &prekey.Bundle{
		RegistrationID: p.regID, DeviceID: p.addr.DeviceID, IdentityKey: p.id.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		KyberPreKeyID: k.ID, KyberPreKey: k.KeyPair.Public, KyberPreKeySignature: k.Signature,
	}
}

// firstMessage starts a session from b at from and returns its first
// message, a PreKeySignalMessage.
func firstMessage(t *testing.T, from, to *party, b *prekey.Bundle, text string) wire {
	t.Helper()
	if err := from.cipher.ProcessBundle(context.Background(), to.addr, b); err != nil {
		t.Fatal(err)
	}
	w := from.send(t, to, text)
	if w.typ != session.TypePreKey {
		t.Fatalf("first message has type %d, want a PreKeySignalMessage", w.typ)
	}
	return w
}

// refusedReplay checks that w, delivered to p as from addr, is refused as a
// reused base key and that p's stored state for addr is what it was.
func refusedReplay(t *testing.T, p *party, addr session.Address, w wire) {
	t.Helper()
	ctx := context.Background()
	before := p.record(t, addr)
	_, hadIdentity, err := p.store.Identity(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := p.cipher.Decrypt(ctx, addr, w.typ, w.ct)
	if err == nil {
		t.Fatalf("replay of %q as from %s decrypted again (%q)", w.pt, addr, pt)
	}
	if !errors.Is(err, session.ErrReusedBaseKey) || !errors.Is(err, session.ErrInvalidPreKey) {
		t.Fatalf("replay as from %s: error %v, want ErrReusedBaseKey (ErrInvalidPreKey)", addr, err)
	}
	if after := p.record(t, addr); !bytes.Equal(after, before) {
		t.Errorf("the refused replay as from %s changed the stored record", addr)
	}
	if _, has, err := p.store.Identity(ctx, addr); err != nil || has != hadIdentity {
		t.Errorf("the refused replay as from %s changed the stored identity (%v, %v)", addr, has, err)
	}
}

// TestIssue20Item2_LastResortReplayRelabelled: the server relabels Alice's
// first message as coming from another address. Before the fix it decrypted
// again and stored a session (and trusted Alice's identity) under Mallory's
// address.
func TestIssue20Item2_LastResortReplayRelabelled(t *testing.T) {
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	w := firstMessage(t, alice, bob, lastResortBundle(t, bob), "hello on the last-resort key")
	bob.recv(t, alice, w)

	mallory := session.Address{Name: "mallory", DeviceID: 1}
	refusedReplay(t, bob, mallory, w)
	refusedReplay(t, bob, session.Address{Name: alice.addr.Name, DeviceID: 2}, w)

	// The genuine session is untouched.
	bob.recv(t, alice, alice.send(t, bob, "still there"))
	alice.recv(t, bob, bob.send(t, alice, "yes"))
}

// TestIssue20Item2_LastResortReplayAfterStateLeftRecord: once the original
// state has left Bob's record for Alice — pushed out by MaxArchivedStates+1
// newer sessions, or deleted by the application — the same first message
// from the same address was accepted as a new session and replaced the
// live one. Each newer session, from a fresh base key on the same
// last-resort Kyber prekey and signed prekey, is genuine and accepted.
func TestIssue20Item2_LastResortReplayAfterStateLeftRecord(t *testing.T) {
	ctx := context.Background()
	t.Run("PushedOut", func(t *testing.T) {
		alice, bob := newParty(t, "alice"), newParty(t, "bob")
		b := lastResortBundle(t, bob)
		first := firstMessage(t, alice, bob, b, "first session")
		bob.recv(t, alice, first)
		for i := range session.MaxArchivedStates + 1 {
			bob.recv(t, alice, firstMessage(t, alice, bob, b, "newer session "+string(rune('A'+i))))
		}
		r, err := bob.store.LoadSession(ctx, alice.addr)
		if err != nil || r == nil || r.ArchivedStates() != session.MaxArchivedStates {
			t.Fatalf("record after %d sessions: %v, %v", session.MaxArchivedStates+2, r, err)
		}
		refusedReplay(t, bob, alice.addr, first)
		// The live session still works both ways.
		bob.recv(t, alice, alice.send(t, bob, "on the live session"))
		alice.recv(t, bob, bob.send(t, alice, "reply on the live session"))
	})
	t.Run("Deleted", func(t *testing.T) {
		alice, bob := newParty(t, "alice"), newParty(t, "bob")
		first := firstMessage(t, alice, bob, lastResortBundle(t, bob), "first session")
		bob.recv(t, alice, first)
		// The application forgets the session (an empty record is no session).
		if err := bob.store.StoreSession(ctx, alice.addr, session.NewRecord()); err != nil {
			t.Fatal(err)
		}
		refusedReplay(t, bob, alice.addr, first)
	})
}

// TestIssue20Item2_LastResortNewSessionsAccepted: the check refuses only a
// base key seen before: genuine sessions from fresh base keys on one
// last-resort Kyber prekey — from one sender, from several, and before and
// after a replay was refused — are all accepted.
func TestIssue20Item2_LastResortNewSessionsAccepted(t *testing.T) {
	alice, bob, carol := newParty(t, "alice"), newParty(t, "bob"), newParty(t, "carol")
	b := lastResortBundle(t, bob)
	first := firstMessage(t, alice, bob, b, "alice, first")
	bob.recv(t, alice, first)
	bob.recv(t, carol, firstMessage(t, carol, bob, b, "carol, first"))
	refusedReplay(t, bob, session.Address{Name: "dave", DeviceID: 1}, first)
	bob.recv(t, alice, firstMessage(t, alice, bob, b, "alice, second"))
	bob.recv(t, carol, firstMessage(t, carol, bob, b, "carol, second"))
	alice.recv(t, bob, bob.send(t, alice, "to alice"))
	carol.recv(t, bob, bob.send(t, carol, "to carol"))
	// A repeat of a message whose session is still in the record is
	// decrypted by that session as before: a duplicate, not a new session.
	if _, err := bob.cipher.Decrypt(context.Background(), alice.addr, first.typ, first.ct); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Errorf("repeat of a message of an archived session: %v, want ErrDuplicateMessage", err)
	}
}
