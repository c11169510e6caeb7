package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/interlock-e2ee/interlock/store/sqlstore/postgres" // the "pgx" database/sql driver

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// pgStore copies a MemoryStore's sessions and identities into a new schema
// of the PostgreSQL server INTERLOCK_POSTGRES_URL names (dropped at the
// end), as ilSQLite does for SQLite; without the variable the benchmark is
// skipped (start one with scripts/start-postgres.sh).
func pgStore(b *testing.B, mem *session.MemoryStore, rs []session.Recipient, opts ...sqlstore.Option) *sqlstore.Store {
	base := os.Getenv("INTERLOCK_POSTGRES_URL")
	if base == "" {
		b.Skip("INTERLOCK_POSTGRES_URL is not set: export INTERLOCK_POSTGRES_URL=$(scripts/start-postgres.sh)")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { admin.Close() })
	var r [8]byte
	rand.Read(r[:])
	schema := "interlock_bench_" + hex.EncodeToString(r[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sqlstore.OpenPostgres(ctx, u.String(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return fillStore(b, db, mem, rs)
}

// BenchmarkFanoutPostgres: the warm fan-out of BenchmarkFanout (3,000
// devices, one op is the whole fan-out) on PostgreSQL, with and without the
// session cache, and one 1:1 Encrypt with its persistence (the per-message
// cost), as the SQLite rows of BenchmarkFanout.
func BenchmarkFanoutPostgres(b *testing.B) {
	ctx := context.Background()
	n := fanoutDevices
	for _, cached := range []bool{false, true} {
		name := "warm-3000/interlock-postgres"
		var opts []sqlstore.Option
		if cached {
			name += "-cache"
			opts = append(opts, sqlstore.WithSessionCache(2*n))
		}
		b.Run(name, func(b *testing.B) {
			mem, rs := ilWarm(b, n)
			c := session.NewCipher(pgStore(b, mem, rs, opts...), session.WithPolicy(session.AllowX3DH))
			if cached {
				if _, err := c.EncryptMany(ctx, rs, fanoutPlaintext); err != nil {
					b.Fatal(err)
				}
			}
			encryptManyLoop(b, c, rs)
		})
	}
	b.Run("single-1to1/interlock-postgres", func(b *testing.B) {
		mem, rs := ilWarm(b, 1)
		encryptLoop(b, session.NewCipher(pgStore(b, mem, rs), session.WithPolicy(session.AllowX3DH)), rs[0].Address)
	})
}
