package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/session"
)

// withArchive returns Alice and Bob where Bob's record for Alice holds a
// current state and session.MaxArchivedStates archived ones (Alice started
// over that many times), and a message of the first session that Bob has
// not received, on a chain he has received on.
func withArchive(t testing.TB, opts ...session.Option) (alice, bob *party, late wire) {
	t.Helper()
	ctx := context.Background()
	alice, bob = established(t, opts...)
	bob.recv(t, alice, alice.send(t, bob, "on the first session"))
	late = alice.send(t, bob, "late, on the first session")
	for range session.MaxArchivedStates {
		if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
		bob.recv(t, alice, alice.send(t, bob, "restart"))
	}
	alice.recv(t, bob, bob.send(t, alice, "answered"))
	r, err := bob.store.LoadSession(ctx, alice.addr)
	if err != nil || r.ArchivedStates() != session.MaxArchivedStates {
		t.Fatalf("record: %v", err)
	}
	return alice, bob, late
}

// measure decrypts w at p from `from` and returns the derivations spent and
// the error.
func measure(p, from *party, typ session.MessageType, ct []byte) (ratchet.Work, error) {
	var w ratchet.Work
	restore := session.SetWorkHook(func(x ratchet.Work) { w = x })
	defer restore()
	_, err := p.cipher.Decrypt(context.Background(), from.addr, typ, ct)
	return w, err
}

// forge flips the last MAC byte.
func forge(w wire) []byte {
	b := bytes.Clone(w.ct)
	b[len(b)-1] ^= 1
	return b
}

// TestIssue20Item5_ForgedMessageWorkBounded: issue #20 item 5. A forged
// SignalMessage against a record with MaxArchivedStates archived states
// costs at most 3× the key derivations of the honest message with the same
// header on the current state (before the fix: every state was tried with
// a DH step and up to MaxForwardJumps chain steps, 41×). Counted with the
// ratchet's derivation counter, not a clock.
func TestIssue20Item5_ForgedMessageWorkBounded(t *testing.T) {
	alice, bob, late := withArchive(t)
	check := func(name string, honest wire, forged []byte, onCurrent bool) {
		t.Helper()
		before := bob.record(t, alice.addr)
		fw, err := measure(bob, alice, honest.typ, forged)
		if !errors.Is(err, session.ErrInvalidMessage) {
			t.Fatalf("%s: forged message: %v", name, err)
		}
		if !bytes.Equal(before, bob.record(t, alice.addr)) {
			t.Fatalf("%s: forged message changed the record", name)
		}
		hw, err := measure(bob, alice, honest.typ, honest.ct)
		if err != nil {
			t.Fatalf("%s: honest message: %v", name, err)
		}
		t.Logf("%s: forged %+v (%d), honest %+v (%d)", name, fw, fw.Total(), hw, hw.Total())
		if onCurrent && (fw.Total() > 3*hw.Total() || fw.DH > 3*hw.DH) {
			t.Fatalf("%s: forged message cost %+v, more than 3× the honest %+v", name, fw, hw)
		}
	}
	// A new chain at counter 0 (Alice's reply to Bob's answer).
	w := alice.send(t, bob, "new chain")
	check("new chain, counter 0", w, forge(w), true)
	// The same chain, a jump of 1,000.
	for range 1000 {
		w = alice.send(t, bob, "lost")
	}
	check("existing chain, jump 1000", w, forge(w), true)
	// A new chain at counter 1,500 (within MaxArchivedForwardJumps, so the
	// archived trial runs in full too).
	alice.recv(t, bob, bob.send(t, alice, "turn"))
	for range 1501 {
		w = alice.send(t, bob, "lost")
	}
	check("new chain, counter 1500", w, forge(w), true)
	// A message of the oldest archived session, forged: the current state
	// and that one state are tried. Its honest cost (a late message) is
	// compared with the cheapest honest message on the current state.
	small := alice.send(t, bob, "small")
	hw, err := measure(bob, alice, small.typ, small.ct)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := measure(bob, alice, late.typ, forge(late))
	if !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("forged late message: %v", err)
	}
	if fw.Total() > 3*max(hw.Total(), 7) || fw.DH > 3 {
		t.Fatalf("forged late message cost %+v (honest on the current chain %+v)", fw, hw)
	}
	bob.recv(t, alice, late)
}

// versionedStore is a MemoryStore that counts transactions and versions
// records by their serialized form (session.SessionVersioner). Its
// transactions are not atomic: it only records that one was opened.
type versionedStore struct {
	*session.MemoryStore
	mu       sync.Mutex
	txs      int
	beforeTx func() // runs as a transaction begins
}

func (s *versionedStore) Transact(ctx context.Context, fn func(session.Store) error) error {
	s.mu.Lock()
	s.txs++
	before := s.beforeTx
	s.mu.Unlock()
	if before != nil {
		before()
	}
	return fn(s)
}

func (s *versionedStore) transactions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.txs
}

func (s *versionedStore) LoadSessionVersion(ctx context.Context, addr session.Address) (*session.Record, []byte, error) {
	r, err := s.LoadSession(ctx, addr)
	if err != nil || r == nil {
		return r, nil, err
	}
	v, err := r.Marshal()
	return r, v, err
}

func (s *versionedStore) SessionVersion(ctx context.Context, addr session.Address) ([]byte, error) {
	_, v, err := s.LoadSessionVersion(ctx, addr)
	return v, err
}

// TestIssue20Item5_NoTransactionForForgedMessage: issue #20 item 5. Over a
// store that versions its records, a SignalMessage that does not decrypt
// never opens a transaction (on SQLite the database's only write lock);
// one that decrypts opens exactly one. When the record changes between the
// snapshot and the transaction (another process), the message is decrypted
// again from the stored record, and nothing is lost: both messages then
// replay as duplicates.
func TestIssue20Item5_NoTransactionForForgedMessage(t *testing.T) {
	ctx := context.Background()
	alice, bob, late := withArchive(t)
	vs := &versionedStore{MemoryStore: bob.store}
	bob.cipher = session.NewCipher(vs)

	w := alice.send(t, bob, "new chain")
	before := bob.record(t, alice.addr)
	for _, ct := range [][]byte{forge(w), forge(late), w.ct[:len(w.ct)-1]} {
		if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, ct); !errors.Is(err, session.ErrInvalidMessage) {
			t.Fatalf("forged message: %v", err)
		}
	}
	if n := vs.transactions(); n != 0 {
		t.Fatalf("forged messages opened %d transactions", n)
	}
	if !bytes.Equal(before, bob.record(t, alice.addr)) {
		t.Fatal("forged messages changed the record")
	}
	bob.recv(t, alice, w)
	if n := vs.transactions(); n != 1 {
		t.Fatalf("an honest message opened %d transactions", n)
	}

	// Another writer decrypts w1 after Bob's snapshot for w2 was taken.
	w1, w2 := alice.send(t, bob, "one"), alice.send(t, bob, "two")
	other := session.NewCipher(bob.store)
	vs.beforeTx = func() {
		vs.beforeTx = nil
		if _, err := other.Decrypt(ctx, alice.addr, w1.typ, w1.ct); err != nil {
			t.Errorf("other writer: %v", err)
		}
	}
	bob.recv(t, alice, w2)
	for _, x := range []wire{w1, w2} {
		if _, err := bob.cipher.Decrypt(ctx, alice.addr, x.typ, x.ct); !errors.Is(err, session.ErrDuplicateMessage) {
			t.Fatalf("replay of %q after a concurrent write: %v", x.pt, err)
		}
	}
	bob.recv(t, alice, late)
}

// TestIssue20Item5_ArchivedStateLimits: issue #20 item 5. A late message of
// an archived session decrypts after lost messages up to
// MaxArchivedForwardJumps; one jump further is ErrTooFar and changes
// nothing (libsignal would accept it, up to MaxForwardJumps).
func TestIssue20Item5_ArchivedStateLimits(t *testing.T) {
	ctx := context.Background()
	for _, jump := range []int{session.MaxArchivedForwardJumps, session.MaxArchivedForwardJumps + 1} {
		t.Run(fmt.Sprint(jump), func(t *testing.T) {
			alice, bob := established(t, session.WithSPQR(session.NoSPQR))
			var late wire
			for range jump + 1 {
				late = alice.send(t, bob, fmt.Sprint("late ", jump))
			}
			if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
				t.Fatal(err)
			}
			bob.recv(t, alice, alice.send(t, bob, "second session"))
			before := bob.record(t, alice.addr)
			_, err := bob.cipher.Decrypt(ctx, alice.addr, late.typ, late.ct)
			if jump <= session.MaxArchivedForwardJumps {
				if err != nil {
					t.Fatalf("late message after %d lost: %v", jump, err)
				}
				return
			}
			if !errors.Is(err, session.ErrTooFar) && !errors.Is(err, session.ErrInvalidMessage) {
				t.Fatalf("late message after %d lost: %v", jump, err)
			}
			if !bytes.Equal(before, bob.record(t, alice.addr)) {
				t.Fatal("a refused late message changed the record")
			}
		})
	}
}

// TestIssue20Item5_LateNewChainOnOlderArchivedState documents the one
// legitimate message the work bound of issue #20 item 5 refuses: a late
// message that starts a new chain (the peer's first after our answer) on a
// session that is not the most recently archived one. It fails like a
// forged one and changes nothing; libsignal would decrypt it. On the most
// recently archived session it decrypts (TestArchivedStatesParsedOnDemand,
// TestSimultaneousInitiation).
func TestIssue20Item5_LateNewChainOnOlderArchivedState(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	late := alice.send(t, bob, "first after Bob's answer: a new chain")
	for range 2 {
		if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
		bob.recv(t, alice, alice.send(t, bob, "restart"))
	}
	before := bob.record(t, alice.addr)
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, late.typ, late.ct); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("late new chain on the second archived state: %v", err)
	}
	if !bytes.Equal(before, bob.record(t, alice.addr)) {
		t.Fatal("the refused message changed the record")
	}
}
