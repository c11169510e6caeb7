package session_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// TestIssue16DecryptAndCommitWithoutTransactor (issue #16, "must have" 1):
// over a store without a Transactor the commit function runs after the
// message authenticated and before any write, so its error stores nothing
// (the prekey stays, the message decrypts again), and a message that does
// not authenticate never reaches it.
func TestIssue16DecryptAndCommitWithoutTransactor(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	b := bob.bundle(t, true, true)
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, b); err != nil {
		t.Fatal(err)
	}
	w := alice.send(t, bob, "hello")
	errNo := errors.New("no")
	var got []string
	commit := func(fail bool) session.CommitFunc {
		return func(ctx context.Context, tx session.Store, pt []byte) error {
			if tx != bob.store {
				t.Errorf("the commit function got %T, want the Cipher's store", tx)
			}
			if fail {
				return errNo
			}
			got = append(got, string(pt))
			return nil
		}
	}
	if _, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, w.typ, w.ct, commit(true)); !errors.Is(err, errNo) {
		t.Fatalf("got %v, want the commit function's error", err)
	}
	if _, err := bob.store.LoadPreKey(ctx, b.PreKeyID); err != nil {
		t.Fatalf("one-time prekey consumed by a refused commit: %v", err)
	}
	if r := bob.record(t, alice.addr); r != nil {
		t.Fatal("session stored by a refused commit")
	}
	pt, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, w.typ, w.ct, commit(false))
	if err != nil || string(pt) != "hello" || len(got) != 1 || got[0] != "hello" {
		t.Fatalf("%q, %v, commit saw %q", pt, err, got)
	}
	if _, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, w.typ, w.ct, commit(false)); err == nil || len(got) != 1 {
		t.Fatalf("decrypted twice: %v, commit saw %q", err, got)
	}
	// A forged message never reaches the function.
	alice.recv(t, bob, bob.send(t, alice, "answer"))
	w2 := alice.send(t, bob, "second")
	forged := append([]byte(nil), w2.ct...)
	forged[len(forged)-1] ^= 1
	if _, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, w2.typ, forged, commit(false)); !errors.Is(err, session.ErrInvalidMessage) || len(got) != 1 {
		t.Fatalf("forged: %v, commit saw %q", err, got)
	}
	if _, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, w2.typ, w2.ct, nil); !errors.Is(err, session.ErrInvalidArgument) {
		t.Fatalf("nil commit function: %v", err)
	}
	// A SignalMessage reaches the function too, and a refusal stores
	// nothing: the message decrypts again.
	before := bob.record(t, alice.addr)
	if _, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, w2.typ, w2.ct, commit(true)); !errors.Is(err, errNo) {
		t.Fatalf("SignalMessage, refused commit: %v", err)
	}
	if !bytes.Equal(bob.record(t, alice.addr), before) {
		t.Fatal("a refused commit changed the record")
	}
	if pt, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, w2.typ, w2.ct, commit(false)); err != nil || string(pt) != "second" || len(got) != 2 {
		t.Fatalf("SignalMessage: %q, %v, commit saw %q", pt, err, got)
	}
}
