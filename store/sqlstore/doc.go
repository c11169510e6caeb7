// Package sqlstore keeps Interlock's state in SQL: SQLite by default (a
// single file, pure Go through modernc.org/sqlite, no cgo) and PostgreSQL
// for servers (github.com/jackc/pgx/v5). One database holds any number of
// local accounts; each account's Store implements session.Store,
// session.Transactor, session.BatchSessionStore, session.BatchIdentityStore,
// group.SenderKeyStore and fanout.DistributionStore.
//
//	db, err := sqlite.Open(ctx, "interlock.db") // or postgres.Open(ctx, url)
//	alice, err := db.CreateAccount(ctx, "alice", identity, registrationID)
//	cipher := session.NewCipher(alice)
//	// later, in another process:
//	alice, err = db.Account(ctx, "alice") // ErrNoAccount if there is none
//
// The engines are linked by their driver packages, store/sqlstore/sqlite
// and store/sqlstore/postgres (whose Open functions are Open and
// OpenPostgres): an application links only those it imports, so a
// SQLite-only program carries no PostgreSQL driver and the reverse (issue
// #16 item 9). Open and OpenPostgres fail with ErrNoDriver when the engine
// is not linked. The session.PreKeyManager and session.SessionLister
// interfaces are implemented too (schema version 5).
//
// Records are stored in libsignal's serialized forms (session.Record.Marshal,
// the prekey records' Marshal, group.Record.Marshal), one row per record,
// keyed by the account and the address, prekey ID or sender-key name. The
// schema is versioned: Open and OpenPostgres apply the missing migrations in
// one transaction (recorded in interlock_schema_version; concurrent openers
// are serialised) and refuse a database written by a newer version
// (ErrSchemaTooNew). Migration 1 creates interlock_accounts,
// interlock_sessions, interlock_identities, interlock_prekeys,
// interlock_signed_prekeys, interlock_kyber_prekeys and
// interlock_sender_keys; migration 2 adds interlock_sender_key_shared, one
// row per device that holds one of our sender-key chains (account,
// distribution ID, chain ID, device address: fanout.DistributionStore's
// SharedWith, MarkShared and ForgetShared); migration 3 adds
// interlock_kyber_base_keys_used, one row per session accepted on a
// last-resort Kyber prekey (account, Kyber prekey ID, signed prekey ID,
// base key: session.KyberPreKeyStore's MarkKyberPreKeyUsed, which refuses
// a row that exists — a replayed PreKeySignalMessage). Its rows are deleted
// with the Kyber prekey or the signed prekey they name (RemoveKyberPreKey,
// RemoveSignedPreKey) and when StoreKyberPreKey or StoreSignedPreKey
// replaces that prekey by another key (storing the same key again keeps
// them): a message naming a prekey that is gone or changed cannot decrypt,
// so its row has no purpose. Until then the table grows by one row per
// session started on the last-resort key: rotate last-resort Kyber prekeys
// and signed prekeys as Signal does (every few days to weeks) and remove
// the old ones once no message in flight can name them. Migration 4 (issue
// #20 items 10 and 8) adds interlock_account_identities, the identity key
// pinned for each remote account (session.PerAccount), seeded with the key
// of each account's lowest device, and a session_tag column to
// interlock_sender_key_shared: the session each device got our chain over
// (rows from before have none, so the chain is sent to them once more).
// Every table is prefixed
// interlock_, so the database can hold an application's own tables too.
//
// Batches. LoadSessions and AreTrustedIdentities read up to 5,000 addresses
// in one SELECT; StoreSessions writes in prepared statements of 256 rows,
// all in the caller's transaction, while other goroutines serialize the
// records (session.Cipher.EncryptMany uses them).
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
// (the other gets session.ErrInvalidPreKey); with WithSessionCache, see
// below. A row that does not exist yet cannot be locked with FOR UPDATE, so
// inside a transaction a Store first takes a transaction-scoped advisory
// lock (pg_advisory_xact_lock) keyed by the account, the table and the row
// (a session's address, a sender key's name): two processes creating the
// first record for one address are serialised like any other update
// (issue #19 item 1). Batches take their locks in ascending key order in
// one statement. group.Cipher runs every operation in one transaction
// through TransactSenderKeys (group.SenderKeyTransactor).
//
// Operations across processes (issue #19), what serialises them and what a
// concurrent caller sees:
//
//	operation                        serialised by (PostgreSQL; SQLite: BEGIN IMMEDIATE, all)  a concurrent caller
//	session creation (ProcessBundle,  advisory lock on (account, address), then the row        waits, then archives the first
//	  first PreKeySignalMessage)        FOR UPDATE                                               session under its own: none lost
//	Encrypt, Decrypt (1:1)           advisory lock + row FOR UPDATE; Decrypt of a SignalMessage waits, then steps the chain from
//	                                   trials on a snapshot and re-checks the row's version    the committed state: no key reused
//	EncryptMany                      advisory locks of all addresses, ascending, one statement same, per address; no deadlock
//	group Encrypt / Decrypt,         advisory lock on (account, sender-key name) + row         waits; next iteration: no
//	  chain creation, distribution     (TransactSenderKeys)                                      iteration used twice, one chain
//	sender-key rotation (fanout)     the same lock, per step (empty record, new chain)         sees the old chain or the new one
//	one-time / Kyber prekey use      the prekey row FOR UPDATE, deleted in the transaction    exactly one succeeds; the other
//	                                                                                             gets session.ErrInvalidPreKey
//	last-resort Kyber base key       primary key of interlock_kyber_base_keys_used            the second: ErrReusedBaseKey
//	identity save / replacement      one atomic INSERT … ON CONFLICT DO NOTHING, then one     agrees on which call replaced
//	                                   conditional UPDATE, in the caller's transaction          the key (one IdentityChange)
//	fanout MarkShared / ForgetShared one upsert / delete statement (a transaction per batch)  last write wins per device
//	RotateKeys                       rows FOR UPDATE SKIP LOCKED, replaced only if unchanged  never waits for the application;
//	                                                                                             skipped rows are retried
//
// PostgreSQL detects a deadlock (it cannot arise between the Cipher's own
// operations, which take their locks in one order) and fails one
// transaction; nothing is committed and the call can be retried.
// Identities follow trust on first use exactly like session.MemoryStore,
// pinned per account (session.PerAccount, the default: a device of a known
// account with another key is untrusted) or per device
// (WithIdentityScope(session.PerDevice), the whatsapp flavour: a new device
// of a known account is untrusted until the application saves its key after
// verifying it); Store.WithOwnName pins the local account's own devices.
// The Store is a session.DeviceIdentityStore: SaveDeviceIdentity reports a
// new account, a new device or a replaced key. Each row is written by a
// single atomic statement for the first key and another for a replacement,
// in one transaction, so concurrent callers agree on which call replaced a
// key.
//
// Inside a Transact function use only the Store it is given: on SQLite the
// transaction holds the only write connection, so a write through any other
// Store of the same DB would wait forever. Transact on that Store runs the
// function in the same transaction (nesting never deadlocks).
//
// # Session cache
//
// WithSessionCache (off by default) keeps parsed session records and remote
// identities in memory, up to a number of entries of each, least recently
// used out first, shared by all Stores of the DB and keyed by account and
// address. It also remembers that a row does not exist. A load it can
// answer costs no SELECT and no parsing: it returns a copy of the cached
// record (session.Record.Clone), so callers still own what they load. It is
// a write-through cache: every write goes to the database first, with the
// same transactions and durability as without it; the cache takes the new
// value only after the transaction (or the single statement) has committed.
// A transaction that rolls back leaves the cache as it was; a statement that
// failed, a commit that returned an error, or two transactions writing one
// row at the same time make the cache forget the row, so the next load
// reads the database. While a transaction that wrote a row is open, loads
// of that row go to the database (the transaction itself sees its own
// writes). DeleteAccount forgets the account's entries.
//
// The cache is correct only while this DB is the only writer of the
// sessions and identities of the accounts it serves. It does not see a
// write made by another process, by another DB opened on the same database
// (also in the same process), or through DB.SQL(): a row it holds keeps
// the value it last saw. Should that happen, this process encrypts from a
// session state another writer has already advanced — it reuses message
// keys already used for other messages (the peer rejects the duplicates or,
// worse, two plaintexts are encrypted under one key) and its next store
// overwrites the other writer's state — and it may trust an identity that
// another writer has replaced or removed. So on SQLite, use it when one
// process owns the database file; on PostgreSQL, when one process owns the
// account (several processes may share the database if each writes only
// its own accounts). Other processes may read at any time: they see
// exactly what is committed. On PostgreSQL a load the cache answers inside
// Transact takes no row lock (the SELECT … FOR UPDATE that serialises
// transactions of several processes on one session is skipped), so within
// the process operations on one address must be serialised by the caller:
// use one session.Cipher per account, whose per-address lock does it (on
// SQLite, transactions are serial anyway). Turning the cache off is always
// safe.
//
// # Security considerations
//
// Without WithKeyEncryption the database holds private keys (the identity
// key pair, prekeys, session and sender-key chain keys) unencrypted:
// protect the file or the database server as you would the keys
// themselves, and delete old backups. With it (issue #19 item 2; off by
// default, recommended on servers, where the database, its replicas and
// backups leave the application's hands) each of those rows is sealed by
// the application's KeyEncrypter — NewKeyring's AES-256-GCM with a random
// nonce, or a KMS — with the row's identity (table, account, address,
// prekey ID or sender-key name) as associated data, so a row copied over
// another does not open; each row records its key ID. A row under a key
// that is missing or wrong is an error (ErrKeyUnavailable,
// ErrRowAuthentication), never garbage and never a corrupt record that a
// new session could replace. Store.RotateKeys re-encrypts online, in
// batches, resumably, and seals plaintext rows written before encryption
// was enabled; RequireKeyEncryption then refuses plaintext rows. What stays
// in the clear: account names, remote addresses, remote identity public
// keys, the sender-key distribution table and the last-resort base keys.
// Encryption at rest does not protect against an attacker who can run code
// in the application (it holds the key) and does not hide which rows
// change when. Account
// names and remote addresses are stored in the clear. SQL statements are
// fixed strings with bound parameters; no caller input reaches SQL text.
// Stored bytes that do not parse are reported as errors, never panics; a
// session row that does not parse is a *session.CorruptRecordError naming
// its address (per address from LoadSessions, which still returns the
// healthy rows), is never cached, and is replaced by the next new session
// or removed by DeleteSession (issue #20 item 17).
//
// A Store is a session.SessionVersioner (issue #20 item 5): session.Cipher
// decrypts a SignalMessage from a snapshot read outside any transaction (on
// SQLite through the read connections) and opens the write transaction only
// for a message that authenticated, so a forged message, whatever its cost,
// never holds SQLite's single write lock and never delays another account's
// writes. The version is the stored record's bytes (for a record the session
// cache answers, the cache entry's generation); inside the transaction the
// row is read again (SELECT … FOR UPDATE on PostgreSQL) and the new record
// is written only if it is unchanged.
package sqlstore
