package sqlite_test

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
)

// A SQLite-only application imports this package, not the PostgreSQL one.
func Example() {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	st, err := db.CreateAccount(ctx, "alice", id, 1234)
	if err != nil {
		panic(err)
	}
	reg, _ := st.LocalRegistrationID(ctx)
	fmt.Println(db.Dialect(), st.Account(), reg)
	// Output: sqlite alice 1234
}
