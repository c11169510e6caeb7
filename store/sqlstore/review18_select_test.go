package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// TestSelectRecordsErrors: LoadSessions parses rows on other goroutines
// while its SELECT still reads. With keys at rest, for batches of 1, 63,
// 64, 65, 129 and more than one statement's worth of rows, and a bad row
// first, in the middle or last: every record comes back intact; a row that
// does not parse is reported in a *session.BatchError with the others; a
// row that does not open fails the load; a context cancelled mid-read
// returns its error; and no goroutine is left behind.
func TestSelectRecordsErrors(t *testing.T) {
	sizes := []int{1, 63, 64, 65, 129, 5065}
	cancels := 20
	if testing.Short() || raceEnabled {
		sizes, cancels = sizes[:5], 5 // more than one statement: without -race
	}
	cryptBackends(t, func(t *testing.T, open reopener) {
		ctx := context.Background()
		db := mustOpen(t, open, sqlstore.WithKeyEncryption(keyring(t, "k1", map[string][]byte{"k1": newKey(t)})))
		alice, _, rs := fanoutSetup(t, db, 1)
		st := alice.Store.(*sqlstore.Store)
		rec, err := st.LoadSession(ctx, rs[0].Addr)
		if err != nil || rec == nil {
			t.Fatal(rec, err)
		}
		want := mustMarshal(t, rec)
		base := runtime.NumGoroutine()
		for _, n := range sizes {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				addrs := make([]session.Address, n)
				recs := make(map[session.Address]*session.Record, n)
				for i := range addrs {
					addrs[i] = session.Address{Name: fmt.Sprintf("r%d-%05d", n, i), DeviceID: 1}
					recs[addrs[i]] = rec
				}
				if err := st.StoreSessions(ctx, recs); err != nil {
					t.Fatal(err)
				}
				check := func(got map[session.Address]*session.Record, skip session.Address) {
					t.Helper()
					for _, a := range addrs {
						if a == skip {
							if got[a] != nil {
								t.Fatalf("%s: a record from a bad row", a)
							}
							continue
						}
						if got[a] == nil || !bytes.Equal(mustMarshal(t, got[a]), want) {
							t.Fatalf("%s: record missing or changed", a)
						}
					}
				}
				got, err := st.LoadSessions(ctx, addrs)
				if err != nil {
					t.Fatal(err)
				}
				check(got, session.Address{})
				for _, k := range []int{0, n / 2, n - 1} {
					bad := addrs[k]
					// A row that does not parse: reported, the others kept.
					corruptRow(t, st, bad)
					got, err := st.LoadSessions(ctx, addrs)
					var be *session.BatchError
					if !errors.As(err, &be) || len(be.Errors) != 1 || be.Errors[bad] == nil {
						t.Fatalf("corrupt row %d: error %v", k, err)
					}
					check(got, bad)
					// A sealed row that does not open: the load fails.
					if err := st.StoreSession(ctx, bad, rec); err != nil {
						t.Fatal(err)
					}
					var sealed []byte
					if err := db.SQL().QueryRowContext(ctx, q(db, `SELECT record FROM interlock_sessions WHERE account = $1 AND name = $2 AND device_id = 1`), st.Account(), bad.Name).Scan(&sealed); err != nil {
						t.Fatal(err)
					}
					if _, err := db.SQL().ExecContext(ctx, q(db, `UPDATE interlock_sessions SET record = $1 WHERE account = $2 AND name = $3 AND device_id = 1`), flipLast(sealed), st.Account(), bad.Name); err != nil {
						t.Fatal(err)
					}
					if got, err := st.LoadSessions(ctx, addrs); !errors.Is(err, sqlstore.ErrRowAuthentication) || got != nil {
						t.Fatalf("row %d that does not open: %d records, error %v", k, len(got), err)
					}
					if err := st.StoreSession(ctx, bad, rec); err != nil {
						t.Fatal(err)
					}
				}
				// Cancelled at every point of the read.
				for i := range cancels {
					cctx, cancel := context.WithCancel(ctx)
					done := make(chan struct{})
					var got map[session.Address]*session.Record
					var err error
					go func() {
						defer close(done)
						got, err = st.LoadSessions(cctx, addrs)
					}()
					time.Sleep(time.Duration(i) * time.Duration(n) * 100 * time.Nanosecond)
					cancel()
					select {
					case <-done:
					case <-time.After(time.Minute):
						t.Fatal("LoadSessions did not return after its context was cancelled")
					}
					if err != nil {
						if !errors.Is(err, context.Canceled) {
							t.Fatalf("cancelled: %v", err)
						}
						continue
					}
					check(got, session.Address{})
				}
			})
		}
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if g := runtime.NumGoroutine(); g > base+2 {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, %d before:\n%s", g, base, buf[:runtime.Stack(buf, true)])
		}
	})
}
