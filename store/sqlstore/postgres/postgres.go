package postgres

import (
	"context"

	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/internal/pgdriver"
)

// Open connects to the PostgreSQL database at url (a libpq URL or key=value
// string) and applies the schema migrations: see sqlstore.OpenPostgres.
func Open(ctx context.Context, url string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	return sqlstore.OpenPostgres(ctx, url, opts...)
}
