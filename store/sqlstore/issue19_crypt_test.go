package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

// Tests of encryption at rest (issue #19 item 2).

func newKey(t testing.TB) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func keyring(t testing.TB, current string, keys map[string][]byte) *sqlstore.Keyring {
	t.Helper()
	k, err := sqlstore.NewKeyring(current, keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// reopener opens the same database again with other options.
type reopener func(t *testing.T, opts ...sqlstore.Option) (*sqlstore.DB, error)

// cryptBackends runs fn on SQLite and PostgreSQL with a function that opens
// the test's database (the same every call).
func cryptBackends(t *testing.T, fn func(t *testing.T, open reopener)) {
	ctx := context.Background()
	track := func(t *testing.T, db *sqlstore.DB, err error) (*sqlstore.DB, error) {
		if err == nil {
			t.Cleanup(func() { db.Close() })
		}
		return db, err
	}
	t.Run("SQLite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "crypt.db")
		fn(t, func(t *testing.T, opts ...sqlstore.Option) (*sqlstore.DB, error) {
			db, err := sqlstore.Open(ctx, path, opts...)
			return track(t, db, err)
		})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		u := postgresSchemaURL(t)
		fn(t, func(t *testing.T, opts ...sqlstore.Option) (*sqlstore.DB, error) {
			db, err := sqlstore.OpenPostgres(ctx, u, opts...)
			return track(t, db, err)
		})
	})
}

func mustOpen(t *testing.T, open reopener, opts ...sqlstore.Option) *sqlstore.DB {
	t.Helper()
	db, err := open(t, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

var testDist = group.SenderKeyName{Sender: "alice", DeviceID: 1, DistributionID: "8c1e4c7a-5b0e-4c1d-9a6f-2b3c4d5e6f70"}

// populate writes every kind of private row: alice and bob with prekeys,
// a session each way and alice's sender key.
func populate(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	alice, err := newParty(ctx, db, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := newParty(ctx, db, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // spare prekeys, left unused
		if _, err := alice.bundleWithID(ctx, uint32(50+i)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := bob.bundleWithID(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, b); err != nil {
		t.Fatal(err)
	}
	exchange(t, db, 2)
	if _, err := group.NewCipher(alice.store).Encrypt(ctx, testDist, []byte("x")); !errors.Is(err, group.ErrNoSenderKey) {
		t.Fatalf("encrypt without chain: %v", err)
	}
	if _, err := group.NewCipher(alice.store).CreateDistributionMessage(ctx, testDist); err != nil {
		t.Fatal(err)
	}
}

// exchange sends n messages each way between alice and bob of db and
// checks they decrypt, then one group message of alice's.
func exchange(t *testing.T, db *sqlstore.DB, n int) {
	t.Helper()
	ctx := context.Background()
	var ps [2]*party
	for i, name := range []string{"alice", "bob"} {
		s, err := db.Account(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = &party{addr: session.Address{Name: name, DeviceID: 1}, store: s, cipher: session.NewCipher(s)}
	}
	for i := range 2 * n {
		from, to := ps[i%2], ps[1-i%2]
		text := fmt.Sprintf("m%d", i)
		typ, ct, err := from.cipher.Encrypt(ctx, to.addr, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := to.cipher.Decrypt(ctx, from.addr, typ, ct)
		if err != nil || string(pt) != text {
			t.Fatalf("%s→%s: %q, %v", from.addr.Name, to.addr.Name, pt, err)
		}
	}
	if rec, err := ps[0].store.LoadSenderKey(ctx, testDist); err != nil {
		t.Fatal(err)
	} else if rec != nil {
		if _, err := group.NewCipher(ps[0].store).Encrypt(ctx, testDist, []byte("g")); err != nil {
			t.Fatal(err)
		}
	}
}

// privateRows returns every stored row of private material.
func privateRows(t *testing.T, db *sqlstore.DB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, q := range []string{
		`SELECT 'account ' || account, identity_key_pair FROM interlock_accounts`,
		`SELECT 'prekey ' || account || ' ' || CAST(id AS TEXT), record FROM interlock_prekeys`,
		`SELECT 'signed ' || account || ' ' || CAST(id AS TEXT), record FROM interlock_signed_prekeys`,
		`SELECT 'kyber ' || account || ' ' || CAST(id AS TEXT), record FROM interlock_kyber_prekeys`,
		`SELECT 'session ' || account || ' ' || name || '.' || CAST(device_id AS TEXT), record FROM interlock_sessions`,
		`SELECT 'senderkey ' || account || ' ' || distribution_id, record FROM interlock_sender_keys`,
	} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var b []byte
			if err := rows.Scan(&k, &b); err != nil {
				t.Fatal(err)
			}
			out[k] = b
		}
		rows.Close()
	}
	return out
}

// sealedWith reports whether a stored row is sealed with key id.
func sealedWith(b []byte, id string) bool {
	p := append([]byte{0, 'I', 'K', 1, byte(len(id))}, id...)
	return bytes.HasPrefix(b, p)
}

// TestIssue19Item2EncryptedAtRest: every row of private material is sealed
// with the current key (none holds the plaintext), and reads back.
func TestIssue19Item2EncryptedAtRest(t *testing.T) {
	cryptBackends(t, func(t *testing.T, open reopener) {
		k1 := keyring(t, "k1", map[string][]byte{"k1": newKey(t)})
		db := mustOpen(t, open, sqlstore.WithKeyEncryption(k1))
		populate(t, db)
		rows := privateRows(t, db)
		kinds := map[string]bool{}
		for k, b := range rows {
			kinds[k[:bytes.IndexByte([]byte(k), ' ')]] = true
			if !sealedWith(b, "k1") {
				t.Errorf("%s is not sealed: %x", k, b[:min(8, len(b))])
			}
		}
		if len(kinds) != 6 {
			t.Fatalf("populate wrote %d kinds of private rows, want 6: %v", len(kinds), kinds)
		}
		exchange(t, db, 2)
	})
}

// TestIssue19Item2WrongOrMissingKey: a database sealed with one key opened
// with another key, without the key ID, or without encryption fails with a
// clear error — never garbage, and never a corrupt record that a new
// session would silently replace.
func TestIssue19Item2WrongOrMissingKey(t *testing.T) {
	ctx := context.Background()
	cryptBackends(t, func(t *testing.T, open reopener) {
		k1 := keyring(t, "k1", map[string][]byte{"k1": newKey(t)})
		db := mustOpen(t, open, sqlstore.WithKeyEncryption(k1))
		populate(t, db)
		db.Close()
		for _, c := range []struct {
			name string
			opts []sqlstore.Option
			want error
		}{
			{"wrong key", []sqlstore.Option{sqlstore.WithKeyEncryption(keyring(t, "k1", map[string][]byte{"k1": newKey(t)}))}, sqlstore.ErrRowAuthentication},
			{"unknown key ID", []sqlstore.Option{sqlstore.WithKeyEncryption(keyring(t, "k2", map[string][]byte{"k2": newKey(t)}))}, sqlstore.ErrKeyUnavailable},
			{"no encryption", nil, sqlstore.ErrKeyUnavailable},
		} {
			db := mustOpen(t, open, c.opts...)
			if _, err := db.Account(ctx, "alice"); !errors.Is(err, c.want) {
				t.Fatalf("%s: Account: %v, want %v", c.name, err, c.want)
			}
			db.Close()
		}
		// A tampered session row under the right key: an error naming the
		// authentication failure, not a corrupt record a new session would
		// replace.
		db = mustOpen(t, open, sqlstore.WithKeyEncryption(k1))
		bobAddr := session.Address{Name: "bob", DeviceID: 1}
		if _, err := db.SQL().ExecContext(ctx, q(db, `UPDATE interlock_sessions SET record = $1 WHERE account = 'alice' AND name = 'bob'`),
			flipLast(privateRows(t, db)["session alice bob.1"])); err != nil {
			t.Fatal(err)
		}
		alice, err := db.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		_, err = alice.LoadSession(ctx, bobAddr)
		if !errors.Is(err, sqlstore.ErrRowAuthentication) || errors.Is(err, session.ErrCorruptRecord) {
			t.Fatalf("LoadSession of a tampered row: %v", err)
		}
		if _, _, err := session.NewCipher(alice).Encrypt(ctx, bobAddr, []byte("x")); !errors.Is(err, sqlstore.ErrRowAuthentication) {
			t.Fatalf("Encrypt over a tampered row: %v", err)
		}
	})
}

func flipLast(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b
}

// q rewrites $n placeholders for SQLite.
func q(db *sqlstore.DB, stmt string) string {
	if db.Dialect() == "sqlite" {
		return strings.ReplaceAll(stmt, "$", "?")
	}
	return stmt
}

// TestIssue19Item2SwappedRows: a sealed row copied over another row —
// another address, another prekey ID, another account — does not open.
func TestIssue19Item2SwappedRows(t *testing.T) {
	ctx := context.Background()
	cryptBackends(t, func(t *testing.T, open reopener) {
		db := mustOpen(t, open, sqlstore.WithKeyEncryption(keyring(t, "k1", map[string][]byte{"k1": newKey(t)})))
		populate(t, db)
		rows := privateRows(t, db)
		exec := func(stmt string, args ...any) {
			t.Helper()
			if _, err := db.SQL().ExecContext(ctx, q(db, stmt), args...); err != nil {
				t.Fatal(err)
			}
		}
		// bob's session with alice, into alice's session with bob.
		exec(`UPDATE interlock_sessions SET record = $1 WHERE account = 'alice' AND name = 'bob'`, rows["session bob alice.1"])
		// alice's one-time prekey 50, into 51.
		exec(`UPDATE interlock_prekeys SET record = $1 WHERE account = 'alice' AND id = 51`, rows["prekey alice 50"])
		// alice's identity key pair, into bob's account.
		exec(`UPDATE interlock_accounts SET identity_key_pair = $1 WHERE account = 'bob'`, rows["account alice"])
		if _, err := db.Account(ctx, "bob"); !errors.Is(err, sqlstore.ErrRowAuthentication) {
			t.Fatalf("bob's account with alice's key pair row: %v", err)
		}
		alice, err := db.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.LoadSession(ctx, session.Address{Name: "bob", DeviceID: 1}); !errors.Is(err, sqlstore.ErrRowAuthentication) {
			t.Fatalf("a session row from another account: %v", err)
		}
		if _, err := alice.LoadPreKey(ctx, 51); !errors.Is(err, sqlstore.ErrRowAuthentication) {
			t.Fatalf("a prekey row under another ID: %v", err)
		}
		if _, err := alice.LoadPreKey(ctx, 50); err != nil {
			t.Fatalf("the untouched prekey: %v", err)
		}
	})
}

// cancelAfter is a KeyEncrypter that cancels a context after n Encrypts:
// a rotation interrupted part way.
type cancelAfter struct {
	sqlstore.KeyEncrypter
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Encrypt(ctx context.Context, id string, pt, ad []byte) ([]byte, error) {
	if c.n.Add(-1) == 0 {
		c.cancel()
	}
	return c.KeyEncrypter.Encrypt(ctx, id, pt, ad)
}

// TestIssue19Item2RotationInterruptedAndResumed: RotateKeys from k1 to k2
// is interrupted after a few rows; meanwhile both keys are read (and the
// conversation goes on); called again it finishes; then k1 can go.
func TestIssue19Item2RotationInterruptedAndResumed(t *testing.T) {
	cryptBackends(t, func(t *testing.T, open reopener) {
		k1, k2 := newKey(t), newKey(t)
		db := mustOpen(t, open, sqlstore.WithKeyEncryption(keyring(t, "k1", map[string][]byte{"k1": k1})))
		populate(t, db)
		db.Close()

		ctx, cancel := context.WithCancel(context.Background())
		both := &cancelAfter{KeyEncrypter: keyring(t, "k2", map[string][]byte{"k1": k1, "k2": k2}), cancel: cancel}
		both.n.Store(4)
		db = mustOpen(t, open, sqlstore.WithKeyEncryption(both))
		alice, err := db.Account(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		n, err := alice.RotateKeys(ctx, 2)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted rotation: %d rows, %v", n, err)
		}
		var old, fresh int
		for k, b := range privateRows(t, db) {
			if !strings.Contains(k, "alice") {
				continue
			}
			switch {
			case sealedWith(b, "k1"):
				old++
			case sealedWith(b, "k2"):
				fresh++
			}
		}
		if old == 0 || fresh == 0 {
			t.Fatalf("after the interruption: %d rows under k1, %d under k2; want some of each", old, fresh)
		}
		exchange(t, db, 1) // both keys read meanwhile; writes go under k2
		for _, name := range []string{"alice", "bob"} {
			s, err := db.Account(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RotateKeys(context.Background(), 2); err != nil {
				t.Fatalf("resumed rotation of %s: %v", name, err)
			}
		}
		for k, b := range privateRows(t, db) {
			if !sealedWith(b, "k2") {
				t.Errorf("%s not under k2 after the rotation", k)
			}
		}
		db.Close()
		db = mustOpen(t, open, sqlstore.WithKeyEncryption(keyring(t, "k2", map[string][]byte{"k2": k2})), sqlstore.RequireKeyEncryption())
		exchange(t, db, 2)
	})
}

// TestIssue19Item2PlaintextMigration: a database written without
// encryption is read once WithKeyEncryption is given (new writes sealed),
// RotateKeys seals the rest, and RequireKeyEncryption then refuses a
// plaintext row (one planted by someone who can write to the database).
func TestIssue19Item2PlaintextMigration(t *testing.T) {
	ctx := context.Background()
	cryptBackends(t, func(t *testing.T, open reopener) {
		db := mustOpen(t, open)
		populate(t, db)
		plain := privateRows(t, db)
		db.Close()

		k := keyring(t, "k1", map[string][]byte{"k1": newKey(t)})
		if db, err := open(t, sqlstore.WithKeyEncryption(k), sqlstore.RequireKeyEncryption()); err == nil {
			if _, err := db.Account(ctx, "alice"); !errors.Is(err, sqlstore.ErrPlaintextRow) {
				t.Fatalf("RequireKeyEncryption over plaintext rows: %v", err)
			}
			db.Close()
		}
		db = mustOpen(t, open, sqlstore.WithKeyEncryption(k))
		exchange(t, db, 1)
		for _, name := range []string{"alice", "bob"} {
			s, err := db.Account(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RotateKeys(ctx, 3); err != nil {
				t.Fatal(err)
			}
		}
		for k, b := range privateRows(t, db) {
			if !sealedWith(b, "k1") {
				t.Errorf("%s not sealed after the migration", k)
			}
		}
		db.Close()
		db = mustOpen(t, open, sqlstore.WithKeyEncryption(k), sqlstore.RequireKeyEncryption())
		exchange(t, db, 1)
		// A plaintext row planted later is refused.
		if _, err := db.SQL().ExecContext(ctx, q(db, `UPDATE interlock_prekeys SET record = $1 WHERE account = 'alice' AND id = 50`), plain["prekey alice 50"]); err != nil {
			t.Fatal(err)
		}
		alice, err := db.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.LoadPreKey(ctx, 50); !errors.Is(err, sqlstore.ErrPlaintextRow) {
			t.Fatalf("a planted plaintext prekey: %v", err)
		}
	})
}

// TestIssue19Item2ConformanceEncrypted: the store conformance suite with
// every private row sealed.
func TestIssue19Item2ConformanceEncrypted(t *testing.T) {
	k := keyring(t, "k1", map[string][]byte{"k1": newKey(t)})
	backends(t, func(t *testing.T, db *sqlstore.DB) { storetest.Run(t, opener(db)) }, sqlstore.WithKeyEncryption(k))
}
