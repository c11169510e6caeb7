package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// TestIssue18RepeatedPreKeyConcurrentCiphers: issue #18 item 1. A repeated
// PreKeySignalMessage is decrypted once, on a snapshot outside the
// transaction, and committed if the record's version is unchanged (session
// snapshot.go). Two Ciphers over the same store (as two processes: each
// has its own address locks) receive every message of an unanswered session
// at once: each message is accepted exactly once — a snapshot whose record
// the other Cipher changed meanwhile is decrypted again inside the
// transaction, never committed stale — and the session then works both
// ways.
func TestIssue18RepeatedPreKeyConcurrentCiphers(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := newAccount(t, db, randomName("alice-"), "alice")
		bob := newAccount(t, db, randomName("bob-"), "bob")
		ac := session.NewCipher(alice.Store)
		bcs := []*session.Cipher{session.NewCipher(bob.Store), session.NewCipher(bob.Store)}
		if err := ac.ProcessBundle(ctx, bob.Addr, bob.Bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
		const k = 6
		type msg struct {
			typ session.MessageType
			ct  []byte
			pt  string
		}
		var msgs []msg
		for i := range k + 1 {
			pt := fmt.Sprintf("message %d", i)
			typ, ct, err := ac.Encrypt(ctx, bob.Addr, []byte(pt))
			if err != nil || typ != session.TypePreKey {
				t.Fatal(typ, err)
			}
			msgs = append(msgs, msg{typ, ct, pt})
		}
		if _, err := bcs[0].Decrypt(ctx, alice.Addr, msgs[0].typ, msgs[0].ct); err != nil {
			t.Fatal(err)
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted = map[string]int{}
		)
		for _, m := range msgs[1:] {
			for _, c := range bcs {
				wg.Go(func() {
					pt, err := c.Decrypt(ctx, alice.Addr, m.typ, m.ct)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						accepted[string(pt)]++
					case !errors.Is(err, session.ErrDuplicateMessage):
						t.Errorf("%s: %v", m.pt, err)
					}
				})
			}
		}
		wg.Wait()
		for _, m := range msgs[1:] {
			if accepted[m.pt] != 1 {
				t.Fatalf("%q accepted %d times", m.pt, accepted[m.pt])
			}
		}
		typ, ct, err := bcs[1].Encrypt(ctx, alice.Addr, []byte("answer"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := ac.Decrypt(ctx, bob.Addr, typ, ct); err != nil || string(pt) != "answer" {
			t.Fatalf("answer: %q, %v", pt, err)
		}
		typ, ct, err = ac.Encrypt(ctx, bob.Addr, []byte("after"))
		if err != nil || typ != session.TypeSignal {
			t.Fatal(typ, err)
		}
		if pt, err := bcs[0].Decrypt(ctx, alice.Addr, typ, ct); err != nil || string(pt) != "after" {
			t.Fatalf("after the answer: %q, %v", pt, err)
		}
	})
}
