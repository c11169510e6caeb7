// Package driver is where the database engines register with sqlstore, so
// that an application links only the engines it imports (issue #16 item 9):
// store/sqlstore/sqlite links modernc.org/sqlite, store/sqlstore/postgres
// links github.com/jackc/pgx/v5, and store/sqlstore itself neither.
package driver
