package sqlstore

// The tests of this package run on both engines. They link them through
// the internal packages: store/sqlstore/sqlite and store/sqlstore/postgres
// import this package, which its own tests cannot import back.
import (
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/internal/pgdriver"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/internal/sqlitedriver"
)
