package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// dialect isolates what differs between SQLite and PostgreSQL. Every
// statement is written once, in PostgreSQL's syntax with $n placeholders and
// the type names below; q rewrites it for the dialect.
type dialect struct {
	name string
	// placeholder is the prefix of numbered parameters: "$" or "?" (SQLite
	// reads ?NNN as parameter NNN).
	placeholder string
	// blob is the type of a byte string column.
	blob string
	// forUpdate is appended to a SELECT inside a transaction to lock the
	// rows it reads until commit ("" where the transaction already holds
	// the database's write lock).
	forUpdate string
	// lockMigrations serialises concurrent migrations inside their
	// transaction ("" for SQLite, where BEGIN IMMEDIATE does it).
	lockMigrations string
}

var (
	sqliteDialect = dialect{name: "sqlite", placeholder: "?", blob: "BLOB"}
	// 0x696e746c ("intl") keys the advisory lock that serialises migrations.
	postgresDialect = dialect{name: "postgres", placeholder: "$", blob: "BYTEA", forUpdate: " FOR UPDATE",
		lockMigrations: "SELECT pg_advisory_xact_lock(1768846444)"}
)

// q rewrites a statement for the dialect.
func (d dialect) q(stmt string) string {
	stmt = strings.ReplaceAll(stmt, "{BLOB}", d.blob)
	if d.placeholder != "$" {
		stmt = strings.ReplaceAll(stmt, "$", d.placeholder)
	}
	return stmt
}

// migration is one schema version: statements applied together in one
// transaction, {BLOB} standing for the dialect's byte string type.
type migration struct {
	version int
	stmts   []string
}

// migrations are applied in order on open; a version once released never
// changes: later changes are new versions.
var migrations = []migration{{
	version: 1,
	stmts: []string{
		`CREATE TABLE interlock_accounts (
			account TEXT NOT NULL PRIMARY KEY,
			identity_key_pair {BLOB} NOT NULL,
			registration_id BIGINT NOT NULL
		)`,
		`CREATE TABLE interlock_sessions (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			name TEXT NOT NULL,
			device_id BIGINT NOT NULL,
			record {BLOB} NOT NULL,
			PRIMARY KEY (account, name, device_id)
		)`,
		`CREATE TABLE interlock_identities (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			name TEXT NOT NULL,
			device_id BIGINT NOT NULL,
			identity_key {BLOB} NOT NULL,
			PRIMARY KEY (account, name, device_id)
		)`,
		`CREATE TABLE interlock_prekeys (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			id BIGINT NOT NULL,
			record {BLOB} NOT NULL,
			PRIMARY KEY (account, id)
		)`,
		`CREATE TABLE interlock_signed_prekeys (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			id BIGINT NOT NULL,
			record {BLOB} NOT NULL,
			PRIMARY KEY (account, id)
		)`,
		`CREATE TABLE interlock_kyber_prekeys (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			id BIGINT NOT NULL,
			last_resort BOOLEAN NOT NULL,
			record {BLOB} NOT NULL,
			PRIMARY KEY (account, id)
		)`,
		`CREATE TABLE interlock_sender_keys (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			sender TEXT NOT NULL,
			device_id BIGINT NOT NULL,
			distribution_id TEXT NOT NULL,
			record {BLOB} NOT NULL,
			PRIMARY KEY (account, sender, device_id, distribution_id)
		)`,
	},
}, {
	version: 2,
	stmts: []string{
		// Which devices hold which of our sender-key chains (fanout.DistributionStore).
		`CREATE TABLE interlock_sender_key_shared (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			distribution_id TEXT NOT NULL,
			chain_id BIGINT NOT NULL,
			name TEXT NOT NULL,
			device_id BIGINT NOT NULL,
			PRIMARY KEY (account, distribution_id, chain_id, name, device_id)
		)`,
	},
}, {
	version: 3,
	stmts: []string{
		// The base keys of the sessions accepted on each last-resort Kyber
		// prekey and signed prekey (session.KyberPreKeyStore's
		// MarkKyberPreKeyUsed, as libsignal's mark_kyber_pre_key_used):
		// a second message with the same triple is a replay (issue #20
		// item 2). Rows go when either prekey is removed or replaced.
		`CREATE TABLE interlock_kyber_base_keys_used (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			kyber_id BIGINT NOT NULL,
			signed_id BIGINT NOT NULL,
			base_key {BLOB} NOT NULL,
			PRIMARY KEY (account, kyber_id, signed_id, base_key)
		)`,
		`CREATE INDEX interlock_kyber_base_keys_used_signed ON interlock_kyber_base_keys_used (account, signed_id)`,
	},
}, {
	version: 4,
	stmts: []string{
		// The identity key pinned for each remote account (issue #20 item
		// 10): under session.PerAccount an account's devices share one key.
		// Seeded with the key of each account's lowest device, so a device
		// the server adds later with another key is refused rather than
		// trusted on first use.
		`CREATE TABLE interlock_account_identities (
			account TEXT NOT NULL REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			name TEXT NOT NULL,
			identity_key {BLOB} NOT NULL,
			PRIMARY KEY (account, name)
		)`,
		`INSERT INTO interlock_account_identities (account, name, identity_key)
			SELECT i.account, i.name, i.identity_key FROM interlock_identities i
			WHERE i.device_id = (SELECT MIN(j.device_id) FROM interlock_identities j WHERE j.account = i.account AND j.name = i.name)`,
		// The session each device held when it was sent our sender key
		// (fanout.DistributionStore, issue #20 item 8): NULL for rows written
		// before, which then match no session and are sent again.
		`ALTER TABLE interlock_sender_key_shared ADD COLUMN session_tag {BLOB}`,
	},
}, {
	version: 5,
	stmts: []string{
		// session.PreKeyManager (issue #16 item 4): which one-time and Kyber
		// prekeys the server has accepted (rows stored before count as not
		// uploaded: uploading them again is harmless), and the last ID
		// generated of each kind, so consumed IDs are not handed out again
		// before the 2^24 wrap.
		`ALTER TABLE interlock_prekeys ADD COLUMN uploaded BOOLEAN NOT NULL DEFAULT FALSE`,
		`ALTER TABLE interlock_kyber_prekeys ADD COLUMN uploaded BOOLEAN NOT NULL DEFAULT FALSE`,
		`CREATE TABLE interlock_prekey_ids (
			account TEXT NOT NULL PRIMARY KEY REFERENCES interlock_accounts (account) ON DELETE CASCADE,
			prekey_id BIGINT NOT NULL,
			signed_prekey_id BIGINT NOT NULL,
			kyber_prekey_id BIGINT NOT NULL
		)`,
	},
}}

// SchemaVersion is the schema version this package writes.
var SchemaVersion = migrations[len(migrations)-1].version

// migrate brings the schema up to SchemaVersion in one transaction.
// Concurrent openers of one database are serialised (SQLite's write lock,
// a PostgreSQL advisory lock), so each migration is applied exactly once.
func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: migrating: %w", err)
	}
	defer tx.Rollback()
	if db.d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, db.d.lockMigrations); err != nil {
			return fmt.Errorf("sqlstore: migrating: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS interlock_schema_version (
		version INTEGER NOT NULL PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlstore: migrating: %w", err)
	}
	var current sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM interlock_schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("sqlstore: migrating: %w", err)
	}
	if int(current.Int64) > SchemaVersion {
		return fmt.Errorf("%w: version %d, this package knows up to %d", ErrSchemaTooNew, current.Int64, SchemaVersion)
	}
	applied := false
	for _, m := range migrations {
		if m.version <= int(current.Int64) {
			continue
		}
		for _, s := range m.stmts {
			if _, err := tx.ExecContext(ctx, db.d.q(s)); err != nil {
				return fmt.Errorf("sqlstore: migration %d: %w", m.version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, db.d.q(`INSERT INTO interlock_schema_version (version, applied_at) VALUES ($1, $2)`),
			m.version, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("sqlstore: migration %d: %w", m.version, err)
		}
		applied = true
	}
	if !applied {
		return nil // the deferred rollback ends the read-only transaction
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migrating: %w", err)
	}
	return nil
}

// isNoRows reports whether err is sql.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
