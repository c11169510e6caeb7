// Package sqlitedriver links the pure-Go SQLite engine (modernc.org/sqlite)
// into sqlstore. Import store/sqlstore/sqlite rather than this package.
package sqlitedriver
