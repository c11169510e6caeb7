package sqlitedriver

import (
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/interlock-e2ee/interlock/store/sqlstore/internal/driver"
)

func init() { driver.SQLite = true }
