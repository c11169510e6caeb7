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
