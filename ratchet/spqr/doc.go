// Package spqr is the Sparse Post-Quantum Ratchet (SPQR) that turns
// Signal's Double Ratchet into the triple ratchet: an ML-KEM-768 Braid
// (a sparse continuous key agreement, SCKA) whose epoch secrets seed a
// symmetric chain, from which every message gets a 32-byte key that is mixed
// into its Double Ratchet message keys as the HKDF salt.
//
// It is a pure state machine: State.Send and State.Recv take a state and a
// message and return the next state, the on-wire pq_ratchet bytes (the
// SignalMessage field 5) and the message key; randomness is passed in and
// the receiver is never modified, so a caller commits the next state only
// after the message authenticates. Marshal and Unmarshal use SPQR's
// PqRatchetState protobuf, which libsignal stores in
// SessionStructure.pq_ratchet_state (field 15).
//
// Specifications:
//   - The Double Ratchet Algorithm, revision 3 (2025), §5 (the triple
//     ratchet: SCKA epochs, the symmetric chain, message keys as salts).
//   - The ML-KEM Braid (2025): §2 incremental ML-KEM (internal/mlkem768),
//     §3 chunking with an erasure code (internal/erasure), §4 the state
//     machine and its authentication.
//   - Facts checked against SparsePostQuantumRatchet v1.5.1/v1.5.3 (labels,
//     wire bytes, state transitions, chain rules, version negotiation) and a
//     recorded libsignal 0.90 conversation (TestLibsignalSalts).
//
// Wire format (pq_ratchet): empty = version 0 (no SPQR); otherwise
// 0x01 ‖ varint epoch (≥ 1) ‖ varint index ‖ type ‖ [varint chunk index ‖
// 32 bytes] for types 1 (header), 2 (ek), 3 (ek + ct1 ack), 5 (ct1) and
// 6 (ct2); 0 (none) and 4 (ct1 ack) carry no chunk. Index 0 means no key.
//
// Version negotiation: a new state with Version V1 sends V1 messages. Until
// it receives its first message it is "negotiating": a message without
// pq_ratchet then turns SPQR off for the session if MinVersion is V0, and is
// refused (ErrVersion) if MinVersion is V1. While negotiating with
// MinVersion V0 a party has no chain yet, so its messages carry index 0 and
// no key (libsignal 0.74–0.91); with MinVersion V1 they are keyed from the
// first message (libsignal 0.92+ requires SPQR). A pq_ratchet of a version
// above V1 is ignored while it may be a newer peer's opening (negotiating
// with MinVersion V0, or a V0 session), as SPQR's recv does; once the state
// speaks V1 for good (negotiated, or MinVersion V1) it fails with ErrVersion,
// like an empty pq_ratchet.
//
// # Security considerations
//
//   - Headers and ciphertexts are authenticated with HMAC-SHA256 under keys
//     chained from the PQXDH SPQR key and every epoch secret; MACs are
//     compared with hmac.Equal. The received encapsulation key is checked
//     against the authenticated header hash before it is used.
//   - Receiving chains refuse indexes more than MaxJump (25,000) ahead and
//     keep at most MaxOOOKeys (2,000) skipped keys; keys are returned once.
//     Sending chains of epochs before the previous one are erased.
//   - Decoders hold a bounded number of chunks whatever the peer sends;
//     parsers never panic (fuzz targets for messages, states and Recv).
//   - Stored states are input too (imports, backups) and are checked as
//     strictly as messages (issue #20 item 9): every erasure encoder and
//     decoder must hold exactly the points of its stage's message (at most
//     MaxChunks per lane), key lengths are exact, the chain keeps at most
//     MaxChainEpochs epochs whose numbers agree with the braid's stage and
//     direction, key histories hold at most SPQR's trim size of distinct
//     indexes below their counter, and MaxOOOKeys is at most
//     MaxOOOKeysLimit. A stored MaxJump above MaxJumpLimit is kept (libsignal
//     stores u32::MAX for a session with oneself) but one message never
//     steps a chain further than MaxJumpLimit. So loading a state and its
//     first Send or Recv cost bounded work, whatever the stored bytes.
//   - Once SPQR V1 is negotiated (or required by MinVersion V1) every
//     received message must carry a V1 pq_ratchet and so its SPQR key: an
//     empty field or an unknown version is ErrVersion, so the classical
//     state alone cannot inject messages without the post-quantum salt
//     (issue #20 item 6; SPQR v1.5.3 ignores unknown versions at any time).
//   - SPQR keys supplement, never replace, the Double Ratchet's: a session
//     downgraded to V0 (MinVersion V0) has only classical security; use
//     MinVersion V1 once every peer speaks SPQR.
//   - The ML-KEM encapsulation state is stored in libcrux's layout; the
//     byte compatibility of states written mid-encapsulation with libsignal
//     is inferred from libcrux's source, not tested against libsignal.
package spqr
