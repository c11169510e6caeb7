package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// fanoutParties returns Alice and n recipients: the first warm ones have an
// answered session with Alice, the rest none.
func fanoutParties(t *testing.T, warm, cold int, opts ...session.Option) (*party, []*party) {
	t.Helper()
	alice := newParty(t, "alice", opts...)
	var rs []*party
	for i := range warm + cold {
		p := newParty(t, fmt.Sprintf("bob-%03d", i), opts...)
		if i < warm {
			if err := alice.cipher.ProcessBundle(context.Background(), p.addr, p.bundle(t, true, true)); err != nil {
				t.Fatal(err)
			}
			p.recv(t, alice, alice.send(t, p, "hello"))
			alice.recv(t, p, p.send(t, alice, "hi"))
		}
		rs = append(rs, p)
	}
	return alice, rs
}

func snapshot(t *testing.T, p *party, rs []*party) map[session.Address][]byte {
	out := map[session.Address][]byte{}
	for _, r := range rs {
		out[r.addr] = p.record(t, r.addr)
	}
	return out
}

func TestEncryptMany(t *testing.T) {
	ctx := context.Background()
	alice, rs := fanoutParties(t, 6, 3)
	var recips []session.Recipient
	for i, r := range rs {
		rc := session.Recipient{Address: r.addr, RegistrationID: r.regID}
		if i >= 6 {
			rc.Bundle = r.bundle(t, i%2 == 0, true)
		}
		recips = append(recips, rc)
	}
	for round := range 3 {
		msgs, err := alice.cipher.EncryptMany(ctx, recips, []byte(fmt.Sprint("round ", round)))
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(rs) {
			t.Fatalf("%d messages for %d devices", len(msgs), len(rs))
		}
		for i, m := range msgs {
			r := rs[i]
			if m.Address != r.addr || m.RegistrationID != r.regID {
				t.Fatalf("message %d for %s (reg %d), want %s (reg %d)", i, m.Address, m.RegistrationID, r.addr, r.regID)
			}
			wantType := session.TypeSignal
			if i >= 6 {
				wantType = session.TypePreKey
			}
			if m.Type != wantType {
				t.Fatalf("%s: type %d, want %d", r.addr, m.Type, wantType)
			}
			r.recv(t, alice, wire{m.Type, m.Body, fmt.Sprint("round ", round)})
		}
		for i := range recips {
			recips[i].Bundle = nil
		}
	}
	// The cold devices answer; the next batch is all TypeSignal.
	for _, r := range rs[6:] {
		alice.recv(t, r, r.send(t, alice, "answer"))
	}
	msgs, err := alice.cipher.EncryptMany(ctx, recips, []byte("all warm"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if m.Type != session.TypeSignal {
			t.Fatalf("%s: type %d after the answer", m.Address, m.Type)
		}
		rs[i].recv(t, alice, wire{m.Type, m.Body, "all warm"})
	}
}

func TestEncryptManyDeviceMismatch(t *testing.T) {
	ctx := context.Background()
	alice, rs := fanoutParties(t, 3, 2)
	recips := []session.Recipient{
		{Address: rs[0].addr},
		{Address: rs[1].addr, RegistrationID: rs[1].regID},
		{Address: rs[2].addr, RegistrationID: rs[2].regID ^ 1}, // re-registered
		{Address: rs[3].addr},                                  // no session
		{Address: rs[4].addr, Bundle: rs[4].bundle(t, true, true)},
	}
	before := snapshot(t, alice, rs)
	_, err := alice.cipher.EncryptMany(ctx, recips, []byte("x"))
	var dm *session.DeviceMismatchError
	if !errors.As(err, &dm) || !errors.Is(err, session.ErrDeviceMismatch) {
		t.Fatalf("EncryptMany = %v, want a DeviceMismatchError", err)
	}
	if fmt.Sprint(dm.Missing) != fmt.Sprint([]session.Address{rs[3].addr}) || fmt.Sprint(dm.Stale) != fmt.Sprint([]session.Address{rs[2].addr}) || len(dm.Extra) != 0 {
		t.Fatalf("mismatch %+v", dm)
	}
	for a, b := range snapshot(t, alice, rs) {
		if !bytes.Equal(b, before[a]) {
			t.Fatalf("%s changed although the send failed", a)
		}
	}
	// Resolve: the stale session is archived, bundles fetched, retried.
	need, err := alice.cipher.ResolveDeviceMismatch(ctx, dm)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(need) != fmt.Sprint([]session.Address{rs[2].addr, rs[3].addr}) {
		t.Fatalf("NeedBundles = %v", need)
	}
	if v, _ := alice.cipher.SessionVersion(ctx, rs[2].addr); v != 0 {
		t.Fatal("stale session still current")
	}
	recips[2].RegistrationID = rs[2].regID
	recips[2].Bundle = rs[2].bundle(t, true, true)
	recips[3].Bundle = rs[3].bundle(t, true, true)
	msgs, err := alice.cipher.EncryptMany(ctx, recips, []byte("retry"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		rs[i].recv(t, alice, wire{m.Type, m.Body, "retry"})
	}

	// Duplicates are refused.
	if _, err := alice.cipher.EncryptMany(ctx, []session.Recipient{recips[0], recips[0]}, nil); !errors.Is(err, session.ErrInvalidArgument) {
		t.Fatalf("duplicate recipient: %v", err)
	}
}

func TestEncryptManyUntrusted(t *testing.T) {
	ctx := context.Background()
	alice, rs := fanoutParties(t, 3, 0)
	other := newParty(t, rs[1].addr.Name)
	if _, err := alice.store.SaveIdentity(ctx, rs[1].addr, other.id.PublicKey()); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, alice, rs)
	var recips []session.Recipient
	for _, r := range rs {
		recips = append(recips, session.Recipient{Address: r.addr})
	}
	if _, err := alice.cipher.EncryptMany(ctx, recips, []byte("x")); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("EncryptMany = %v, want ErrUntrustedIdentity", err)
	}
	for a, b := range snapshot(t, alice, rs) {
		if !bytes.Equal(b, before[a]) {
			t.Fatalf("%s changed although the send failed", a)
		}
	}
}

// faultyStore hides the batch methods and fails the Nth StoreSession (and
// every one after it), like a disk that fills up mid-batch.
type faultyStore struct {
	session.Store
	mu     sync.Mutex
	writes int
	failAt int
}

var errDisk = errors.New("disk full")

func (f *faultyStore) StoreSession(ctx context.Context, a session.Address, r *session.Record) error {
	f.mu.Lock()
	f.writes++
	n := f.writes
	f.mu.Unlock()
	if f.failAt > 0 && n >= f.failAt {
		return errDisk
	}
	return f.Store.StoreSession(ctx, a, r)
}

// failingBatch keeps the batch methods but fails StoreSessions.
type failingBatch struct{ *session.MemoryStore }

func (f failingBatch) StoreSessions(context.Context, map[session.Address]*session.Record) error {
	return errDisk
}

// TestEncryptManyFault stops the store mid-batch: every session is either
// advanced with its message returned, or byte-identical to before.
func TestEncryptManyFault(t *testing.T) {
	ctx := context.Background()
	const n = 12
	for _, tc := range []struct {
		name   string
		wrap   func(*session.MemoryStore) (session.Store, *faultyStore)
		stored int // how many sessions a failing batch stores
	}{
		{"sequential", func(m *session.MemoryStore) (session.Store, *faultyStore) {
			f := &faultyStore{Store: m}
			return f, f
		}, 6},
		{"batch", func(m *session.MemoryStore) (session.Store, *faultyStore) { return failingBatch{m}, nil }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice, rs := fanoutParties(t, n, 0)
			st, f := tc.wrap(alice.store)
			c := session.NewCipher(st)
			var recips []session.Recipient
			for _, r := range rs {
				recips = append(recips, session.Recipient{Address: r.addr})
			}
			before := snapshot(t, alice, rs)
			if f != nil {
				f.failAt = 7
			}
			msgs, err := c.EncryptMany(ctx, recips, []byte("partial"))
			if !errors.Is(err, errDisk) {
				t.Fatalf("EncryptMany = %v, want the store's error", err)
			}
			if len(msgs) != tc.stored {
				t.Fatalf("%d messages returned, want %d", len(msgs), tc.stored)
			}
			got := map[session.Address]session.Message{}
			for _, m := range msgs {
				got[m.Address] = m
			}
			for _, r := range rs {
				now := alice.record(t, r.addr)
				m, advanced := got[r.addr]
				if !advanced {
					if !bytes.Equal(now, before[r.addr]) {
						t.Fatalf("%s: record changed but no message was returned", r.addr)
					}
					continue
				}
				if bytes.Equal(now, before[r.addr]) {
					t.Fatalf("%s: message returned but record unchanged", r.addr)
				}
				r.recv(t, alice, wire{m.Type, m.Body, "partial"})
			}
			// The store recovers; the next batch reaches everyone.
			if f != nil {
				f.failAt = 0
			}
			c = session.NewCipher(alice.store)
			msgs, err = c.EncryptMany(ctx, recips, []byte("after"))
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range msgs {
				rs[i].recv(t, alice, wire{m.Type, m.Body, "after"})
			}
		})
	}
}

// TestEncryptManyConcurrent runs batches and single encryptions on
// overlapping addresses at once (run with -race): no deadlock, no lost
// update, every message decrypts.
func TestEncryptManyConcurrent(t *testing.T) {
	ctx := context.Background()
	alice, rs := fanoutParties(t, 8, 0)
	var recips []session.Recipient
	for _, r := range rs {
		recips = append(recips, session.Recipient{Address: r.addr})
	}
	type sent struct {
		to  int
		msg session.Message
		pt  string
	}
	var mu sync.Mutex
	var all []sent
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5 {
				pt := fmt.Sprintf("batch %d/%d", g, i)
				// Reverse order for odd goroutines: locking must not depend on it.
				rcp := append([]session.Recipient(nil), recips...)
				if g%2 == 1 {
					for l, r := 0, len(rcp)-1; l < r; l, r = l+1, r-1 {
						rcp[l], rcp[r] = rcp[r], rcp[l]
					}
				}
				msgs, err := alice.cipher.EncryptMany(ctx, rcp, []byte(pt))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, m := range msgs {
					for j, r := range rs {
						if r.addr == m.Address {
							all = append(all, sent{j, m, pt})
						}
					}
				}
				mu.Unlock()
				typ, ct, err := alice.cipher.Encrypt(ctx, rs[i].addr, []byte(pt+" single"))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all = append(all, sent{i, session.Message{Address: rs[i].addr, Type: typ, Body: ct}, pt + " single"})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(all) != 4*5*(len(rs)+1) {
		t.Fatalf("%d messages", len(all))
	}
	for _, s := range all {
		rs[s.to].recv(t, alice, wire{s.msg.Type, s.msg.Body, s.pt})
	}
}

// overAnswering is a BatchSessionStore that answers LoadSessions with one
// address more than it was asked for, as a buggy store (or a lookup that
// matched the wrong rows) would.
type overAnswering struct {
	*session.MemoryStore
	extra session.Address
}

func (s overAnswering) LoadSessions(ctx context.Context, addrs []session.Address) (map[session.Address]*session.Record, error) {
	out, err := s.MemoryStore.LoadSessions(ctx, addrs)
	if err != nil {
		return out, err
	}
	r, err := s.MemoryStore.LoadSession(ctx, s.extra)
	if r != nil {
		out[s.extra] = r
	}
	return out, err
}

// TestResolveDeviceMismatchOnlyWhatItNamed: the sessions archived are those
// of the devices the mismatch named, whatever else a store's batch load
// returns (red-team review of issue #18).
func TestResolveDeviceMismatchOnlyWhatItNamed(t *testing.T) {
	ctx := context.Background()
	alice, rs := fanoutParties(t, 2, 0)
	st := overAnswering{MemoryStore: alice.store, extra: rs[1].addr}
	c := session.NewCipher(st)
	if _, err := c.ResolveDeviceMismatch(ctx, &session.DeviceMismatchError{Stale: []session.Address{rs[0].addr}}); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.LoadSession(ctx, rs[0].addr); err != nil || rec == nil || rec.Current() != nil {
		t.Fatalf("the named device's session was not archived: %v, %v", rec, err)
	}
	if rec, err := st.LoadSession(ctx, rs[1].addr); err != nil || rec == nil || rec.Current() == nil {
		t.Fatalf("a device the mismatch did not name was archived: %v, %v", rec, err)
	}
}
