package pgdriver

import (
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/interlock-e2ee/interlock/store/sqlstore/internal/driver"
)

func init() { driver.Postgres = open }

func open(url string, relaxed bool) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if relaxed {
		cfg.RuntimeParams["synchronous_commit"] = "off"
	}
	return stdlib.OpenDB(*cfg), nil
}
