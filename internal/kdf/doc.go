// Package kdf implements HKDF-SHA256 (RFC 5869), the key derivation function
// of X3DH (Section 2.2, "KDF"), PQXDH (Section 2.2), the Double Ratchet
// (Section 5.2, KDF_RK and the message-key KDF), sender keys and sealed
// sender, and the HMAC-SHA256 of the symmetric-key ratchet (RFC 2104).
//
// HKDF and HMAC are written here over crypto/sha256.Sum256 so that they
// allocate nothing: crypto/hmac cannot be re-keyed, and crypto/hkdf builds two
// HMACs per call (about 20 allocations for an 80-byte output). The
// construction is RFC 2104's H(K⊕opad ‖ H(K⊕ipad ‖ m)) with the keyed block
// and message hashed from one stack buffer (HMACConcat hashes a long message,
// a SignalMessage's MAC input, with a pooled crypto/sha256 hash instead).
// It is checked against RFC 5869's
// vectors, Wycheproof's hkdf_sha256_test.json and, by a differential fuzz
// test (FuzzHKDFDifferential), against crypto/hkdf and crypto/hmac.
//
// # Security considerations
//
//   - A nil or empty salt is HKDF's "salt not provided" (32 zero bytes), which
//     is what Signal's "no salt" derivations mean. Passing 32 zero bytes gives
//     the same result.
//   - Output longer than 255·32 bytes is refused (ErrLength), never silently
//     truncated.
//   - The secret input must carry enough entropy; HKDF does not stretch weak
//     secrets such as passwords.
//   - HKDFInto zeroes its intermediate buffers (PRK, T(i), the padded keys and
//     the hashed message); the caller owns and must erase dst when done.
//   - The implementation has no secret-dependent branches or indexes; its
//     only branches are on input lengths, which are public.
package kdf
