package bench

// The benchmarks open SQLite databases through sqlstore.Open (issue #16
// item 9: the engine is linked by importing its driver package).
import _ "github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
