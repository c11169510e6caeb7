// Package sqlitedriver links the pure-Go SQLite engine (modernc.org/sqlite)
// into sqlstore. Import store/sqlstore/sqlite rather than this package.
package sqlitedriver

import (
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/interlock-e2ee/interlock/store/sqlstore/internal/driver"
)

func init() { driver.SQLite = true }
