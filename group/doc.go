// Package group implements sender keys, the Signal protocol's group
// messaging: each member creates a chain of its own for a group, hands its
// chain key and public signing key to every other member once (a
// SenderKeyDistributionMessage, sent inside 1:1 sessions), and then
// encrypts each group message once for everyone (a signed
// SenderKeyMessage).
//
// Specifications and behaviour followed:
//   - The "Sender Keys" scheme as described in the WhatsApp Encryption
//     Overview ("Group Messages": chain key, signature key, hash ratchet;
//     https://www.whatsapp.com/security/WhatsApp-Security-Whitepaper.pdf)
//     and as libsignal implements it in rust/protocol group_cipher.rs and
//     sender_keys.rs (v0.90):
//     Cipher.CreateDistributionMessage is
//     create_sender_key_distribution_message (random 31-bit chain ID,
//     random chain key at iteration 0, fresh signing key pair),
//     Cipher.ProcessDistributionMessage is
//     process_sender_key_distribution_message (add_sender_key_state),
//     Cipher.Encrypt is group_encrypt and Cipher.DecryptMessage is
//     group_decrypt.
//   - Chain steps (docs/wire-formats.md#sender-keys): message key
//     seed = HMAC-SHA256(chain key, 0x01), next chain key =
//     HMAC-SHA256(chain key, 0x02); message key = HKDF-SHA256(no salt, seed,
//     "WhisperGroup") 48 bytes = IV 16 ‖ AES-256 key 32; AES-256-CBC with
//     PKCS#7 padding.
//   - Wire formats (docs/wire-formats.md#sender-keys): version byte 0x33 ‖
//     protobuf, plus for SenderKeyMessage an XEdDSA signature (64 bytes)
//     over version ‖ protobuf by the chain's signing key. Two layouts:
//     LayoutSignal (libsignal, Signal's clients; the distribution UUID is in
//     every message) and LayoutWhatsApp (libsignal-protocol-java's older
//     layout, used by WhatsApp, Messenger and go.mau.fi/libsignal; the
//     application names the group). Messages are written fields in order
//     with the chain ID and iteration always present, the encoding
//     go.mau.fi/libsignal re-creates to check signatures.
//   - Limits (libsignal consts.rs): MaxForwardJumps, MaxMessageKeys,
//     MaxSenderKeyStates. go.mau.fi/libsignal allows only 2,000 forward
//     jumps.
//
// Records are stored per SenderKeyName (sender name, device, distribution
// ID) through a SenderKeyStore, as libsignal's SenderKeyRecordStructure;
// MemoryStore is an in-memory one.
//
// # Concurrency
//
// A Cipher is safe for concurrent use. Operations on one SenderKeyName are
// serialised from loading the record to storing it; operations on different
// names run in parallel. The store must be safe for concurrent use.
//
// # Security considerations
//
// Records of other implementations (issue #15): UnmarshalRecord also reads
// go.mau.fi/libsignal's JSON records (their skipped keys' IV and cipher key
// must match the seed), a private signing key of 32 zero bytes (read as a
// receiving chain) and raw 32-byte public keys (record_compat.go); unreadable
// fields are ErrInvalidRecord naming them.
//
// Sender keys authenticate group messages only as coming from someone who
// holds the chain's signing key: the distribution message must arrive over
// an authenticated 1:1 session, and the application must file it under the
// session's sender (SenderKeyName), never under a name taken from the group
// message. Decryption checks the signature first, over the bytes as
// received, before any key is derived; keys are then derived on the side
// and the record is stored only after the ciphertext decrypted, so a
// forged, replayed, truncated or too-far message leaves every stored byte
// unchanged. There is no forward secrecy within a chain beyond the hash
// ratchet and no post-compromise security: a member that leaves must be
// excluded by every remaining member creating a new chain (a new
// distribution ID, or a fresh record) and distributing it only to the
// members that remain. A distribution message carries the current chain key,
// so a member added later cannot read earlier messages, and a repeated
// distribution message never rewinds a chain that is already held.
// Parsers bound every length and never panic; signatures are verified with
// XEdDSA; private signing keys never leave the record and redact themselves
// when printed.
//
// An iteration must never encrypt two messages (two plaintexts under one
// AES-CBC key and IV). The Cipher's per-name lock guarantees it within one
// Cipher; across processes sharing a store it holds only if the store is a
// SenderKeyTransactor (sqlstore is: each operation is one transaction
// holding the record's row, issue #19 item 1). With any other store, use one
// Cipher per sender key at a time. A DecryptMessage of a forged message
// holds that transaction while its signature is checked (one XEdDSA
// verification), before any chain step.
package group
