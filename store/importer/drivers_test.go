package importer_test

// sqlstore links the engines its driver packages name (issue #16 item 9).
import (
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/postgres"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
)
