// Package gcmsiv implements AES-GCM-SIV (RFC 8452), the nonce-misuse-resistant
// AEAD that sealed sender v2 encrypts its shared payload with. Neither the Go
// standard library nor golang.org/x/crypto nor cloudflare/circl provides it.
//
// The block cipher is crypto/aes; POLYVAL (RFC 8452, Section 3) is computed
// here with constant-time carry-less multiplication (integer multiplications
// of bit-sliced operands, no tables and no secret-dependent branches).
//
// Specifications:
//   - RFC 8452, AES-GCM-SIV: Nonce Misuse-Resistant Authenticated
//     Encryption: Section 3 (POLYVAL), Section 4 (encryption: per-nonce key
//     derivation, the tag over POLYVAL of the additional data, plaintext and
//     length block, and AES-CTR with the tag as initial counter block),
//     Section 5 (decryption), Section 6 (AEAD_AES_128_GCM_SIV and
//     AEAD_AES_256_GCM_SIV, 12-byte nonces, 16-byte tags, inputs of at most
//     2^36 bytes). New returns both as a cipher.AEAD.
//   - Tested against RFC 8452, Appendix A (POLYVAL) and Appendix C (the
//     AEAD vectors).
//
// # Security considerations
//
// Open authenticates before it returns anything: on a tag mismatch the
// output buffer is cleared and only ErrOpen is returned. Tags are compared
// with crypto/subtle. The package panics only on programmer errors that
// cipher.AEAD documents as panics (a wrong nonce length), never on
// ciphertext contents; sealed sender calls it with fixed-size nonces.
// Repeating a nonce under one key reveals only whether two messages (with
// their additional data) are equal (RFC 8452, Section 9), yet callers
// should still use a fresh nonce or a fresh key per message.
package gcmsiv
