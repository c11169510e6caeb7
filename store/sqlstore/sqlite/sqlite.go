package sqlite

import (
	"context"

	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/internal/sqlitedriver"
)

// Open opens (creating it if needed) the SQLite database at path: see
// sqlstore.Open.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	return sqlstore.Open(ctx, path, opts...)
}
