package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

// fanoutSetup: an SQL account (the sender) with answered sessions with n
// in-memory recipients.
func fanoutSetup(t *testing.T, db *sqlstore.DB, n int) (*storetest.Account, *session.Cipher, []*storetest.Account) {
	t.Helper()
	ctx := context.Background()
	alice := newAccount(t, db, randomName("alice-"), "alice")
	ac := session.NewCipher(alice.Store)
	var rs []*storetest.Account
	for i := range n {
		r := storetest.NewAccount(t, fmt.Sprintf("bob-%03d", i), func(id prekey.IdentityKeyPair, reg uint32) session.Store {
			return session.NewMemoryStore(id, reg)
		})
		rc := session.NewCipher(r.Store)
		if err := ac.ProcessBundle(ctx, r.Addr, r.Bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
		typ, ct, err := ac.Encrypt(ctx, r.Addr, []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Decrypt(ctx, alice.Addr, typ, ct); err != nil {
			t.Fatal(err)
		}
		if typ, ct, err = rc.Encrypt(ctx, alice.Addr, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, err := ac.Decrypt(ctx, r.Addr, typ, ct); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return alice, ac, rs
}

func sqlRecords(t *testing.T, st session.Store, rs []*storetest.Account) map[session.Address][]byte {
	t.Helper()
	out := map[session.Address][]byte{}
	for _, r := range rs {
		rec, err := st.LoadSession(context.Background(), r.Addr)
		if err != nil {
			t.Fatal(err)
		}
		b, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out[r.Addr] = b
	}
	return out
}

func TestBatchMethods(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, _, rs := fanoutSetup(t, db, 5)
		st := alice.Store.(*sqlstore.Store)
		addrs := []session.Address{{Name: "nobody", DeviceID: 1}}
		for _, r := range rs {
			addrs = append(addrs, r.Addr)
		}
		recs, err := st.LoadSessions(ctx, addrs)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(rs) {
			t.Fatalf("LoadSessions: %d records, want %d", len(recs), len(rs))
		}
		want := sqlRecords(t, st, rs)
		for a, r := range recs {
			b, _ := r.Marshal()
			if !bytes.Equal(b, want[a]) {
				t.Fatalf("LoadSessions %s differs from LoadSession", a)
			}
		}
		// Store them under other names, in one statement.
		moved := map[session.Address]*session.Record{}
		for a, r := range recs {
			moved[session.Address{Name: "copy-" + a.Name, DeviceID: 7}] = r
		}
		if err := st.StoreSessions(ctx, moved); err != nil {
			t.Fatal(err)
		}
		for a := range recs {
			got, err := st.LoadSession(ctx, session.Address{Name: "copy-" + a.Name, DeviceID: 7})
			if err != nil || got == nil {
				t.Fatalf("stored copy of %s: %v", a, err)
			}
		}
		keys := map[session.Address]prekey.IdentityKey{
			rs[0].Addr:                    rs[0].Identity.PublicKey(), // stored, equal
			rs[1].Addr:                    rs[0].Identity.PublicKey(), // stored, different
			{Name: "nobody", DeviceID: 1}: rs[0].Identity.PublicKey(),
		}
		trusted, err := st.AreTrustedIdentities(ctx, keys, session.Sending)
		if err != nil {
			t.Fatal(err)
		}
		if !trusted[rs[0].Addr] || trusted[rs[1].Addr] || !trusted[session.Address{Name: "nobody", DeviceID: 1}] {
			t.Fatalf("AreTrustedIdentities = %v", trusted)
		}

		// The distribution store: a device holds a chain over one session
		// (issue #20 item 8).
		devs := func(as []session.Address, tag string) []fanout.SharedDevice {
			out := make([]fanout.SharedDevice, len(as))
			for i, a := range as {
				out[i] = fanout.SharedDevice{Address: a, Session: []byte(tag + a.String())}
			}
			return out
		}
		shared, err := st.SharedWith(ctx, "dist", 9, devs(addrs, "s1"))
		if err != nil || len(shared) != 0 {
			t.Fatalf("SharedWith on an empty table: %v, %v", shared, err)
		}
		if err := st.MarkShared(ctx, "dist", 9, devs(addrs[:3], "s1")); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkShared(ctx, "dist", 9, devs(addrs[1:4], "s1")); err != nil { // overlaps
			t.Fatal(err)
		}
		if err := st.MarkShared(ctx, "other", 9, devs(addrs, "s1")); err != nil {
			t.Fatal(err)
		}
		if shared, err = st.SharedWith(ctx, "dist", 9, devs(addrs, "s1")); err != nil || len(shared) != 4 {
			t.Fatalf("SharedWith = %v, %v; want 4 devices", shared, err)
		}
		if shared, err = st.SharedWith(ctx, "dist", 9, devs(addrs, "s2")); err != nil || len(shared) != 0 {
			t.Fatalf("SharedWith over other sessions = %v, %v; want none", shared, err)
		}
		if err := st.MarkShared(ctx, "dist", 9, devs(addrs[:1], "s2")); err != nil { // a new session
			t.Fatal(err)
		}
		if shared, err = st.SharedWith(ctx, "dist", 9, devs(addrs[:1], "s2")); err != nil || !shared[addrs[0]] {
			t.Fatalf("SharedWith after a new session = %v, %v", shared, err)
		}
		if shared, err = st.SharedWith(ctx, "dist", 10, devs(addrs, "s1")); err != nil || len(shared) != 0 {
			t.Fatalf("SharedWith another chain = %v, %v", shared, err)
		}
		if err := st.ForgetShared(ctx, "dist", addrs[0]); err != nil {
			t.Fatal(err)
		}
		if shared, _ = st.SharedWith(ctx, "dist", 9, devs(addrs, "s1")); len(shared) != 3 || shared[addrs[0]] {
			t.Fatalf("after ForgetShared of one: %v", shared)
		}
		if err := st.ForgetShared(ctx, "dist"); err != nil {
			t.Fatal(err)
		}
		if shared, _ = st.SharedWith(ctx, "dist", 9, devs(addrs, "s1")); len(shared) != 0 {
			t.Fatalf("after ForgetShared of all: %v", shared)
		}
		if shared, _ = st.SharedWith(ctx, "other", 9, devs(addrs, "s1")); len(shared) != len(addrs) {
			t.Fatalf("another distribution was touched: %v", shared)
		}
	})
}

func TestEncryptManySQL(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, ac, rs := fanoutSetup(t, db, 20)
		var recips []session.Recipient
		for _, r := range rs {
			recips = append(recips, session.Recipient{Address: r.Addr, RegistrationID: r.RegID})
		}
		for round := range 3 {
			pt := fmt.Sprint("round ", round)
			msgs, err := ac.EncryptMany(ctx, recips, []byte(pt))
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range msgs {
				got, err := session.NewCipher(rs[i].Store).Decrypt(ctx, alice.Addr, m.Type, m.Body)
				if err != nil || string(got) != pt {
					t.Fatalf("%s: %q, %v", m.Address, got, err)
				}
			}
		}
	})
}

// TestEncryptManySQLFault makes the database refuse one row in the middle
// of the batch statement: the transaction rolls back, no message is
// returned and every stored record is byte-identical to before.
func TestEncryptManySQLFault(t *testing.T) {
	backends(t, testEncryptManySQLFault)
}

func testEncryptManySQLFault(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	alice, ac, rs := fanoutSetup(t, db, 12)
	trigger := []string{`CREATE TRIGGER fail_mid_batch BEFORE UPDATE ON interlock_sessions
		WHEN NEW.name = 'bob-006' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`}
	if strings.Contains(t.Name(), "PostgreSQL") {
		trigger = []string{`CREATE FUNCTION fail_mid_batch() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.name = 'bob-006' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER fail_mid_batch BEFORE UPDATE ON interlock_sessions FOR EACH ROW EXECUTE FUNCTION fail_mid_batch()`}
	}
	for _, stmt := range trigger {
		if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	var recips []session.Recipient
	for _, r := range rs {
		recips = append(recips, session.Recipient{Address: r.Addr})
	}
	before := sqlRecords(t, alice.Store, rs)
	msgs, err := ac.EncryptMany(ctx, recips, []byte("lost"))
	if err == nil {
		t.Fatal("EncryptMany succeeded past the fault")
	}
	if len(msgs) != 0 {
		t.Fatalf("%d messages returned from a rolled-back batch", len(msgs))
	}
	for a, b := range sqlRecords(t, alice.Store, rs) {
		if !bytes.Equal(b, before[a]) {
			t.Fatalf("%s changed although the batch failed", a)
		}
	}
	drop := `DROP TRIGGER fail_mid_batch`
	if strings.Contains(t.Name(), "PostgreSQL") {
		drop += ` ON interlock_sessions`
	}
	if _, err := db.SQL().ExecContext(ctx, drop); err != nil {
		t.Fatal(err)
	}
	msgs, err = ac.EncryptMany(ctx, recips, []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if got, err := session.NewCipher(rs[i].Store).Decrypt(ctx, alice.Addr, m.Type, m.Body); err != nil || string(got) != "after" {
			t.Fatalf("%s: %q, %v", m.Address, got, err)
		}
	}
}

// TestBatchOddNames: the batch statements pass the wanted addresses as
// one parameter ("device:hex(name)" strings on SQLite); names holding
// colons, digits, quotes, backslashes, JSON escapes, non-ASCII and control
// characters (on SQLite also invalid UTF-8, NUL and the empty name), and
// device IDs at the ends of their range, must find exactly their own rows,
// in LoadSessions, AreTrustedIdentities and SharedWith alike, and answer as
// the single-row LoadSession and IsTrustedIdentity do. A pinned identity
// the batch failed to find would be trusted on first use.
func TestBatchOddNames(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, _, rs := fanoutSetup(t, db, 1)
		st := alice.Store.(*sqlstore.Store)
		rec, err := st.LoadSession(ctx, rs[0].Addr)
		if err != nil || rec == nil {
			t.Fatal(rec, err)
		}
		names := []string{"a:b", "1:2", "2", ":", "::7", `"quoted"`, `back\slash`, "</script>&", "ünïcødé", "tab\tnew\nline", "\u2028", "x"}
		if db.Dialect() == "sqlite" {
			// Bytes PostgreSQL's TEXT refuses: SQLite stores them as
			// given, and the batch must find them as given (JSON would
			// turn invalid UTF-8 into U+FFFD).
			names = append(names, "", "bad\xff\xfe", "bad\uFFFD\uFFFD", "nul\x00byte", "\xc3")
		}
		devices := []uint32{0, 1, 2, 0xFFFFFFFF}
		stored := map[session.Address]*session.Record{}
		var all []session.Address
		for _, n := range names {
			for _, d := range devices {
				a := session.Address{Name: n, DeviceID: d}
				all = append(all, a)
				if (len(n)+int(d))%2 == 0 { // every other address has a row
					stored[a] = rec
				}
			}
		}
		if err := st.StoreSessions(ctx, stored); err != nil {
			t.Fatal(err)
		}
		got, err := st.LoadSessions(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(stored) {
			t.Fatalf("LoadSessions: %d records, want %d", len(got), len(stored))
		}
		for a := range got {
			if stored[a] == nil {
				t.Fatalf("LoadSessions returned %q, which has no row", a)
			}
		}
		// A name and a key pinned for half the names: the others are
		// trusted on first use, the pinned ones only with their key.
		keys := map[session.Address]prekey.IdentityKey{}
		other := rs[0].Identity.PublicKey()
		mine := alice.Identity.PublicKey()
		for i, n := range names {
			if i%2 == 0 {
				if _, err := st.SaveIdentity(ctx, session.Address{Name: n, DeviceID: 1}, mine); err != nil {
					t.Fatal(err)
				}
			}
			keys[session.Address{Name: n, DeviceID: 1}] = other
		}
		trusted, err := st.AreTrustedIdentities(ctx, keys, session.Sending)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range names {
			a := session.Address{Name: n, DeviceID: 1}
			if want := i%2 == 1; trusted[a] != want {
				t.Fatalf("AreTrustedIdentities(%q) = %v, want %v", n, !want, want)
			}
			one, err := st.IsTrustedIdentity(ctx, a, other, session.Sending)
			if err != nil || one != trusted[a] {
				t.Fatalf("IsTrustedIdentity(%q) = %v, %v; the batch said %v", n, one, err, trusted[a])
			}
		}
		for _, a := range all { // the batch answers as the single-row load does
			one, err := st.LoadSession(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if (one != nil) != (got[a] != nil) {
				t.Fatalf("LoadSession(%q) found %v, LoadSessions %v", a, one != nil, got[a] != nil)
			}
		}
		devs := make([]fanout.SharedDevice, len(all))
		for i, a := range all {
			devs[i] = fanout.SharedDevice{Address: a, Session: []byte("s")}
		}
		if err := st.MarkShared(ctx, "odd", 1, devs[:len(devs)/2]); err != nil {
			t.Fatal(err)
		}
		shared, err := st.SharedWith(ctx, "odd", 1, devs)
		if err != nil || len(shared) != len(devs)/2 {
			t.Fatalf("SharedWith = %d devices, %v; want %d", len(shared), err, len(devs)/2)
		}
		for _, d := range devs[:len(devs)/2] {
			if !shared[d.Address] {
				t.Fatalf("SharedWith misses %q", d.Address)
			}
		}
	})
}

// TestSQLitePragmas: what every SQLite connection runs with. temp_store is
// MEMORY so that a batch upsert's statement journal never goes to a
// temporary file (issue #18); durability is the WAL's, FULL unless
// RelaxedDurability asks for NORMAL.
func TestSQLitePragmas(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []sqlstore.Option
		sync int
	}{{"default", nil, 2}, {"relaxed", []sqlstore.Option{sqlstore.RelaxedDurability()}, 1}} {
		t.Run(c.name, func(t *testing.T) {
			db, _ := openSQLite(t, c.opts...)
			for pragma, want := range map[string]any{"temp_store": 2, "foreign_keys": 1, "synchronous": c.sync, "journal_mode": "wal"} {
				var got any
				if err := db.SQL().QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("PRAGMA %s = %v, want %v", pragma, got, want)
				}
			}
		})
	}
}

// TestEncryptManyPinnedOddName: a server that hands out a new identity for
// a device whose name is not valid UTF-8 must not get it trusted through
// the fan-out's batch lookup (the single-row path always refused it).
func TestEncryptManyPinnedOddName(t *testing.T) {
	db, _ := openSQLite(t)
	ctx := context.Background()
	alice := newAccount(t, db, randomName("alice-"), "alice")
	ac := session.NewCipher(alice.Store)
	mallory := storetest.NewAccount(t, "bad\xff\xfe", func(id prekey.IdentityKeyPair, reg uint32) session.Store {
		return session.NewMemoryStore(id, reg)
	})
	bob := storetest.NewAccount(t, "bad\xff\xfe", func(id prekey.IdentityKeyPair, reg uint32) session.Store {
		return session.NewMemoryStore(id, reg)
	})
	// Bob's identity is pinned under the name; Mallory's bundle claims it.
	if _, err := alice.Store.SaveIdentity(ctx, bob.Addr, bob.Identity.PublicKey()); err != nil {
		t.Fatal(err)
	}
	_, err := ac.EncryptMany(ctx, []session.Recipient{{Address: mallory.Addr, Bundle: mallory.Bundle(t, true, true)}}, []byte("hi"))
	if !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("EncryptMany with another identity for a pinned name = %v, want ErrUntrustedIdentity", err)
	}
	if err := ac.ProcessBundle(ctx, mallory.Addr, mallory.Bundle(t, true, true)); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("ProcessBundle = %v, want ErrUntrustedIdentity", err)
	}
}
