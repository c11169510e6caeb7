// Package kdf implements HKDF-SHA256 (RFC 5869), the key derivation function
// of X3DH (Section 2.2, "KDF"), PQXDH (Section 2.2), the Double Ratchet
// (Section 5.2, KDF_RK and the message-key KDF), sender keys and sealed
// sender. It is a thin layer over crypto/hkdf that fixes the hash to SHA-256
// and offers an allocation-free-for-the-caller HKDFInto.
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
//   - HKDFInto zeroes its intermediate buffer; the caller owns and must erase
//     dst when done.
package kdf
