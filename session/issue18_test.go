package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/session"
)

// countDecryptions counts the decryptions (calls of the work hook) and the
// Double Ratchet derivations the Cipher spends until restore is called.
func countDecryptions(t testing.TB) (n, derivations *int, restore func()) {
	t.Helper()
	var mu sync.Mutex
	n, derivations = new(int), new(int)
	restore = session.SetWorkHook(func(w ratchet.Work) {
		mu.Lock()
		defer mu.Unlock()
		*n++
		*derivations += w.Total()
	})
	return n, derivations, restore
}

// unanswered returns Alice and Bob, Bob over a versionedStore (a
// Transactor and SessionVersioner, like sqlstore), with a session Alice
// started and Bob has not answered: Alice's messages are still
// PreKeySignalMessages repeating the session's base key.
func unanswered(t testing.TB) (alice, bob *party, vs *versionedStore) {
	t.Helper()
	alice, bob = newParty(t, "alice"), newParty(t, "bob")
	vs = &versionedStore{MemoryStore: bob.store}
	bob.cipher = session.NewCipher(vs)
	if err := alice.cipher.ProcessBundle(context.Background(), bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	bob.recv(t, alice, alice.send(t, bob, "first"))
	return alice, bob, vs
}

// TestIssue18RepeatedPreKeyMessageDecryptedOnce: issue #18, mend of issue
// #20 item 5's red-team fix. Over a Transactor that versions its records,
// a PreKeySignalMessage repeating a stored session's base key is decrypted
// once, on the snapshot read outside the transaction, and that result is
// committed (before: once outside, again inside, 2×). A forged one still
// opens no transaction and changes nothing; when the record changed between
// the snapshot and the transaction, the message is decrypted again from
// the stored record and nothing is lost or accepted twice.
func TestIssue18RepeatedPreKeyMessageDecryptedOnce(t *testing.T) {
	ctx := context.Background()
	alice, bob, vs := unanswered(t)

	w := alice.send(t, bob, "second")
	if w.typ != session.TypePreKey {
		t.Fatalf("unanswered session sends type %d", w.typ)
	}
	n, derivations, restore := countDecryptions(t)
	txs := vs.transactions()
	bob.recv(t, alice, w)
	restore()
	if *n != 1 || *derivations == 0 {
		t.Fatalf("repeated PreKeySignalMessage: %d decryptions (%d derivations), want 1", *n, *derivations)
	}
	if got := vs.transactions() - txs; got != 1 {
		t.Fatalf("repeated PreKeySignalMessage opened %d transactions", got)
	}
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, w.ct); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Fatalf("replay: %v", err)
	}

	// Forged: refused on the snapshot, no transaction, nothing stored.
	f := alice.send(t, bob, "forged")
	before, txs := bob.record(t, alice.addr), vs.transactions()
	m, err := session.ParsePreKeySignalMessage(bytes.Clone(f.ct))
	if err != nil {
		t.Fatal(err)
	}
	inner := m.Message.Bytes()
	inner[len(inner)-1] ^= 1 // the inner message's MAC
	forged := craftPreKey(t, f.ct, m.IdentityKey, inner)
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, f.typ, forged); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("forged: %v", err)
	}
	if vs.transactions() != txs || !bytes.Equal(before, bob.record(t, alice.addr)) {
		t.Fatal("a forged PreKeySignalMessage opened a transaction or changed the record")
	}
	bob.recv(t, alice, f) // the real one still decrypts

	// Another writer decrypts w1 after Bob's snapshot for w2 was taken: w2
	// is decrypted again inside the transaction, from the stored record.
	w1, w2 := alice.send(t, bob, "one"), alice.send(t, bob, "two")
	other := session.NewCipher(bob.store)
	vs.beforeTx = func() {
		vs.beforeTx = nil
		if _, err := other.Decrypt(ctx, alice.addr, w1.typ, w1.ct); err != nil {
			t.Errorf("other writer: %v", err)
		}
	}
	n, _, restore = countDecryptions(t)
	bob.recv(t, alice, w2)
	restore()
	if *n != 3 { // snapshot, the other writer, the stored record
		t.Fatalf("after a concurrent write: %d decryptions, want 3", *n)
	}
	for _, x := range []wire{w1, w2} {
		if _, err := bob.cipher.Decrypt(ctx, alice.addr, x.typ, x.ct); !errors.Is(err, session.ErrDuplicateMessage) {
			t.Fatalf("replay of %q after a concurrent write: %v", x.pt, err)
		}
	}
	// The session the committed snapshots left works both ways.
	alice.recv(t, bob, bob.send(t, alice, "answer"))
	bob.recv(t, alice, alice.send(t, bob, "after the answer"))
}

// TestIssue18FromIdentityDecryptsOnce: issue #18. DecryptFromIdentity
// decrypts a SignalMessage once and compares the identity of the state that
// authenticated it with the required one before any write (before: a trial
// decryption to find that identity, then the decryption, 2×). A message
// from a session with another identity is refused with an
// *IdentityMismatchError, stores nothing and, over a SessionVersioner,
// opens no transaction; concurrent deliveries are each accepted once.
func TestIssue18FromIdentityDecryptsOnce(t *testing.T) {
	ctx := context.Background()
	other, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, versioned := range []bool{false, true} {
		t.Run(fmt.Sprintf("versioned=%v", versioned), func(t *testing.T) {
			alice, bob := established(t)
			var vs *versionedStore
			if versioned {
				vs = &versionedStore{MemoryStore: bob.store}
				bob.cipher = session.NewCipher(vs)
			}
			txs := func() int {
				if vs == nil {
					return 0
				}
				return vs.transactions()
			}
			want := alice.id.PublicKey()

			w := alice.send(t, bob, "steady")
			n, derivations, restore := countDecryptions(t)
			pt, err := bob.cipher.DecryptFromIdentity(ctx, alice.addr, w.typ, w.ct, want)
			restore()
			if err != nil || string(pt) != w.pt {
				t.Fatalf("DecryptFromIdentity: %q, %v", pt, err)
			}
			if *n != 1 || *derivations == 0 {
				t.Fatalf("DecryptFromIdentity: %d decryptions (%d derivations), want 1", *n, *derivations)
			}

			// Wrong identity: refused, nothing stored, no transaction.
			w = alice.send(t, bob, "claimed by another identity")
			before, tx0 := bob.record(t, alice.addr), txs()
			n, _, restore = countDecryptions(t)
			_, err = bob.cipher.DecryptFromIdentity(ctx, alice.addr, w.typ, w.ct, other.PublicKey())
			restore()
			var mm *session.IdentityMismatchError
			if !errors.As(err, &mm) || !errors.Is(err, session.ErrUntrustedIdentity) || !mm.Got.Equal(want) {
				t.Fatalf("wrong identity: %v", err)
			}
			if *n != 1 {
				t.Fatalf("wrong identity: %d decryptions", *n)
			}
			if !bytes.Equal(before, bob.record(t, alice.addr)) || txs() != tx0 {
				t.Fatal("a refused identity changed the record or opened a transaction")
			}
			if pt, err := bob.cipher.DecryptFromIdentity(ctx, alice.addr, w.typ, w.ct, want); err != nil || string(pt) != w.pt {
				t.Fatalf("after the refusal: %q, %v", pt, err)
			}

			// Concurrent deliveries, each message twice: each accepted once.
			const k = 8
			msgs := make([]wire, k)
			for i := range msgs {
				msgs[i] = alice.send(t, bob, fmt.Sprintf("concurrent %d", i))
			}
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				accepted = map[string]int{}
			)
			for i := range 2 * k {
				wg.Go(func() {
					m := msgs[i%k]
					pt, err := bob.cipher.DecryptFromIdentity(ctx, alice.addr, m.typ, m.ct, want)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						accepted[string(pt)]++
					case !errors.Is(err, session.ErrDuplicateMessage):
						t.Errorf("concurrent %q: %v", m.pt, err)
					}
				})
			}
			wg.Wait()
			for _, m := range msgs {
				if accepted[m.pt] != 1 {
					t.Fatalf("%q accepted %d times", m.pt, accepted[m.pt])
				}
			}
		})
	}
}

// BenchmarkIssue18: one repeated PreKeySignalMessage over a versioning
// Transactor, and one SignalMessage through DecryptFromIdentity, per
// iteration (decryptions per message: 2 before issue #18's mend, 1 after).
func BenchmarkIssue18(b *testing.B) {
	ctx := context.Background()
	b.Run("RepeatedPreKey", func(b *testing.B) {
		alice, bob, vs := unanswered(b)
		// Versions by a write counter, so that the figure is the
		// decryption's and not versionedStore's marshalling.
		bob.cipher = session.NewCipher(&genStore{versionedStore: vs})
		msgs := make([]wire, b.N)
		for i := range msgs {
			msgs[i] = alice.send(b, bob, "1234567890")
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := bob.cipher.Decrypt(ctx, alice.addr, msgs[i].typ, msgs[i].ct); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FromIdentity", func(b *testing.B) {
		alice, bob := established(b)
		want := alice.id.PublicKey()
		msgs := make([]wire, b.N)
		for i := range msgs {
			msgs[i] = alice.send(b, bob, "1234567890")
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := bob.cipher.DecryptFromIdentity(ctx, alice.addr, msgs[i].typ, msgs[i].ct, want); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// genStore is a versionedStore whose versions are a counter of session
// writes: cheap, and valid (a record changes only with a write).
type genStore struct {
	*versionedStore
	gen uint64
}

func (s *genStore) StoreSession(ctx context.Context, addr session.Address, r *session.Record) error {
	s.gen++
	return s.versionedStore.StoreSession(ctx, addr, r)
}

func (s *genStore) LoadSessionVersion(ctx context.Context, addr session.Address) (*session.Record, []byte, error) {
	r, err := s.LoadSession(ctx, addr)
	return r, fmt.Append(nil, s.gen), err
}

func (s *genStore) SessionVersion(context.Context, session.Address) ([]byte, error) {
	return fmt.Append(nil, s.gen), nil
}

func (s *genStore) Transact(ctx context.Context, fn func(session.Store) error) error {
	return fn(s)
}
