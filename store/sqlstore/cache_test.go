package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

// cachedPairs runs fn once per backend with one database opened twice:
// cached with WithSessionCache(size), plain without a cache (a reader in
// another process, as far as the cache can tell).
func cachedPairs(t *testing.T, size int, fn func(t *testing.T, cached, plain *sqlstore.DB)) {
	ctx := context.Background()
	t.Run("SQLite", func(t *testing.T) {
		cached, path := openSQLite(t, sqlstore.RelaxedDurability(), sqlstore.WithSessionCache(size))
		plain, err := sqlstore.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { plain.Close() })
		fn(t, cached, plain)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		u := postgresSchemaURL(t)
		cached, err := sqlstore.OpenPostgres(ctx, u, sqlstore.WithSessionCache(size))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cached.Close() })
		plain, err := sqlstore.OpenPostgres(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { plain.Close() })
		fn(t, cached, plain)
	})
}

// cacheFixture is an account of the cached DB with real answered sessions
// with len(real) recipients, the first one's record copied to fake more
// addresses (peer-0000.1, …), and the same account seen through the plain
// DB.
type cacheFixture struct {
	st, plain *sqlstore.Store
	cipher    *session.Cipher
	alice     *storetest.Account
	real      []*storetest.Account
	recips    []session.Recipient
	addrs     []session.Address
}

func newCacheFixture(t *testing.T, cached, plain *sqlstore.DB, real, fake int) *cacheFixture {
	t.Helper()
	ctx := context.Background()
	alice, ac, rs := fanoutSetup(t, cached, real)
	st := alice.Store.(*sqlstore.Store)
	rec, err := st.LoadSession(ctx, rs[0].Addr)
	if err != nil {
		t.Fatal(err)
	}
	copies := map[session.Address]*session.Record{}
	for i := range fake {
		copies[session.Address{Name: fmt.Sprintf("peer-%04d", i), DeviceID: 1}] = rec.Clone()
	}
	if err := st.StoreSessions(ctx, copies); err != nil { // > upsertRows: its own transaction
		t.Fatal(err)
	}
	f := &cacheFixture{st: st, cipher: ac, alice: alice, real: rs}
	if f.plain, err = plain.Account(ctx, st.Account()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		f.recips = append(f.recips, session.Recipient{Address: r.Addr, RegistrationID: r.RegID})
		f.addrs = append(f.addrs, r.Addr)
	}
	for i := range fake {
		a := session.Address{Name: fmt.Sprintf("peer-%04d", i), DeviceID: 1}
		f.recips = append(f.recips, session.Recipient{Address: a})
		f.addrs = append(f.addrs, a)
	}
	return f
}

// records returns every fixture address's record as st stores it.
func (f *cacheFixture) records(t *testing.T, st *sqlstore.Store) map[session.Address][]byte {
	t.Helper()
	out := map[session.Address][]byte{}
	for _, a := range f.addrs {
		rec, err := st.LoadSession(context.Background(), a)
		if err != nil || rec == nil {
			t.Fatalf("%s: %v, %v", a, rec, err)
		}
		b, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out[a] = b
	}
	return out
}

// agree checks that the cache serves what the database holds.
func (f *cacheFixture) agree(t *testing.T) {
	t.Helper()
	cached, stored := f.records(t, f.st), f.records(t, f.plain)
	for a, b := range stored {
		if !bytes.Equal(cached[a], b) {
			t.Fatalf("%s: the cache serves a record the database does not hold", a)
		}
	}
	for _, r := range f.real {
		k1, ok1, err1 := f.st.Identity(context.Background(), r.Addr)
		k2, ok2, err2 := f.plain.Identity(context.Background(), r.Addr)
		if err1 != nil || err2 != nil || ok1 != ok2 || !k1.Equal(k2) {
			t.Fatalf("%s: identity %v %v %v, database %v %v %v", r.Addr, k1, ok1, err1, k2, ok2, err2)
		}
	}
}

func (f *cacheFixture) decryptReal(t *testing.T, msgs []session.Message, want string) {
	t.Helper()
	for i, r := range f.real {
		got, err := session.NewCipher(r.Store).Decrypt(context.Background(), f.alice.Addr, msgs[i].Type, msgs[i].Body)
		if err != nil || string(got) != want {
			t.Fatalf("%s: %q, %v", r.Addr, got, err)
		}
	}
}

// TestSessionCacheCommit: fan-outs of 305 devices (a prepared 256-row
// statement and one of 49 rows) through the cache; afterwards the cache
// serves exactly what a second, uncached handle reads from the database,
// and the second fan-out's loads were all cache hits.
func TestSessionCacheCommit(t *testing.T) {
	cachedPairs(t, 1000, func(t *testing.T, cached, plain *sqlstore.DB) {
		ctx := context.Background()
		f := newCacheFixture(t, cached, plain, 5, 300)
		for round := range 3 {
			before := sqlstore.ReadCacheStats(cached)
			pt := fmt.Sprint("round ", round)
			msgs, err := f.cipher.EncryptMany(ctx, f.recips, []byte(pt))
			if err != nil {
				t.Fatal(err)
			}
			after := sqlstore.ReadCacheStats(cached)
			if round > 0 && (after.SessionHits-before.SessionHits != uint64(len(f.recips)) || after.SessionMisses != before.SessionMisses) {
				t.Fatalf("round %d: %d session hits, %d misses; want every load served by the cache",
					round, after.SessionHits-before.SessionHits, after.SessionMisses-before.SessionMisses)
			}
			if round > 0 && after.IdentityMisses != before.IdentityMisses {
				t.Fatalf("round %d: %d identity misses", round, after.IdentityMisses-before.IdentityMisses)
			}
			f.decryptReal(t, msgs, pt)
			f.agree(t)
		}
	})
}

// TestSessionCacheRollback makes the database refuse one row of a fan-out,
// in the prepared 256-row statement or in the last one: the transaction
// rolls back, the cache serves the pre-batch records byte for byte (from
// memory: no miss), the database holds them too, and the next fan-out works.
func TestSessionCacheRollback(t *testing.T) {
	cachedPairs(t, 1000, func(t *testing.T, cached, plain *sqlstore.DB) {
		for _, failAt := range []string{"peer-0100", "peer-0290"} {
			t.Run(failAt, func(t *testing.T) {
				testSessionCacheRollback(t, cached, plain, failAt)
			})
		}
	})
}

func testSessionCacheRollback(t *testing.T, cached, plain *sqlstore.DB, failAt string) {
	ctx := context.Background()
	f := newCacheFixture(t, cached, plain, 3, 300)
	if _, err := f.cipher.EncryptMany(ctx, f.recips, []byte("warm")); err != nil {
		t.Fatal(err)
	}
	postgres := strings.Contains(t.Name(), "PostgreSQL")
	trigger := []string{`CREATE TRIGGER fail_mid_batch BEFORE UPDATE ON interlock_sessions
		WHEN NEW.name = '` + failAt + `' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`}
	if postgres {
		trigger = []string{`CREATE FUNCTION fail_mid_batch() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.name = '` + failAt + `' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER fail_mid_batch BEFORE UPDATE ON interlock_sessions FOR EACH ROW EXECUTE FUNCTION fail_mid_batch()`}
	}
	for _, stmt := range trigger {
		if _, err := plain.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		drop := []string{`DROP TRIGGER IF EXISTS fail_mid_batch`}
		if postgres {
			drop = []string{`DROP TRIGGER IF EXISTS fail_mid_batch ON interlock_sessions`, `DROP FUNCTION IF EXISTS fail_mid_batch()`}
		}
		for _, stmt := range drop {
			plain.SQL().ExecContext(context.Background(), stmt)
		}
	})

	before := f.records(t, f.plain)
	msgs, err := f.cipher.EncryptMany(ctx, f.recips, []byte("lost"))
	if err == nil || !strings.Contains(err.Error(), "injected fault") {
		t.Fatalf("EncryptMany past the fault: %v", err)
	}
	if len(msgs) != 0 {
		t.Fatalf("%d messages from a rolled-back batch", len(msgs))
	}
	stats := sqlstore.ReadCacheStats(cached)
	served := f.records(t, f.st)
	if s := sqlstore.ReadCacheStats(cached); s.SessionMisses != stats.SessionMisses || s.SessionHits-stats.SessionHits != uint64(len(f.addrs)) {
		t.Fatalf("after the rollback %d loads missed the cache", s.SessionMisses-stats.SessionMisses)
	}
	for a, b := range f.records(t, f.plain) {
		if !bytes.Equal(b, before[a]) {
			t.Fatalf("%s changed in the database although the batch failed", a)
		}
		if !bytes.Equal(served[a], before[a]) {
			t.Fatalf("%s: the cache serves a record of the rolled-back batch", a)
		}
	}

	drop := `DROP TRIGGER fail_mid_batch`
	if postgres {
		drop += ` ON interlock_sessions`
	}
	if _, err := plain.SQL().ExecContext(ctx, drop); err != nil {
		t.Fatal(err)
	}
	msgs, err = f.cipher.EncryptMany(ctx, f.recips, []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	f.decryptReal(t, msgs, "after")
	f.agree(t)
}

// TestSessionCacheTransact: inside a transaction a Store reads its own
// writes (not the cache's older values); a rolled-back transaction leaves
// the cache and the database as they were, a committed one updates both.
func TestSessionCacheTransact(t *testing.T) {
	cachedPairs(t, 100, func(t *testing.T, cached, plain *sqlstore.DB) {
		ctx := context.Background()
		f := newCacheFixture(t, cached, plain, 2, 3)
		a, other := f.real[0].Addr, f.real[1].Addr
		old, err := f.st.LoadSession(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		oldBytes, _ := old.Marshal()
		changed := old.Clone()
		changed.ArchiveCurrent()
		changedBytes, _ := changed.Marshal()
		newKey := f.alice.Identity.PublicKey()
		oldKey, _, _ := f.st.Identity(ctx, other)

		abort := errors.New("abort")
		write := func(tx session.Store) error {
			if err := tx.StoreSession(ctx, a, changed.Clone()); err != nil {
				return err
			}
			got, err := tx.LoadSession(ctx, a)
			if err != nil {
				return err
			}
			if b, _ := got.Marshal(); !bytes.Equal(b, changedBytes) {
				return errors.New("the transaction does not see its own session write")
			}
			if _, err := tx.SaveIdentity(ctx, other, newKey); err != nil {
				return err
			}
			if k, ok, err := tx.Identity(ctx, other); err != nil || !ok || !k.Equal(newKey) {
				return fmt.Errorf("the transaction does not see its own identity write: %v %v", ok, err)
			}
			return nil
		}
		err = f.st.Transact(ctx, func(tx session.Store) error {
			if err := write(tx); err != nil {
				return err
			}
			return abort
		})
		if !errors.Is(err, abort) {
			t.Fatal(err)
		}
		for _, st := range []*sqlstore.Store{f.st, f.plain} {
			got, _ := st.LoadSession(ctx, a)
			if b, _ := got.Marshal(); !bytes.Equal(b, oldBytes) {
				t.Fatal("a rolled-back session write is visible")
			}
			if k, ok, _ := st.Identity(ctx, other); !ok || !k.Equal(oldKey) {
				t.Fatal("a rolled-back identity write is visible")
			}
		}

		if err := f.st.Transact(ctx, write); err != nil {
			t.Fatal(err)
		}
		for _, st := range []*sqlstore.Store{f.st, f.plain} {
			got, _ := st.LoadSession(ctx, a)
			if b, _ := got.Marshal(); !bytes.Equal(b, changedBytes) {
				t.Fatal("a committed session write is not visible")
			}
			if k, ok, _ := st.Identity(ctx, other); !ok || !k.Equal(newKey) {
				t.Fatal("a committed identity write is not visible")
			}
			if trusted, _ := st.IsTrustedIdentity(ctx, other, oldKey, session.Sending); trusted {
				t.Fatal("the replaced identity is still trusted")
			}
		}

		// Deletions are cached as "no row".
		if err := f.st.DeleteSession(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := f.st.RemoveIdentity(ctx, other); err != nil {
			t.Fatal(err)
		}
		for _, st := range []*sqlstore.Store{f.st, f.st, f.plain} {
			if got, err := st.LoadSession(ctx, a); got != nil || err != nil {
				t.Fatalf("deleted session: %v, %v", got, err)
			}
			if _, ok, err := st.Identity(ctx, other); ok || err != nil {
				t.Fatalf("removed identity: %v, %v", ok, err)
			}
		}
	})
}

// TestSessionCacheEviction: a cache of 8 entries over 42 sessions stays
// within its bound and keeps serving what the database holds.
func TestSessionCacheEviction(t *testing.T) {
	cachedPairs(t, 8, func(t *testing.T, cached, plain *sqlstore.DB) {
		ctx := context.Background()
		f := newCacheFixture(t, cached, plain, 2, 40)
		for round := range 3 {
			pt := fmt.Sprint("round ", round)
			msgs, err := f.cipher.EncryptMany(ctx, f.recips, []byte(pt))
			if err != nil {
				t.Fatal(err)
			}
			f.decryptReal(t, msgs, pt)
			f.agree(t)
			if s := sqlstore.ReadCacheStats(cached); s.Sessions > 8 || s.Identities > 8 {
				t.Fatalf("the cache holds %d sessions and %d identities, over its bound of 8", s.Sessions, s.Identities)
			}
		}
	})
}

// TestSessionCacheAccounts: two accounts of one cached DB with sessions and
// identities for the same address each see their own; a deleted and
// re-created account starts empty.
func TestSessionCacheAccounts(t *testing.T) {
	cachedPairs(t, 100, func(t *testing.T, cached, _ *sqlstore.DB) {
		ctx := context.Background()
		f := newCacheFixture(t, cached, cached, 1, 0)
		rec, _ := f.st.LoadSession(ctx, f.real[0].Addr)
		other := rec.Clone()
		other.ArchiveCurrent()
		addr := session.Address{Name: "shared", DeviceID: 1}
		id1, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		id2, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		s1, err := cached.CreateAccount(ctx, "acct-1", id1, 1)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := cached.CreateAccount(ctx, "acct-2", id2, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := map[*sqlstore.Store]*session.Record{s1: rec, s2: other}
		keys := map[*sqlstore.Store]prekey.IdentityKey{s1: id1.PublicKey(), s2: id2.PublicKey()}
		for st, r := range want {
			if err := st.StoreSession(ctx, addr, r.Clone()); err != nil {
				t.Fatal(err)
			}
			if _, err := st.SaveIdentity(ctx, addr, keys[st]); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // the second time from the cache
			for st, r := range want {
				got, err := st.LoadSession(ctx, addr)
				if err != nil {
					t.Fatal(err)
				}
				g, _ := got.Marshal()
				w, _ := r.Marshal()
				if !bytes.Equal(g, w) {
					t.Fatalf("%s sees another account's session", st.Account())
				}
				if k, ok, _ := st.Identity(ctx, addr); !ok || !k.Equal(keys[st]) {
					t.Fatalf("%s sees another account's identity", st.Account())
				}
			}
		}
		if err := cached.DeleteAccount(ctx, "acct-1"); err != nil {
			t.Fatal(err)
		}
		s1, err = cached.CreateAccount(ctx, "acct-1", id1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s1.LoadSession(ctx, addr); got != nil || err != nil {
			t.Fatalf("a re-created account sees its old session: %v, %v", got, err)
		}
		if _, ok, err := s1.Identity(ctx, addr); ok || err != nil {
			t.Fatalf("a re-created account sees its old identity: %v", err)
		}
		if got, _ := s2.LoadSession(ctx, addr); got == nil {
			t.Fatal("deleting one account dropped another's session")
		}
	})
}

// TestSessionCacheOtherWriter pins down the documented limit: a write by
// another handle (another process) is not seen by a cache that already
// holds the row; the cache's own next write puts both back in agreement.
func TestSessionCacheOtherWriter(t *testing.T) {
	cachedPairs(t, 100, func(t *testing.T, cached, plain *sqlstore.DB) {
		ctx := context.Background()
		f := newCacheFixture(t, cached, plain, 1, 0)
		a := f.real[0].Addr
		cachedRec, _ := f.st.LoadSession(ctx, a) // now cached
		cachedBytes, _ := cachedRec.Marshal()
		changed := cachedRec.Clone()
		changed.ArchiveCurrent()
		if err := f.plain.StoreSession(ctx, a, changed); err != nil {
			t.Fatal(err)
		}
		got, _ := f.st.LoadSession(ctx, a)
		if b, _ := got.Marshal(); !bytes.Equal(b, cachedBytes) {
			t.Fatal("the cache saw another writer's update: the documentation is out of date")
		}
		if err := f.st.StoreSession(ctx, a, cachedRec); err != nil {
			t.Fatal(err)
		}
		f.addrs = []session.Address{a}
		f.agree(t)
	})
}

func TestConformanceCached(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) { storetest.Run(t, opener(db)) }, sqlstore.WithSessionCache(16))
}

// TestConcurrentConversationsCached: the concurrency test's short form over
// a cache far smaller than the working set (evictions all the time).
func TestConcurrentConversationsCached(t *testing.T) {
	cfg := concurrencyConfig{workers: 32, accounts: 16, conversations: 64, messages: 2000}
	if raceEnabled {
		cfg.messages = 1000
	}
	backends(t, func(t *testing.T, db *sqlstore.DB) { runConcurrent(t, db, cfg) },
		sqlstore.RelaxedDurability(), sqlstore.WithSessionCache(24))
}

// TestSessionCacheFailedStatement: a write that fails inside a transaction
// whose function ignores the error and returns nil. SQLite rolls back only
// the statement and commits the rest, PostgreSQL refuses the commit; either
// way the cache must not keep the value that never reached the database.
func TestSessionCacheFailedStatement(t *testing.T) {
	cachedPairs(t, 100, func(t *testing.T, cached, plain *sqlstore.DB) {
		ctx := context.Background()
		f := newCacheFixture(t, cached, plain, 1, 0)
		a := f.real[0].Addr
		postgres := strings.Contains(t.Name(), "PostgreSQL")
		trigger := []string{`CREATE TRIGGER fail_update BEFORE UPDATE ON interlock_sessions
			BEGIN SELECT RAISE(ABORT, 'injected fault'); END`}
		drop := []string{`DROP TRIGGER fail_update`}
		if postgres {
			trigger = []string{`CREATE FUNCTION fail_update() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'injected fault'; END $$`,
				`CREATE TRIGGER fail_update BEFORE UPDATE ON interlock_sessions FOR EACH ROW EXECUTE FUNCTION fail_update()`}
			drop = []string{`DROP TRIGGER fail_update ON interlock_sessions`, `DROP FUNCTION fail_update()`}
		}
		for _, stmt := range trigger {
			if _, err := plain.SQL().ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		old, _ := f.st.LoadSession(ctx, a)
		oldBytes, _ := old.Marshal()
		changed := old.Clone()
		changed.ArchiveCurrent()
		var storeErr error
		txErr := f.st.Transact(ctx, func(tx session.Store) error {
			storeErr = tx.StoreSession(ctx, a, changed)
			return nil // ignoring it
		})
		if storeErr == nil {
			t.Fatal("the trigger did not fire")
		}
		t.Logf("commit after the failed statement: %v", txErr)
		for _, stmt := range drop {
			if _, err := plain.SQL().ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		for _, st := range []*sqlstore.Store{f.st, f.plain} {
			got, _ := st.LoadSession(ctx, a)
			if b, _ := got.Marshal(); !bytes.Equal(b, oldBytes) {
				t.Fatal("the failed write is visible")
			}
		}
	})
}

// TestSessionCacheAccountKeys: under session.PerAccount the batch trust
// check (AreTrustedIdentities, behind EncryptMany) reads the accounts'
// pinned keys from the cache once known (issue #18), and the cache follows
// every write of this DB: a key pinned, replaced inside a transaction that
// rolls back, replaced for good, removed — the batch answers as the
// single-row IsTrustedIdentity does at every step, on a cold and a warm
// cache.
func TestSessionCacheAccountKeys(t *testing.T) {
	cachedPairs(t, 100, func(t *testing.T, cached, plain *sqlstore.DB) {
		ctx := context.Background()
		id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		st, err := cached.CreateAccount(ctx, "acct-"+strings.ToLower(rand.Text()[:8]), id, 1)
		if err != nil {
			t.Fatal(err)
		}
		newKey := func() prekey.IdentityKey {
			k, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			return k.PublicKey()
		}
		k1, k2, k3 := newKey(), newKey(), newKey()
		bob := session.Address{Name: "bob", DeviceID: 1}
		bob2 := session.Address{Name: "bob", DeviceID: 2}
		check := func(step string, key prekey.IdentityKey, want bool) {
			t.Helper()
			for range 2 { // cold, then from the cache
				got, err := st.AreTrustedIdentities(ctx, map[session.Address]prekey.IdentityKey{bob2: key}, session.Sending)
				if err != nil {
					t.Fatal(err)
				}
				one, err := st.IsTrustedIdentity(ctx, bob2, key, session.Sending)
				if err != nil {
					t.Fatal(err)
				}
				if got[bob2] != want || one != want {
					t.Fatalf("%s: AreTrustedIdentities %v, IsTrustedIdentity %v, want %v", step, got[bob2], one, want)
				}
			}
		}
		check("nothing pinned", k1, true)
		if _, err := st.SaveIdentity(ctx, bob, k1); err != nil {
			t.Fatal(err)
		}
		check("k1 pinned", k2, false)
		check("k1 pinned", k1, true)
		errAbort := errors.New("abort")
		err = st.Transact(ctx, func(tx session.Store) error {
			if _, err := tx.SaveIdentity(ctx, bob, k2); err != nil {
				return err
			}
			got, err := tx.(*sqlstore.Store).AreTrustedIdentities(ctx, map[session.Address]prekey.IdentityKey{bob2: k2}, session.Sending)
			if err != nil || !got[bob2] {
				t.Fatalf("inside the transaction that pinned k2: %v, %v", got, err)
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatal(err)
		}
		check("k2 rolled back", k2, false)
		check("k2 rolled back", k1, true)
		if _, err := st.SaveIdentity(ctx, bob, k3); err != nil {
			t.Fatal(err)
		}
		check("k3 pinned", k1, false)
		check("k3 pinned", k3, true)
		if err := st.RemoveIdentity(ctx, bob); err != nil {
			t.Fatal(err)
		}
		check("removed", k2, true)
		if s := sqlstore.ReadCacheStats(cached); s.AccountHits == 0 {
			t.Fatalf("the account keys never came from the cache: %+v", s)
		}
	})
}
