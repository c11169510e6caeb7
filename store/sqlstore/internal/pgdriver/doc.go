// Package pgdriver links the PostgreSQL driver (github.com/jackc/pgx/v5)
// into sqlstore. Import store/sqlstore/postgres rather than this package.
package pgdriver
