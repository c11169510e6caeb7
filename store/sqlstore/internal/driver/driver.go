// Package driver is where the database engines register with sqlstore, so
// that an application links only the engines it imports (issue #16 item 9):
// store/sqlstore/sqlite links modernc.org/sqlite, store/sqlstore/postgres
// links github.com/jackc/pgx/v5, and store/sqlstore itself neither.
package driver

import "database/sql"

var (
	// SQLite is set once modernc.org/sqlite, which registers the
	// database/sql driver "sqlite", is linked (package sqlitedriver).
	SQLite bool
	// Postgres opens a PostgreSQL connection pool for a libpq URL or
	// key=value string; relaxed turns synchronous_commit off. Set by package
	// pgdriver; nil when pgx is not linked.
	Postgres func(url string, relaxed bool) (*sql.DB, error)
)
