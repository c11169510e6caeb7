// Package session is the 1:1 layer of the Signal protocol: session records
// (a current state and up to MaxArchivedStates archived ones), the builder
// that starts a session from a prekey bundle, the cipher that encrypts and
// decrypts SignalMessages and PreKeySignalMessages, identity trust checks,
// the store interfaces and in-memory stores.
//
// Specifications:
//   - X3DH §3.3–3.4 and PQXDH §3.3–3.4: Cipher.ProcessBundle (initiator) and
//     Cipher.DecryptPreKeyMessage (responder), through package prekey.
//   - The Double Ratchet Algorithm rev. 3 §3.4–3.5: Cipher.Encrypt and
//     Cipher.DecryptSignalMessage, through package ratchet; the header and
//     message encryption as libsignal does it (docs/wire-formats.md#signalmessage):
//     version byte ‖ protobuf ‖ HMAC-SHA256(MAC key, sender IK ‖
//     receiver IK ‖ version ‖ protobuf)[:8], AES-256-CBC with PKCS#7.
//   - Sesame (session management) §3: a record holds several states;
//     a message that decrypts with an archived state promotes it, which is
//     how simultaneous initiation converges.
//
// Two versions are spoken, by Policy: version 4 (PQXDH, libsignal's
// `signal` flavour, the default RequirePQXDH) and version 3 (X3DH, the
// `whatsapp` flavour of WhatsApp, Messenger and go.mau.fi/libsignal, with
// AllowX3DH). Version 3 messages are written with the version byte 0x33 and
// fields 1–4 in order, the exact bytes go.mau.fi/libsignal recomputes its MAC
// over.
//
// # Concurrency
//
// A Cipher is safe for concurrent use. Operations on one Address are
// serialised by a per-address lock held from loading the record to storing
// it; operations on different addresses run in parallel. The store must be
// safe for concurrent use (MemoryStore is). Over a store that is not a
// Transactor, PreKeySignalMessages are also serialised across addresses,
// since a one-time prekey is loaded and removed in separate calls: one
// first message delivered at once as from two addresses starts one session
// only. Two Ciphers over one such store are not serialised with each other.
//
// # Security considerations
//
// Records of other implementations (issue #15): UnmarshalRecord also reads
// go.mau.fi/libsignal's JSON records, skipped message keys stored as keys
// rather than seeds, raw 32-byte public keys and go.mau.fi's
// previous_counter 0xFFFFFFFF (record_compat.go). Such input is as untrusted
// as any stored record: every length is checked, a field that cannot be read
// is an ErrCorruptRecord naming it, never a panic or a silent drop. A
// keys-form skipped key opens only its own counter, once, and is refused in
// a state whose message carries an SPQR key (it has no seed to salt).
//
// A failed decryption changes nothing: keys are derived tentatively and the
// record, prekeys and identities are written only after the MAC verified and
// the padding checked. Parsers bound every length, never panic and reject
// messages over MaxMessageSize. MACs are compared with hmac.Equal. Identity
// keys are trusted on first use and then pinned — per account by default
// (PerAccount: a device of a known account, including one the server has
// just added, must carry the account's key), per device under PerDevice (a
// new device of a known account is refused as unverified until the
// application vouches for it) — and a different key fails with an
// *UntrustedIdentityError (ErrUntrustedIdentity) on both encryption and
// decryption until the application trusts it through its IdentityStore.
// New accounts, new devices and replaced keys reach WithIdentityObserver,
// never silently (issue #20 item 10). RequirePQXDH refuses to
// start or accept a version 3 session, so neither a server withholding
// Kyber prekeys nor a peer can downgrade a session to X3DH. Under
// AllowX3DH a device whose record holds a version 4 state gets no version 3
// session, neither from a bundle stripped of its Kyber prekey nor from its
// own version 3 first message (ErrDowngrade), until the application deletes
// the session (issue #20 item 13). Sessions that
// the peer never answered stop encrypting after MaxUnacknowledgedSessionAge,
// counted from the start time the record stores in libsignal's unit (whole
// seconds), so the limit holds alike for records moved between Interlock and
// libsignal; records of earlier Interlock versions, which stored
// milliseconds, are read as the same instant.
//
// A stored record that does not parse is never half used: Encrypt and
// DecryptSignalMessage fail with a *CorruptRecordError naming the address
// (matching ErrCorruptRecord); a new session — ProcessBundle, a
// PreKeySignalMessage that starts one, EncryptMany with a Recipient.Bundle
// — replaces it, archiving nothing of it; EncryptMany leaves such a device
// out and still encrypts for the others, reporting it in a *BatchError; and
// Cipher.DeleteSession removes it (issue #20 item 17).
//
// Replays of a session's first message. A PreKeySignalMessage consumes its
// one-time prekey and one-time Kyber prekey, so it cannot start a session
// twice. One built on a last-resort Kyber prekey (and no one-time prekey)
// consumes nothing, so the KyberPreKeyStore remembers, for each last-resort
// Kyber prekey and signed prekey, the base keys of the sessions it has
// accepted, and MarkKyberPreKeyUsed refuses one seen before with
// ErrReusedBaseKey (matching ErrInvalidPreKey), as libsignal's
// mark_kyber_pre_key_used does: the same bytes relabelled as from another
// address, or delivered again once their state has left the record (after
// MaxArchivedStates newer sessions, or deleted by the application), start
// nothing and change nothing (issue #20 item 2). A version 3 (X3DH) message
// without a one-time prekey has no such record, in libsignal as here: its
// replay is caught only while its state is still in the record.
//
// Addresses of first messages. A version 4 first message from a sender that
// writes libsignal's address binding (libsignal ≥ 0.91, and Interlock with
// WithLocalAddress) names its sender and recipient under its MAC, so the
// server cannot relabel it (issue #20 item 11). Version 3 (X3DH, the
// whatsapp flavour) has no binding, in WhatsApp, go.mau.fi/libsignal and
// libsignal 0.90 as here: the server can deliver a version 3 first message
// as from another device of the same account, or from an account not yet
// pinned (trust on first use then pins the real sender's key under that
// account). It cannot put words in the mouth of a pinned account with
// another key (PerAccount refuses the key; PerDevice refuses an unvouched
// device), and the relabelled session's messages decrypt only as from the
// sender's own key. WhatsApp clients get the sender's address from the
// server's stanza too; what vouches for a device there is its ADV signature.
//
// Work before authentication (issue #20 item 5). A SignalMessage is tried on
// the current state with libsignal's limits (ratchet.MaxForwardJumps), then
// on one archived state at most: the one that has received on the
// message's ratchet key (ratchet keys are random per state, so no other can
// hold that chain), or else the most recently archived one with a single DH
// step (the session the peer kept after simultaneous initiation); both with
// forward jumps of at most MaxArchivedForwardJumps. A forged message thus
// costs at most about twice the key derivations of the honest message with
// the same header, whatever the number of archived states (libsignal tries
// every archived state in full: up to 41 DH steps and 41 × 25,000 chain
// steps). The price: a late message that starts a new chain on an archived
// session other than the most recent one, or jumps further, is refused as
// invalid, where libsignal would decrypt it. With a Transactor that is a
// SessionVersioner (sqlstore), the trial runs on a snapshot outside any
// transaction; only a message that authenticated opens one, which commits
// only if the stored record is unchanged and otherwise decrypts again from
// the stored record. A forged message never holds a write lock. The same
// holds for a PreKeySignalMessage that repeats a stored session's base key
// (every message before the peer answers), and an honest one is decrypted
// once: the snapshot's result is committed when the record is unchanged
// (issue #18). DecryptFromIdentity (sealed sender) decrypts once as well
// and refuses a message another identity authenticated before any write.
//
// Application state and logs (issue #16). DecryptAndCommit runs the
// application's CommitFunc last in the transaction that stores the
// decryption, so a plaintext is stored exactly when the ratchet advances;
// the function sees only messages that authenticated. Without a Transactor
// it runs before the first write: at least once, never zero times.
// WithLogger and WithMetrics report addresses, message types, counters,
// versions, prekey IDs and FailureKinds only — never a key, a chain key, a
// plaintext, a ciphertext or an error's text (TestIssue16LogsNoSecrets
// searches a long conversation's log for every secret of its records).
package session
