package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// sharedBackends runs fn once per SQL backend with two DBs opened on one
// database: two "processes" (each DB has its own connections, Ciphers and
// locks; only the database is shared).
func sharedBackends(t *testing.T, fn func(t *testing.T, db1, db2 *sqlstore.DB), opts ...sqlstore.Option) {
	ctx := context.Background()
	t.Run("SQLite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "shared.db")
		var dbs [2]*sqlstore.DB
		for i := range dbs {
			db, err := sqlstore.Open(ctx, path, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		fn(t, dbs[0], dbs[1])
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		u := postgresSchemaURL(t)
		var dbs [2]*sqlstore.DB
		for i := range dbs {
			db, err := sqlstore.OpenPostgres(ctx, u, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		fn(t, dbs[0], dbs[1])
	})
}

// TestIssue19Item1SenderKeyIterationNeverReused: issue #19 item 1. Two
// processes send with one sender key at once. Before the fix group.Cipher
// loaded and stored the record in two transactions, so both could step the
// chain from the same iteration: two plaintexts under one message key.
// Every message must carry its own iteration. Two processes creating the
// first chain of a distribution at once must also end with one chain.
func TestIssue19Item1SenderKeyIterationNeverReused(t *testing.T) {
	ctx := context.Background()
	sharedBackends(t, func(t *testing.T, db1, db2 *sqlstore.DB) {
		p, err := newParty(ctx, db1, "alice")
		if err != nil {
			t.Fatal(err)
		}
		s2, err := db2.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		ciphers := []*group.Cipher{group.NewCipher(p.store), group.NewCipher(s2)}
		self := group.SenderKeyName{Sender: "alice", DeviceID: 1, DistributionID: "0f4c8c2a-9a0e-4f7e-8d2b-1c3e5a7b9d11"}
		if _, err := ciphers[0].CreateDistributionMessage(ctx, self); err != nil {
			t.Fatal(err)
		}
		const perWorker = 15
		var mu sync.Mutex
		seen := map[uint32]int{}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			c := ciphers[w%2]
			wg.Go(func() {
				for i := range perWorker {
					b, err := c.Encrypt(ctx, self, fmt.Appendf(nil, "w%d m%d", w, i))
					if err != nil {
						errs <- err
						return
					}
					m, err := group.ParseSenderKeyMessage(b, group.LayoutSignal)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					seen[m.Iteration]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		dups := 0
		for it, n := range seen {
			if n > 1 {
				dups++
				t.Errorf("iteration %d used by %d messages", it, n)
			}
		}
		if len(seen) != 8*perWorker || dups > 0 {
			t.Fatalf("%d messages used %d distinct iterations (%d reused)", 8*perWorker, len(seen), dups)
		}

		// The first chain of a distribution, created by both at once.
		for round := range 10 {
			name := self
			name.DistributionID = fmt.Sprintf("0f4c8c2a-9a0e-4f7e-8d2b-1c3e5a7b9d%02d", 20+round)
			var ids [2]uint32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, c := range ciphers {
				wg.Go(func() {
					<-start
					m, err := c.CreateDistributionMessage(ctx, name)
					if err != nil {
						t.Error(err)
						return
					}
					ids[i] = m.ChainID
				})
			}
			close(start)
			wg.Wait()
			if ids[0] != ids[1] {
				t.Fatalf("round %d: two processes created two chains (%d, %d): the later commit replaced the first", round, ids[0], ids[1])
			}
		}
	})
}

// TestIssue19Item1FirstSessionRecordNotLost: issue #19 item 1. Two
// processes start a session with the same address at the same moment.
// Before the fix there was no row to lock on PostgreSQL: both saw none and
// the later commit replaced the first record, so the session the first
// process had just used was lost. Both sessions must be in the record (one
// current, one archived).
func TestIssue19Item1FirstSessionRecordNotLost(t *testing.T) {
	ctx := context.Background()
	sharedBackends(t, func(t *testing.T, db1, db2 *sqlstore.DB) {
		alice, err := newParty(ctx, db1, "alice")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := newParty(ctx, db1, "bob")
		if err != nil {
			t.Fatal(err)
		}
		a2, err := db2.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		ciphers := []*session.Cipher{alice.cipher, session.NewCipher(a2)}
		const rounds = 12
		lost := 0
		for round := range rounds {
			to := session.Address{Name: "bob", DeviceID: uint32(round + 1)}
			bob.addr = to
			var bundles [2]*prekey.Bundle
			for i := range bundles {
				b, err := bob.bundleWithID(ctx, uint32(100*round+i+1))
				if err != nil {
					t.Fatal(err)
				}
				bundles[i] = b
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, c := range ciphers {
				wg.Go(func() {
					<-start
					if err := c.ProcessBundle(ctx, to, bundles[i]); err != nil {
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			rec, err := alice.store.LoadSession(ctx, to)
			if err != nil {
				t.Fatal(err)
			}
			if rec == nil || rec.Current() == nil || rec.ArchivedStates() != 1 {
				lost++
			}
		}
		if lost > 0 {
			t.Fatalf("%d of %d rounds lost a session created concurrently by another process", lost, rounds)
		}
	})
}
