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
