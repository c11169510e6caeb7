package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

func TestConformance(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) { storetest.Run(t, opener(db)) })
}

func TestAccounts(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		if _, err := db.Account(ctx, "alice"); !errors.Is(err, sqlstore.ErrNoAccount) {
			t.Fatalf("Account(unknown) error = %v, want ErrNoAccount", err)
		}
		if _, err := db.CreateAccount(ctx, "alice", id, 0xFFFFFFFF); err != nil {
			t.Fatal(err)
		}
		other, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		if _, err := db.CreateAccount(ctx, "alice", other, 1); !errors.Is(err, sqlstore.ErrAccountExists) {
			t.Fatalf("second CreateAccount error = %v, want ErrAccountExists", err)
		}
		if _, err := db.CreateAccount(ctx, "", other, 1); err == nil {
			t.Error("CreateAccount accepted an empty name")
		}
		s, err := db.Account(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.IdentityKeyPair(ctx)
		reg, _ := s.LocalRegistrationID(ctx)
		if !got.PublicKey().Equal(id.PublicKey()) || reg != 0xFFFFFFFF || s.Account() != "alice" {
			t.Errorf("Account returned identity %v, registration %d", got.PublicKey(), reg)
		}
		if _, err := db.CreateAccount(ctx, "bob", other, 2); err != nil {
			t.Fatal(err)
		}
		names, err := db.Accounts(ctx)
		if err != nil || !slices.Equal(names, []string{"alice", "bob"}) {
			t.Errorf("Accounts = %v, %v", names, err)
		}

		// Deleting an account deletes everything it holds.
		addr := session.Address{Name: "carol", DeviceID: 1}
		k, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		if _, err := s.SaveIdentity(ctx, addr, k.PublicKey()); err != nil {
			t.Fatal(err)
		}
		pks, _ := prekey.GeneratePreKeys(rand.Reader, 1, 3)
		for i := range pks {
			if err := s.StorePreKey(ctx, &pks[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteAccount(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAccount(ctx, "alice"); !errors.Is(err, sqlstore.ErrNoAccount) {
			t.Errorf("second DeleteAccount error = %v, want ErrNoAccount", err)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM interlock_prekeys) + (SELECT COUNT(*) FROM interlock_identities)`).Scan(&n); err != nil || n != 0 {
			t.Errorf("rows left after DeleteAccount: %d (%v)", n, err)
		}
		// Writing to a deleted account fails (foreign key).
		if err := s.StorePreKey(ctx, &pks[0]); err == nil {
			t.Error("StorePreKey succeeded for a deleted account")
		}
	})
}

func TestPreKeyIDs(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := newAccount(t, db, "a", "alice")
		s := a.Store.(*sqlstore.Store)
		for range 3 {
			a.Bundle(t, true, true)
		}
		spk, _ := prekey.GenerateSignedPreKey(rand.Reader, a.Identity, 0xFFFFFFFF, time.Now())
		if err := s.StoreSignedPreKey(ctx, &spk); err != nil {
			t.Fatal(err)
		}
		if err := s.RemovePreKey(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveKyberPreKey(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveSignedPreKey(ctx, 1); err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			list func(context.Context) ([]uint32, error)
			want []uint32
		}{
			"PreKeyIDs":       {s.PreKeyIDs, []uint32{1, 3}},
			"SignedPreKeyIDs": {s.SignedPreKeyIDs, []uint32{2, 3, 0xFFFFFFFF}},
			"KyberPreKeyIDs":  {s.KyberPreKeyIDs, []uint32{1, 2}},
		} {
			if got, err := tc.list(ctx); err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("%s = %v, %v; want %v", name, got, err, tc.want)
			}
		}
	})
}

// TestReopen: everything survives closing and reopening the database.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/reopen.db"
	db, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	alice := newAccount(t, db, "alice", "alice")
	bob := newAccount(t, db, "bob", "bob")
	storetest.Converse(t, alice, bob, session.RequirePQXDH, true)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as, err := db.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := db.Account(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	ac, bc := session.NewCipher(as), session.NewCipher(bs)
	for i := range 4 {
		from, to, toAddr, fromAddr := ac, bc, bob.Addr, alice.Addr
		if i%2 == 1 {
			from, to, toAddr, fromAddr = bc, ac, alice.Addr, bob.Addr
		}
		typ, ct, err := from.Encrypt(ctx, toAddr, []byte("after reopen"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := to.Decrypt(ctx, fromAddr, typ, ct); err != nil || string(pt) != "after reopen" {
			t.Fatalf("Decrypt after reopen = %q, %v", pt, err)
		}
	}
}

func TestMigrations(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var v int
		if err := db.SQL().QueryRowContext(ctx, `SELECT MAX(version) FROM interlock_schema_version`).Scan(&v); err != nil || v != sqlstore.SchemaVersion {
			t.Fatalf("schema version %d (%v), want %d", v, err, sqlstore.SchemaVersion)
		}
	})
	t.Run("SQLite/TooNew", func(t *testing.T) {
		ctx := context.Background()
		db, path := openSQLite(t)
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO interlock_schema_version (version, applied_at) VALUES (999, 'future')`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := sqlstore.Open(ctx, path); !errors.Is(err, sqlstore.ErrSchemaTooNew) {
			t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
		}
	})
	t.Run("SQLite/ConcurrentOpen", func(t *testing.T) {
		ctx := context.Background()
		path := t.TempDir() + "/concurrent.db"
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				db, err := sqlstore.Open(ctx, path)
				if err == nil {
					err = db.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM interlock_schema_version`).Scan(&n); err != nil || n != sqlstore.SchemaVersion {
			t.Errorf("%d schema_version rows (%v), want one per migration", n, err)
		}
	})
	t.Run("SQLite/BadPath", func(t *testing.T) {
		if _, err := sqlstore.Open(context.Background(), "x.db?_pragma=foo"); err == nil {
			t.Error("Open accepted a path with a query")
		}
	})
}

// TestSenderKeys: group.SenderKeyStore round trips, isolation, and a group
// conversation through group.Cipher.
func TestSenderKeys(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := newAccount(t, db, "a", "alice").Store.(*sqlstore.Store)
		b := newAccount(t, db, "b", "bob").Store.(*sqlstore.Store)
		me := group.SenderKeyName{Sender: "alice", DeviceID: 1, DistributionID: "d1b1c3a0-5e0f-4a8e-9d2b-6a7c8e9f0a1b"}
		if r, err := a.LoadSenderKey(ctx, me); err != nil || r != nil {
			t.Fatalf("LoadSenderKey(unknown) = %v, %v; want nil, nil", r, err)
		}
		alice, bob := group.NewCipher(a), group.NewCipher(b)
		skdm, err := alice.CreateDistributionMessage(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		r, err := a.LoadSenderKey(ctx, me)
		if err != nil || r == nil {
			t.Fatalf("LoadSenderKey after CreateDistributionMessage = %v, %v", r, err)
		}
		if other, err := b.LoadSenderKey(ctx, me); err != nil || other != nil {
			t.Errorf("another account sees the sender key (%v, %v)", other, err)
		}
		if other, err := a.LoadSenderKey(ctx, group.SenderKeyName{Sender: "alice", DeviceID: 2, DistributionID: me.DistributionID}); err != nil || other != nil {
			t.Errorf("another device sees the sender key (%v, %v)", other, err)
		}
		received, err := group.ParseSenderKeyDistributionMessage(skdm.Bytes(), group.LayoutSignal)
		if err != nil {
			t.Fatal(err)
		}
		from := group.SenderKeyName{Sender: "alice", DeviceID: 1}
		if err := bob.ProcessDistributionMessage(ctx, from, received); err != nil {
			t.Fatal(err)
		}
		var cts [][]byte
		for _, text := range []string{"one", "two", "three"} {
			ct, err := alice.Encrypt(ctx, me, []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			cts = append(cts, ct)
		}
		// Bob decrypts with a cipher over a freshly loaded store: state is
		// in the database, not in memory.
		b2, err := db.Account(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		bob = group.NewCipher(b2)
		for i, want := range []string{"three", "one", "two"} {
			ct := cts[[]int{2, 0, 1}[i]]
			pt, err := bob.Decrypt(ctx, from, ct)
			if err != nil || string(pt) != want {
				t.Fatalf("group Decrypt = %q, %v; want %q", pt, err, want)
			}
		}
		if _, err := bob.Decrypt(ctx, from, cts[0]); !errors.Is(err, group.ErrDuplicateMessage) {
			t.Errorf("replayed group message: %v, want ErrDuplicateMessage", err)
		}
	})
}
