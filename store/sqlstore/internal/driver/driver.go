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
