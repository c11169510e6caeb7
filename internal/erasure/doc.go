// Package erasure is the erasure code SPQR uses to send ML-KEM Braid
// messages in 32-byte chunks: a systematic Reed–Solomon code built from
// polynomial interpolation over GF(2^16).
//
// A message of 2m bytes is m big-endian 16-bit field elements; element i
// lies on lane i mod 16 at x = ⌊i/16⌋, and lane l is the polynomial P_l of
// degree < ⌈m/16⌉ through its elements. Chunk c is (P_0(c), …, P_15(c)), 32
// bytes, so chunks 0, 1, … start with the message itself and every later
// chunk is redundancy: any ⌈m/16⌉ distinct chunks recover the message, in
// any order, whichever were lost.
//
// Specifications and facts:
//   - The ML-KEM Braid (Signal, 2025), Section 3 (erasure-coded chunks).
//   - SparsePostQuantumRatchet v1.5 src/encoding/polynomial.rs and gf.rs:
//     the field (reduction polynomial x^16 + x^12 + x^3 + x + 1, 0x1100B),
//     the lane layout, the decoder's point-keeping rule and the serialized
//     PolynomialEncoder/PolynomialDecoder fields (State, Restore…).
//
// # Security considerations
//
// The code carries public data (ML-KEM headers, keys and ciphertexts) and
// gives no integrity: the Braid authenticates what is decoded (MACs on the
// header and ciphertext, the header hash on the key). A decoder holds at most
// twice the points it needs per lane, whatever chunks an attacker sends, and
// never panics. Serialized state is input too: RestoreEncoder takes the
// message size the caller's protocol stage allows and refuses lanes with any
// other number of points or coefficients, so that the first redundancy chunk
// of a restored encoder costs no more than that message's own interpolation
// (issue #20 item 9); RestoreDecoder refuses more points than Add keeps.
package erasure
