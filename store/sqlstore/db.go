package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore/internal/driver"
)

// Errors; check them with errors.Is.
var (
	// ErrNoAccount: the database holds no account of that name.
	ErrNoAccount = errors.New("sqlstore: no such account")
	// ErrAccountExists: CreateAccount was called for a name already taken.
	ErrAccountExists = errors.New("sqlstore: account already exists")
	// ErrSchemaTooNew: the database was migrated by a newer version of this
	// package; it is left untouched.
	ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this package")
	// ErrNoDriver: the database engine is not linked into the program.
	// Import store/sqlstore/sqlite for Open, store/sqlstore/postgres for
	// OpenPostgres (issue #16 item 9: an application links only the
	// engines it imports).
	ErrNoDriver = errors.New("sqlstore: database engine not linked")
)

// BusyTimeout is how long an SQLite connection waits for another process's
// write lock before failing with SQLITE_BUSY (milliseconds).
const BusyTimeout = 30000

// DB is one SQLite or PostgreSQL database holding any number of local
// accounts. It is safe for concurrent use; Close it when done.
type DB struct {
	d dialect
	// w runs transactions and writes. For SQLite it has exactly one
	// connection: writers queue inside database/sql instead of failing with
	// SQLITE_BUSY.
	w *sql.DB
	// r runs reads outside transactions: a pool of read-only connections for
	// SQLite (WAL lets them run beside the writer), w itself for PostgreSQL.
	r *sql.DB
	// cache is nil unless WithSessionCache turned it on.
	cache *cache
	// upsert is the prepared statement that stores upsertRows sessions,
	// prepared on open: on SQLite, preparing it later inside a transaction
	// would wait for the connection the transaction holds.
	upsert *sql.Stmt
	// scope is what remote identities are pinned to (WithIdentityScope).
	scope session.IdentityScope
	// crypt seals private material at rest (WithKeyEncryption).
	crypt crypt
}

// Option configures Open and OpenPostgres.
type Option func(*options)

type options struct {
	relaxed   bool
	cacheSize int
	scope     session.IdentityScope // WithIdentityScope (identity.go)
	// WithKeyEncryption, RequireKeyEncryption (crypt.go)
	kek           KeyEncrypter
	requireSealed bool
}

func (o *options) crypt() crypt { return crypt{kek: o.kek, require: o.requireSealed} }

func (o *options) newCache() *cache {
	if o.cacheSize <= 0 {
		return nil
	}
	return newCache(o.cacheSize)
}

// RelaxedDurability stops waiting for each commit to reach the disk: SQLite
// runs with synchronous=NORMAL, PostgreSQL sessions with
// synchronous_commit=off. A crash of the application still loses nothing
// that was committed and never corrupts the database, but a power failure or
// operating system crash may lose the last commits. Losing a commit rolls a
// session back, and the next Encrypt then reuses a message key already used
// for another message: use this option only where the machine's durability
// is not in question (tests, benchmarks, replicated storage).
func RelaxedDurability() Option { return func(o *options) { o.relaxed = true } }

// Open opens (creating it if needed) the SQLite database at path and applies
// the schema migrations. The database runs in WAL mode with foreign keys on,
// synchronous=FULL (a commit survives power loss; see RelaxedDurability) and
// a busy timeout of BusyTimeout; write transactions take the write lock when
// they begin (BEGIN IMMEDIATE).
//
// The SQLite engine is linked by importing store/sqlstore/sqlite (whose Open
// is this function); without it Open fails with ErrNoDriver.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	// modernc.org/sqlite imported directly registers "sqlite" as well.
	if !driver.SQLite && !slices.Contains(sql.Drivers(), "sqlite") {
		return nil, fmt.Errorf("%w: import github.com/interlock-e2ee/interlock/store/sqlstore/sqlite", ErrNoDriver)
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlstore: invalid SQLite path %q", path)
	}
	memory := path == ":memory:" || strings.HasPrefix(path, "file::memory:")
	// temp_store=MEMORY keeps SQLite's statement journals in memory: a
	// batch upsert of 256 sessions inside a transaction journals the pages
	// it changes so the statement alone can be undone, and past 64 KiB
	// that journal went to a temporary file, a write(2) per page (issue
	// #18: a fifth of a 3,000-device fan-out's store time). The journal
	// only ever undoes a failed statement inside a live transaction; what
	// survives a crash is decided by the WAL, as before.
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=temp_store(2)", BusyTimeout)
	sync := "FULL"
	if o.relaxed {
		sync = "NORMAL"
	}
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db := &DB{d: sqliteDialect, w: w, r: w, cache: o.newCache(), scope: o.scope, crypt: o.crypt()}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if !memory {
		r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		n := max(2, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		db.r = r
	}
	return db, nil
}

// OpenPostgres connects to the PostgreSQL database at url (a libpq URL or
// key=value string, as github.com/jackc/pgx/v5 accepts) and applies the
// schema migrations.
//
// The PostgreSQL driver is linked by importing store/sqlstore/postgres
// (whose Open is this function); without it OpenPostgres fails with
// ErrNoDriver.
func OpenPostgres(ctx context.Context, url string, opts ...Option) (*DB, error) {
	if driver.Postgres == nil {
		return nil, fmt.Errorf("%w: import github.com/interlock-e2ee/interlock/store/sqlstore/postgres", ErrNoDriver)
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	w, err := driver.Postgres(url, o.relaxed)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	w.SetMaxIdleConns(8)
	db := &DB{d: postgresDialect, w: w, r: w, cache: o.newCache(), scope: o.scope, crypt: o.crypt()}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: connecting to PostgreSQL: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		w.Close()
		return nil, err
	}
	return db, nil
}

// prepare prepares the statements the DB keeps.
func (db *DB) prepare(ctx context.Context) error {
	st, err := db.w.PrepareContext(ctx, db.d.upsertSessions(upsertRows))
	if err != nil {
		return fmt.Errorf("sqlstore: preparing statements: %w", err)
	}
	db.upsert = st
	return nil
}

// Close closes the database. Stores obtained from it stop working.
func (db *DB) Close() error {
	err := db.upsert.Close()
	err = errors.Join(err, db.w.Close())
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// SQL returns the underlying connection pool that runs writes and
// transactions, for applications that keep their own tables in the same
// database. On SQLite it has a single connection: do not hold it (a Tx, a
// Conn, unclosed Rows) while calling into a Store.
func (db *DB) SQL() *sql.DB { return db.w }

// CreateAccount adds a local account with its identity key pair and
// registration ID and returns its store. It fails with ErrAccountExists when
// the name is taken.
func (db *DB) CreateAccount(ctx context.Context, name string, identity prekey.IdentityKeyPair, registrationID uint32) (*Store, error) {
	if name == "" {
		return nil, errors.New("sqlstore: empty account name")
	}
	if identity.IsZero() {
		return nil, errors.New("sqlstore: zero identity key pair")
	}
	b, err := prekey.MarshalIdentityKeyPair(identity)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	if b, err = db.crypt.seal(ctx, name, accountRow, b); err != nil {
		return nil, err
	}
	res, err := db.w.ExecContext(ctx, db.d.q(`INSERT INTO interlock_accounts (account, identity_key_pair, registration_id)
		VALUES ($1, $2, $3) ON CONFLICT (account) DO NOTHING`), name, b, int64(registrationID))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: creating account %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	} else if n == 0 {
		return nil, fmt.Errorf("%w: %q", ErrAccountExists, name)
	}
	if db.cache != nil {
		db.cache.purge(name) // nothing should be cached for a new account
	}
	return &Store{db: db, account: name, identity: identity, regID: registrationID}, nil
}

// Account returns the store of an existing account; it fails with
// ErrNoAccount when there is none of that name.
func (db *DB) Account(ctx context.Context, name string) (*Store, error) {
	var b []byte
	var reg int64
	err := db.r.QueryRowContext(ctx, db.d.q(`SELECT identity_key_pair, registration_id FROM interlock_accounts WHERE account = $1`), name).Scan(&b, &reg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q", ErrNoAccount, name)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: loading account %q: %w", name, err)
	}
	if b, err = db.crypt.open(ctx, name, accountRow, b); err != nil {
		return nil, err
	}
	id, err := prekey.UnmarshalIdentityKeyPair(b)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: account %q: %w", name, err)
	}
	if reg < 0 || reg > 0xFFFFFFFF {
		return nil, fmt.Errorf("sqlstore: account %q: registration ID %d out of range", name, reg)
	}
	return &Store{db: db, account: name, identity: id, regID: uint32(reg)}, nil
}

// Accounts lists the account names in ascending order.
func (db *DB) Accounts(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT account FROM interlock_accounts ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return out, nil
}

// DeleteAccount removes an account and everything stored for it (sessions,
// identities, prekeys, sender keys). Deleting an unknown account fails with
// ErrNoAccount.
func (db *DB) DeleteAccount(ctx context.Context, name string) error {
	res, err := db.w.ExecContext(ctx, db.d.q(`DELETE FROM interlock_accounts WHERE account = $1`), name)
	if db.cache != nil {
		db.cache.purge(name) // also after an error: the delete may have committed
	}
	if err != nil {
		return fmt.Errorf("sqlstore: deleting account %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: %q", ErrNoAccount, name)
	}
	return nil
}

// Dialect names the database: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }
