package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

// postgresURL returns the test server's URL, skipping the test when there is
// none (failing instead under CI or INTERLOCK_REQUIRE_POSTGRES).
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("INTERLOCK_POSTGRES_URL")
	if u != "" {
		return u
	}
	msg := "INTERLOCK_POSTGRES_URL is not set: start a server with `export INTERLOCK_POSTGRES_URL=$(scripts/start-postgres.sh)` (make unit does)"
	if os.Getenv("CI") != "" || os.Getenv("INTERLOCK_REQUIRE_POSTGRES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func randomName(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// openPostgres opens the test server in a schema of its own, dropped at the
// end of the test: tests see an empty database and never each other's.
func openPostgres(t testing.TB, opts ...sqlstore.Option) *sqlstore.DB {
	t.Helper()
	u := postgresSchemaURL(t)
	db, err := sqlstore.OpenPostgres(context.Background(), u, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresSchemaURL creates a schema of its own on the test server, dropped
// at the end of the test, and returns the URL that opens it.
func postgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := postgresURL(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := randomName("interlock_test_")
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating a test schema in %s: %v", base, err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping test schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openSQLite(t testing.TB, opts ...sqlstore.Option) (*sqlstore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "interlock.db")
	db, err := sqlstore.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// opener makes each store a new account of db.
func opener(db *sqlstore.DB) storetest.Opener {
	return func(t *testing.T, id prekey.IdentityKeyPair, reg uint32) session.Store {
		t.Helper()
		s, err := db.CreateAccount(context.Background(), randomName("account-"), id, reg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// newAccount creates an account with a fresh identity in db.
func newAccount(t testing.TB, db *sqlstore.DB, account, addrName string) *storetest.Account {
	t.Helper()
	a := storetest.NewAccount(t, addrName, func(id prekey.IdentityKeyPair, reg uint32) session.Store {
		s, err := db.CreateAccount(context.Background(), account, id, reg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	return a
}

// backends runs fn once per SQL backend.
func backends(t *testing.T, fn func(t *testing.T, db *sqlstore.DB), opts ...sqlstore.Option) {
	t.Run("SQLite", func(t *testing.T) {
		db, _ := openSQLite(t, opts...)
		fn(t, db)
	})
	t.Run("PostgreSQL", func(t *testing.T) { fn(t, openPostgres(t, opts...)) })
}
