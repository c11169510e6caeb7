// Package sqlite links the pure-Go SQLite engine (modernc.org/sqlite, no
// cgo) into sqlstore and opens SQLite databases. An application that uses
// only SQLite imports this package and not store/sqlstore/postgres, so it
// does not link the PostgreSQL driver (issue #16 item 9).
//
//	db, err := sqlite.Open(ctx, "interlock.db")
//	st, err := db.CreateAccount(ctx, "me", identity, registrationID)
//
// Importing it for its side effect (import _ ".../store/sqlstore/sqlite")
// also makes sqlstore.Open work.
package sqlite

import (
	"context"

	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/internal/sqlitedriver"
)

// Open opens (creating it if needed) the SQLite database at path: see
// sqlstore.Open.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	return sqlstore.Open(ctx, path, opts...)
}
