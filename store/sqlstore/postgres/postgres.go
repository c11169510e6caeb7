// Package postgres links the PostgreSQL driver (github.com/jackc/pgx/v5)
// into sqlstore and opens PostgreSQL databases. An application that uses
// only PostgreSQL imports this package and not store/sqlstore/sqlite, so it
// does not link the SQLite engine (issue #16 item 9).
//
//	db, err := postgres.Open(ctx, "postgres://user@host/db")
//	st, err := db.CreateAccount(ctx, "me", identity, registrationID)
//
// Importing it for its side effect also makes sqlstore.OpenPostgres work.
package postgres

import (
	"context"

	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/internal/pgdriver"
)

// Open connects to the PostgreSQL database at url (a libpq URL or key=value
// string) and applies the schema migrations: see sqlstore.OpenPostgres.
func Open(ctx context.Context, url string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	return sqlstore.OpenPostgres(ctx, url, opts...)
}
