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
// ImportBaileys reads the folder of Baileys' useMultiFileAuthState
// (github.com/WhiskeySockets/Baileys, src/Utils/use-multi-file-auth-state.ts)
// — the state of libsignal-node (the WhiskeySockets fork, npm libsignal
// 6.0.0) and of Baileys' own group cipher. Every file is JSON; Node Buffers
// are BufferJSON objects ({"type":"Buffer","data":"<base64>"}, also read
// as byte arrays or numbered members); in file names ':' is written '-' and
// '/' "__":
//
//	creds.json             signedIdentityKey (32-byte public, private),
//	                       registrationId, signedPreKey {keyPair, signature,
//	                       keyId}, firstUnuploadedPreKeyId, me.id; the noise
//	                       key, pairing and app-state data are not Signal
//	                       state and are not imported
//	session-<addr>.json    libsignal-node's SessionRecord.serialize():
//	                       {"_sessions": {base key: entry}, "version": "v1"}
//	identity-key-<addr>.json  the identity key of a device Baileys received
//	                       a PreKeyWhisperMessage from
//	pre-key-<id>.json      {public, private}; IDs from firstUnuploadedPreKeyId
//	                       on were not uploaded yet
//	sender-key-<group>--<user>--<device>.json  a Buffer of the JSON of
//	                       Baileys' SenderKeyRecord (states, newest last)
//	app-state-sync-key-*, app-state-sync-version-*, sender-key-memory-*,
//	lid-mapping-*, device-list-*, tctoken-*  not Signal state: counted in
//	                       AccountReport.Ignored, not imported
//
// A libsignal-node entry maps to libsignal's SessionStructure field by
// field: the open entry (indexInfo.closed == -1) is the current state, the
// others are archived, most recently used first; registrationId is the
// remote's, the local identity and registration ID come from creds.json;
// currentRatchet's ephemeral key pair and rootKey, lastRemoteEphemeralKey's
// chain last among the receiver chains (the rest in libsignal-node's order,
// oldest first); a chain's counter (the last index derived, -1 for none) is
// index-1 of libsignal's chain key; skipped keys are libsignal-node's message
// key seeds, which libsignal stores as seeds too; pendingPreKey {preKeyId,
// signedKeyId, baseKey} is the unanswered session, dated by
// indexInfo.created; previousCounter -1 is read as 0. libsignal-node drops
// the chain key of a receiver chain the remote has stepped past, keeping
// the skipped keys: such a chain gets a fresh random chain key (no one can
// derive a message on it beyond the kept keys; a known key would let anyone
// forge one), and a closed chain with no skipped key is left out.
// libsignal-node bounds neither the number of receiver chains nor of skipped
// keys: beyond ratchet.MaxReceiverChains and ratchet.MaxMessageKeys the
// oldest are left out and counted in AccountReport.DroppedSkippedKeys.
// Baileys keeps no identity for a session it started: the session's remote
// identity is used (AccountReport.IdentitiesFromSessions).
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
// Baileys names a device by libsignal-node's address string "user.device"
// (jidToSignalProtocolAddress: the JID's user part, "_1" appended for a
// LID, "_128"/"_129" for hosted ones; device 0 when the JID has none), in
// session-*, identity-key-* and sender-key-* file names. BaileysAddress, the
// default Options.Address of ImportBaileys, maps it to session.Address{Name:
// user, DeviceID: device} unchanged — the names WhatsmeowAddress gives the
// same devices — and a sender key becomes group.SenderKeyName{Sender,
// DeviceID: the sender's address, DistributionID: the group JID}. The
// account is named by creds.json's me.id (Options.AccountName receives it,
// or "" for a folder that never registered, which then needs one).
//
// # Transactions and failures
//
// The source is only read (in one read transaction per account on
// PostgreSQL; open an SQLite source read-only, as the interlock command
// does; a Baileys folder is read file by file: stop the Baileys client
// first, as it rewrites files while it runs). Everything of an account is read and parsed before anything is
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
