package importer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// postgresSchemaURL returns a URL opening a schema of its own on the test
// server (INTERLOCK_POSTGRES_URL), dropped at the end of the test; without
// a server the test is skipped (failed under CI or
// INTERLOCK_REQUIRE_POSTGRES).
func postgresSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("INTERLOCK_POSTGRES_URL")
	if base == "" {
		msg := "INTERLOCK_POSTGRES_URL is not set: export INTERLOCK_POSTGRES_URL=$(scripts/start-postgres.sh)"
		if os.Getenv("CI") != "" || os.Getenv("INTERLOCK_REQUIRE_POSTGRES") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	schema := "interlock_import_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestIssue15ImportWhatsmeowPostgres: issue #15 item 2 on PostgreSQL, both
// as source (whatsmeow's tables) and destination.
func TestIssue15ImportWhatsmeowPostgres(t *testing.T) {
	ctx := context.Background()
	v := loadVector(t)
	src, err := sql.Open("pgx", postgresSchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fill(t, src, v)
	dst, err := sqlstore.OpenPostgres(ctx, postgresSchemaURL(t), sqlstore.WithIdentityScope(session.PerDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rep, err := importer.ImportWhatsmeow(ctx, src, importer.Postgres, dst, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := rep.Accounts[0]; a.Sessions != len(v.Sessions) || a.PreKeysNotUploaded != 1 {
		t.Fatalf("report %+v", a)
	}
	st, err := dst.Account(ctx, v.JID())
	if err != nil {
		t.Fatal(err)
	}
	cipher := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
	for _, p := range v.Pending {
		if p.Type == 0 {
			continue
		}
		if pt, err := cipher.Decrypt(ctx, session.Address{Name: p.From}, session.MessageType(p.Type), p.Ciphertext); err != nil || !bytes.Equal(pt, p.Plaintext) {
			t.Errorf("%q: %q, %v", p.Plaintext, pt, err)
		}
	}
}
