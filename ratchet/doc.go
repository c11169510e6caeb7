// Package ratchet is the Double Ratchet as a pure state machine: root, chain
// and message keys, DH ratchet steps and skipped message keys, with no I/O,
// no addresses and no stores. The session package wraps it with the wire
// format, identities and storage.
//
// Specifications:
//   - The Double Ratchet Algorithm, revision 3 (2025): §2.2 (symmetric-key
//     ratchet, KDF_CK), §2.3 (DH ratchet, KDF_RK), §3.2–3.5 (state,
//     RatchetInitAlice/Bob, RatchetEncrypt, RatchetDecrypt with skipped keys).
//   - libsignal's instantiation (docs/wire-formats.md#double-ratchet):
//     KDF_CK is HMAC-SHA256 with 0x01 (message-key seed) and 0x02 (next
//     chain key); message keys are HKDF-SHA256(seed, "WhisperMessageKeys")
//     → AES key ‖ MAC key ‖ IV; KDF_RK is HKDF-SHA256(salt = root key, DH
//     output, "WhisperRatchet") → root key ‖ chain key.
//
// Limits are libsignal's and exported: MaxForwardJumps, MaxMessageKeys,
// MaxReceiverChains.
//
// # Security considerations
//
// Skipped keys stored as cipher key, MAC key and IV (issue #15, compat.go)
// are used as given for their own counter, once; in a triple-ratchet state
// whose message carries an SPQR key they are refused (there is no seed to
// salt).
//
// State.Receive derives keys tentatively and commits only when the caller's
// open function (MAC check and decryption) succeeds, so a forged or
// corrupted message never moves a chain, drops a skipped key or takes a DH
// step. Counters further than MaxForwardJumps ahead are refused before any
// derivation, bounding the work an attacker can cause; at most
// MaxMessageKeys skipped keys are kept per chain. Skipped keys are deleted
// once used, which is what makes a replay fail with ErrDuplicateMessage.
// ReceiveLimited takes tighter limits (a smaller jump, no new chain) for
// trials whose cost must stay small, and counts the derivations it does in
// a Work, so the cost of a message is testable without a clock (issue #20
// item 5).
package ratchet
