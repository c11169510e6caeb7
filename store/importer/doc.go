// Package importer moves the Signal-protocol state of another library's
// store into Interlock's (store/sqlstore), so that an application switches
// without re-keying a single conversation (issue #15).
//
// ImportWhatsmeow reads whatsmeow's SQL schema (go.mau.fi/whatsmeow's
// store/sqlstore, SQLite or PostgreSQL) — the state of go.mau.fi/libsignal:
//
//	whatsmeow_device         one row per local device (JID): identity key pair
//	                         (32-byte private key), registration ID, the signed
//	                         prekey (private key, ID, signature)
//	whatsmeow_identity_keys  (our_jid, their_id) → 32-byte identity public key
//	whatsmeow_pre_keys       (jid, key_id) → 32-byte private key, uploaded flag
//	whatsmeow_sessions       (our_jid, their_id) → go.mau.fi session record
//	whatsmeow_sender_keys    (our_jid, chat_id, sender_id) → go.mau.fi
//	                         sender-key record
//
// Each whatsmeow device becomes one Interlock account (named by
// Options.AccountName, by default the device JID), created with the same
// identity key pair and registration ID. Records are read in every form
// go.mau.fi writes (session.UnmarshalRecord, group.UnmarshalRecord: JSON,
// skipped keys with keys instead of seeds, raw 32-byte keys) and stored in
// libsignal's form.
//
// ImportSignalmeow reads signalmeow's SQL schema (mautrix-signal's
// pkg/signalmeow/store, upgrades/00-latest.sql; SQLite or PostgreSQL) — the
// state of libsignal (0.90, 0.103: the Rust library through cgo), in
// libsignal's serialized forms:
//
//	signalmeow_device          one row per linked device (aci_uuid): the ACI
//	                           and PNI identity key pairs
//	                           (IdentityKeyPairStructure) and registration IDs
//	signalmeow_pre_keys        (account_id, service_id, key_id, is_signed) →
//	                           PreKeyRecord or SignedPreKeyRecord
//	signalmeow_kyber_pre_keys  (account_id, service_id, key_id) →
//	                           KyberPreKeyRecord, is_last_resort
//	signalmeow_identity_keys   (account_id, their_service_id) → 33-byte
//	                           identity key, trust_level
//	signalmeow_sessions        (account_id, service_id, their_service_id,
//	                           their_device_id) → SessionRecord (SPQR state
//	                           included)
//	signalmeow_sender_keys     (account_id, sender_uuid, sender_device_id,
//	                           distribution_id) → SenderKeyRecord
//
// Each signalmeow device becomes two Interlock accounts, one per local
// service ID, because libsignal keeps them apart: the ACI and the PNI each
// have their own identity key pair, registration ID, prekeys and sessions
// (signalmeow's service_id column). The accounts are named by the service
// ID as libsignal writes it — the ACI as a bare UUID, the PNI as "PNI:" and
// a UUID (Options.AccountName to name them otherwise); a device without a
// PNI identity yet gives the ACI account alone. Remote identities
// (signalmeow keeps one table for both) go to both accounts; sender keys,
// Signal's group messaging, to the ACI's. Every imported prekey is marked
// uploaded, as signalmeow keeps only the keys it generated for the
// server. The destination pins identities per account (session.PerAccount,
// sqlstore's default), as Signal does.
//
// ExportLibsignal goes the other way: an account's keys, prekeys, sessions,
// identities and sender keys in libsignal's serialized forms (storage.proto),
// for an application that leaves Interlock.
//
// # Address mapping
//
// whatsmeow names a remote device by its libsignal address string
// "user:device" (their_id, sender_id), where user is the JID's user part —
// a phone number, or a LID with its agent suffix as whatsmeow writes it
// ("123456789_1"). WhatsmeowAddress, the default Options.Address, maps it to
// session.Address{Name: user, DeviceID: device} unchanged, so the
// application keeps naming devices as whatsmeow did. A sender key becomes
// group.SenderKeyName{Sender, DeviceID: the sender's address,
// DistributionID: chat_id} (the whatsapp layout's group ID). An application
// that names devices otherwise (for example by full JID) supplies its own
// Options.Address.
//
// signalmeow names a remote device by libsignal's ProtocolAddress: a service
// ID (their_service_id, sender_uuid) and a device ID. The default
// Options.ServiceName, SignalmeowName, keeps the service ID as the address
// name in canonical form (lowercase UUID; "PNI:" prefix), so
// session.Address{Name: serviceID, DeviceID: device} is the address
// libsignal used; device IDs are never changed. Sender keys become
// group.SenderKeyName{Sender, DeviceID, DistributionID: the distribution
// UUID, lowercase} (LayoutSignal). Interlock has no trust levels: it pins a
// key or knows none. Identities signalmeow holds as TRUSTED_UNVERIFIED or
// TRUSTED_VERIFIED are pinned (the verified ones are counted in the Report,
// for the application to keep); any other trust level is a bad row, since
// pinning the key would trust what signalmeow refused.
//
// # Transactions and failures
//
// The source is only read (in one read transaction per account on
// PostgreSQL; open an SQLite source read-only, as the interlock command
// does). Everything of an account is read and parsed before anything is
// written; then the account is created and all its rows are written in one
// transaction of the destination (for signalmeow: both accounts of a device
// are read first, then each is written in its own transaction). A row that cannot be read — a truncated or
// corrupt record, a key of the wrong length, an unknown record version — is
// a *RowError naming the account (whatsmeow's JID, signalmeow's local
// service ID), the table and the address, and nothing of
// the import is kept: accounts this call created are deleted again. With
// Options.SkipBad such rows are left out and listed in the Report instead.
// A crash between creating an account and committing its rows can leave an
// empty account, which a second run reports as existing
// (sqlstore.ErrAccountExists): delete it and run again.
//
// # Security considerations
//
// Source rows are untrusted input: they are parsed by the same bounded
// parsers as Interlock's own records (never a panic, every length checked),
// and a signed prekey whose signature does not verify under the device's
// identity key is a bad row. The destination must pin identities per
// device (sqlstore.WithIdentityScope(session.PerDevice)), as WhatsApp gives
// every device its own identity key; ImportWhatsmeow refuses a store pinned
// per account, where a user's second device would replace the first one's
// key. Private keys are copied as they are: import into a database that
// protects them as the source did (or use sqlstore.WithKeyEncryption), and
// delete the source once the application runs on Interlock — two stores
// that both advance a session reuse message keys. Reports and errors name
// addresses and tables, never key material.
package importer
