package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// corruptingStore is the test hook of issue #20 item 17 for the in-memory
// store: a MemoryStore whose records for the addresses in bad read back as
// a stored record that does not parse would (the bytes it holds are
// garbage), through LoadSession and LoadSessions alike, until a record is
// stored there or the session deleted. batch chooses whether it offers the
// BatchSessionStore methods.
type corruptingStore struct {
	*session.MemoryStore
	mu  sync.Mutex
	bad map[session.Address]bool
}

// garbage is what a corrupt row holds: a truncated protobuf.
var garbage = []byte{0x0a, 0xff, 0xff, 0x01}

func newCorruptingStore(m *session.MemoryStore) *corruptingStore {
	return &corruptingStore{MemoryStore: m, bad: map[session.Address]bool{}}
}

func (s *corruptingStore) corrupt(a session.Address) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bad[a] = true
}

func (s *corruptingStore) isBad(a session.Address) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bad[a]
}

func (s *corruptingStore) heal(a session.Address) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.bad, a)
}

// parseGarbage is what a store gets parsing a corrupt row.
func parseGarbage(a session.Address) error {
	_, err := session.UnmarshalRecord(garbage)
	if err == nil {
		panic("garbage parsed")
	}
	return &session.CorruptRecordError{Address: a, Err: err}
}

func (s *corruptingStore) LoadSession(ctx context.Context, a session.Address) (*session.Record, error) {
	if s.isBad(a) {
		return nil, parseGarbage(a)
	}
	return s.MemoryStore.LoadSession(ctx, a)
}

func (s *corruptingStore) LoadSessions(ctx context.Context, addrs []session.Address) (map[session.Address]*session.Record, error) {
	recs, err := s.MemoryStore.LoadSessions(ctx, addrs)
	if err != nil {
		return nil, err
	}
	be := &session.BatchError{Errors: map[session.Address]error{}}
	for _, a := range addrs {
		if s.isBad(a) {
			delete(recs, a)
			be.Errors[a] = parseGarbage(a)
		}
	}
	if len(be.Errors) > 0 {
		return recs, be
	}
	return recs, nil
}

func (s *corruptingStore) StoreSession(ctx context.Context, a session.Address, r *session.Record) error {
	s.heal(a)
	return s.MemoryStore.StoreSession(ctx, a, r)
}

func (s *corruptingStore) StoreSessions(ctx context.Context, records map[session.Address]*session.Record) error {
	for a := range records {
		s.heal(a)
	}
	return s.MemoryStore.StoreSessions(ctx, records)
}

func (s *corruptingStore) DeleteSession(ctx context.Context, a session.Address) error {
	s.heal(a)
	return s.MemoryStore.DeleteSession(ctx, a)
}

// unbatched hides the batch methods, so EncryptMany loads record by record.
type unbatched struct{ session.Store }

// withCorruption gives p a cipher over a corrupting view of its store.
func withCorruption(p *party, opts ...session.Option) *corruptingStore {
	cs := newCorruptingStore(p.store)
	p.cipher = session.NewCipher(cs, opts...)
	return cs
}

// wantCorrupt checks that err reports addr's record as corrupt, as a typed
// error naming the address.
func wantCorrupt(t *testing.T, err error, addr session.Address) {
	t.Helper()
	var ce *session.CorruptRecordError
	if !errors.Is(err, session.ErrCorruptRecord) || !errors.As(err, &ce) || ce.Address != addr {
		t.Fatalf("error %v: want a *CorruptRecordError for %s matching ErrCorruptRecord", err, addr)
	}
}

// TestIssue20Item17_ProcessBundleReplacesCorruptRecord (issue #20 item 17):
// a record that does not parse fails Encrypt with a typed error naming the
// address, and ProcessBundle replaces it (archiving nothing) instead of
// failing on it.
func TestIssue20Item17_ProcessBundleReplacesCorruptRecord(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	cs := withCorruption(alice)
	cs.corrupt(bob.addr)
	_, _, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("x"))
	wantCorrupt(t, err, bob.addr)
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatalf("ProcessBundle over a corrupt record: %v", err)
	}
	rec, err := cs.LoadSession(ctx, bob.addr)
	if err != nil || rec == nil || rec.Current() == nil {
		t.Fatalf("after ProcessBundle: %v, %v", rec, err)
	}
	if n := rec.ArchivedStates(); n != 0 {
		t.Fatalf("the new record archived %d states", n)
	}
	w := alice.send(t, bob, "after the corrupt record")
	if w.typ != session.TypePreKey {
		t.Fatalf("type %d, want a PreKeySignalMessage", w.typ)
	}
	bob.recv(t, alice, w)
	alice.recv(t, bob, bob.send(t, alice, "answer"))
}

// TestIssue20Item17_PeerNewSessionReplacesCorruptRecord (issue #20 item
// 17): a PreKeySignalMessage that starts a new session replaces a record
// that does not parse; a SignalMessage of the lost session still fails
// with the typed error.
func TestIssue20Item17_PeerNewSessionReplacesCorruptRecord(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	old := alice.send(t, bob, "of the old session")
	cs := withCorruption(bob)
	cs.corrupt(alice.addr)
	_, err := bob.cipher.Decrypt(ctx, alice.addr, old.typ, old.ct)
	wantCorrupt(t, err, alice.addr)
	// Alice starts over (she reinstalled, or lost the session too).
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	w := alice.send(t, bob, "new session")
	if w.typ != session.TypePreKey {
		t.Fatalf("type %d, want a PreKeySignalMessage", w.typ)
	}
	bob.recv(t, alice, w)
	alice.recv(t, bob, bob.send(t, alice, "answer on the new session"))
	if cs.isBad(alice.addr) {
		t.Fatal("the corrupt record is still stored")
	}
}

// TestIssue20Item17_EncryptManyBundleReplacesCorruptRecord (issue #20 item
// 17): EncryptMany with a fresh Recipient.Bundle replaces a corrupt record,
// with and without the batch store methods.
func TestIssue20Item17_EncryptManyBundleReplacesCorruptRecord(t *testing.T) {
	for _, batch := range []bool{true, false} {
		t.Run(map[bool]string{true: "batch", false: "one by one"}[batch], func(t *testing.T) {
			ctx := context.Background()
			alice, rs := fanoutParties(t, 3, 0)
			cs := withCorruption(alice)
			if !batch {
				alice.cipher = session.NewCipher(unbatched{cs})
			}
			cs.corrupt(rs[1].addr)
			recips := []session.Recipient{
				{Address: rs[0].addr}, {Address: rs[1].addr, Bundle: rs[1].bundle(t, true, true)}, {Address: rs[2].addr},
			}
			msgs, err := alice.cipher.EncryptMany(ctx, recips, []byte("group"))
			if err != nil {
				t.Fatalf("EncryptMany with a bundle for the corrupt record: %v", err)
			}
			if len(msgs) != 3 {
				t.Fatalf("%d messages", len(msgs))
			}
			for i, m := range msgs {
				rs[i].recv(t, alice, wire{m.Type, m.Body, "group"})
			}
			if msgs[1].Type != session.TypePreKey || cs.isBad(rs[1].addr) {
				t.Fatalf("the corrupt record was not replaced (type %d)", msgs[1].Type)
			}
		})
	}
}

// TestIssue20Item17_EncryptManySkipsCorruptRecord (issue #20 item 17): a
// batch with one corrupt record and no bundle for it still encrypts for and
// stores every healthy device, and reports the corrupt one in a
// *BatchError holding a *CorruptRecordError for its address. The corrupt
// record is left as it was (the application decides: a bundle, or
// DeleteSession).
func TestIssue20Item17_EncryptManySkipsCorruptRecord(t *testing.T) {
	for _, batch := range []bool{true, false} {
		t.Run(map[bool]string{true: "batch", false: "one by one"}[batch], func(t *testing.T) {
			ctx := context.Background()
			alice, rs := fanoutParties(t, 4, 0)
			cs := withCorruption(alice)
			if !batch {
				alice.cipher = session.NewCipher(unbatched{cs})
			}
			bad := rs[2].addr
			cs.corrupt(bad)
			var recips []session.Recipient
			for _, r := range rs {
				recips = append(recips, session.Recipient{Address: r.addr, RegistrationID: r.regID})
			}
			msgs, err := alice.cipher.EncryptMany(ctx, recips, []byte("group"))
			var be *session.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("EncryptMany = %v, want a *BatchError", err)
			}
			if len(be.Errors) != 1 {
				t.Fatalf("BatchError for %v, want only %s", be.Addresses(), bad)
			}
			wantCorrupt(t, be.Errors[bad], bad)
			wantCorrupt(t, err, bad)
			if len(msgs) != 3 {
				t.Fatalf("%d messages, want one per healthy device", len(msgs))
			}
			for i, m := range msgs {
				r := rs[i]
				if i >= 2 {
					r = rs[i+1]
				}
				if m.Address != r.addr {
					t.Fatalf("message %d for %s, want %s", i, m.Address, r.addr)
				}
				r.recv(t, alice, wire{m.Type, m.Body, "group"})
			}
			if !cs.isBad(bad) {
				t.Fatal("the corrupt record was overwritten without a new session")
			}
			// The remedy: delete it; the device is then Missing.
			if err := alice.cipher.DeleteSession(ctx, bad); err != nil {
				t.Fatal(err)
			}
			_, err = alice.cipher.EncryptMany(ctx, recips, []byte("again"))
			var mm *session.DeviceMismatchError
			if !errors.As(err, &mm) || len(mm.Missing) != 1 || mm.Missing[0] != bad {
				t.Fatalf("after DeleteSession: %v, want %s missing", err, bad)
			}
		})
	}
}

// TestIssue20Item17_DeleteSession (issue #20 item 17): Cipher.DeleteSession
// removes the record; the next Encrypt is ErrNoSession and a message of the
// deleted session no longer decrypts.
func TestIssue20Item17_DeleteSession(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	late := bob.send(t, alice, "late")
	if err := alice.cipher.DeleteSession(ctx, bob.addr); err != nil {
		t.Fatal(err)
	}
	if rec, err := alice.store.LoadSession(ctx, bob.addr); rec != nil || err != nil {
		t.Fatalf("after DeleteSession: %v, %v", rec, err)
	}
	if _, _, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("x")); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Encrypt after DeleteSession: %v", err)
	}
	if _, err := alice.cipher.Decrypt(ctx, bob.addr, late.typ, late.ct); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Decrypt after DeleteSession: %v", err)
	}
	if err := alice.cipher.DeleteSession(ctx, bob.addr); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
}

// TestIssue20Item17_ResolveDeviceMismatchDropsCorruptRecord (issue #20 item
// 17): a stale device whose record does not parse does not fail the
// resolution; its record is deleted (there is nothing to archive).
func TestIssue20Item17_ResolveDeviceMismatchDropsCorruptRecord(t *testing.T) {
	ctx := context.Background()
	alice, rs := fanoutParties(t, 2, 0)
	cs := withCorruption(alice)
	cs.corrupt(rs[0].addr)
	need, err := alice.cipher.ResolveDeviceMismatch(ctx, &session.DeviceMismatchError{Stale: []session.Address{rs[0].addr, rs[1].addr}})
	if err != nil {
		t.Fatal(err)
	}
	if len(need) != 2 {
		t.Fatalf("need bundles for %v", need)
	}
	if cs.isBad(rs[0].addr) {
		t.Fatal("the corrupt record is still there")
	}
	if rec, err := cs.LoadSession(ctx, rs[0].addr); rec != nil || err != nil {
		t.Fatalf("corrupt stale record: %v, %v", rec, err)
	}
	if rec, err := cs.LoadSession(ctx, rs[1].addr); err != nil || rec == nil || rec.Current() != nil {
		t.Fatalf("healthy stale record not archived: %v, %v", rec, err)
	}
}
