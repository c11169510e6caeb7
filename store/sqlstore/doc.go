// Package sqlstore keeps Interlock's state in SQL: SQLite by default (a
// single file, pure Go through modernc.org/sqlite, no cgo) and PostgreSQL
// for servers (github.com/jackc/pgx/v5). One database holds any number of
// local accounts; each account's Store implements session.Store,
// session.Transactor and group.SenderKeyStore.
//
//	db, err := sqlstore.Open(ctx, "interlock.db") // or sqlstore.OpenPostgres(ctx, url)
//	alice, err := db.CreateAccount(ctx, "alice", identity, registrationID)
//	cipher := session.NewCipher(alice)
//	// later, in another process:
//	alice, err = db.Account(ctx, "alice") // ErrNoAccount if there is none
//
// Records are stored in libsignal's serialized forms (session.Record.Marshal,
// the prekey records' Marshal, group.Record.Marshal), one row per record,
// keyed by the account and the address, prekey ID or sender-key name. The
// schema is versioned: Open and OpenPostgres apply the missing migrations in
// one transaction (recorded in interlock_schema_version; concurrent openers
// are serialised) and refuse a database written by a newer version
// (ErrSchemaTooNew). Every table is prefixed interlock_, so the database can
// hold an application's own tables too.
//
// # Guarantees
//
// Atomicity. session.Cipher runs each operation — ProcessBundle, Encrypt,
// Decrypt — inside Store.Transact, one SQL transaction: loading the record,
// checking and saving the remote identity, consuming the one-time and Kyber
// prekeys and storing the new record commit together or not at all. A crash
// at any point (the tests kill a process hundreds of times with SIGKILL)
// leaves either the state before the operation or the state after it; once
// Decrypt has returned a plaintext, the message can never decrypt again and
// its one-time prekey is gone. Outside Transact each method is a transaction
// of its own.
//
// Durability. SQLite runs in WAL mode with synchronous=FULL and PostgreSQL
// with its defaults, so a committed operation survives a power failure.
// RelaxedDurability trades that for speed; read its warning first.
//
// Concurrency within one process. A DB and its Stores are safe for use by
// any number of goroutines. session.Cipher serialises operations on the same
// address with a per-address lock, so two goroutines never advance one
// session from the same state; operations on different addresses run
// concurrently. On SQLite, writes and transactions share a single
// connection — concurrent writers queue in database/sql rather than failing
// with SQLITE_BUSY — and every write transaction starts with BEGIN IMMEDIATE;
// reads outside transactions use a pool of read-only connections beside it.
// On PostgreSQL every transaction has its own connection from the pool.
//
// Concurrency across processes (or several Ciphers over one account). The
// per-address lock does not reach another process; the database does. On
// SQLite a write transaction holds the database's write lock from its first
// statement to its end, so transactions are serial: two processes running
// operations on the same address each see the other's committed state
// (waiting up to BusyTimeout for the lock). On PostgreSQL transactions run at
// READ COMMITTED, and inside Transact the rows a transaction reads that it may
// consume or advance — the session record, one-time and Kyber prekeys — are
// read with SELECT … FOR UPDATE: a second transaction on the same
// session waits for the first to commit and then works on its result, and a
// one-time prekey is consumed by exactly one of two processes racing for it
// (the other gets session.ErrInvalidPreKey). What is not covered: two
// processes creating the first record for one address at the same moment
// (there is no row to lock yet; the later commit wins, as it would in
// libsignal's own stores), and a group.Cipher, which does not use Transact
// (two processes sending with one sender key may reuse an iteration).
// Identities follow trust on first use exactly like session.MemoryStore;
// SaveIdentity is a single atomic statement for the first key and another for
// a replacement, so concurrent callers agree on which call replaced a key.
//
// Inside a Transact function use only the Store it is given: on SQLite the
// transaction holds the only write connection, so a write through any other
// Store of the same DB would wait forever. Transact on that Store runs the
// function in the same transaction (nesting never deadlocks).
//
// # Security considerations
//
// The database holds private keys (the identity key pair, prekeys, session
// and sender-key chain keys) unencrypted: protect the file or the database
// server as you would the keys themselves, and delete old backups. Account
// names and remote addresses are stored in the clear. SQL statements are
// fixed strings with bound parameters; no caller input reaches SQL text.
// Stored bytes that do not parse are reported as errors, never panics.
package sqlstore
