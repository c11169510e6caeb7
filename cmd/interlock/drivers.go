package main

// The command opens SQLite databases and, for the demo, PostgreSQL ones:
// it links both engines (issue #16 item 9; a library user links only the
// one it imports).
import (
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/postgres"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
)
