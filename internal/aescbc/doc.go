// Package aescbc implements AES-256-CBC with PKCS#7 padding and HMAC-SHA256,
// the authenticated encryption that the Signal protocol builds from them:
// the Double Ratchet's ENCRYPT (Double Ratchet spec, Section 5.2: AES-256 in
// CBC mode with PKCS#7 padding, then HMAC-SHA256), sender-key messages and
// attachments.
//
// Specifications: NIST SP 800-38A, Section 6.2 (CBC mode); RFC 5652,
// Section 6.3 (PKCS#7 padding); FIPS 197 (AES); RFC 2104 and FIPS 198-1
// (HMAC); FIPS 180-4 (SHA-256). AES and HMAC come from Go's standard library.
//
// # Security considerations
//
//   - CBC on its own is malleable and, with a padding error that is
//     distinguishable from a MAC error, a padding oracle. Always verify the
//     MAC over the ciphertext (encrypt-then-MAC) with hmac.Equal before
//     calling Decrypt, and do not report padding failures differently from
//     MAC failures to a peer.
//   - Decrypt checks the padding in constant time over the last block, but
//     the length of the returned plaintext necessarily reveals the pad length.
//   - The IV must be unpredictable or, as in Signal, the key must be used
//     for a single message (each message key encrypts exactly one message).
//   - Decrypt never panics on any input and refuses keys that are not 32
//     bytes (no AES-128/192 fallback) and IVs that are not 16 bytes.
package aescbc
