package postgres_test

import (
	"context"
	"crypto/rand"
	"os"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/store/sqlstore/postgres"
)

// A PostgreSQL-only application imports this package, not the SQLite one.
func Example() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, os.Getenv("INTERLOCK_POSTGRES_URL"))
	if err != nil {
		return // no server here
	}
	defer db.Close()
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	_, _ = db.CreateAccount(ctx, "example-"+id.PublicKey().String(), id, 1234)
}
