// Package kem wraps the post-quantum key encapsulation mechanisms that PQXDH
// uses, behind one type-tagged API.
//
// Specifications:
//   - The PQXDH Key Agreement Protocol (Signal), Section 2.1 (the KEM
//     parameter and EncodeKEM, a type byte in front of every key and
//     ciphertext) and Section 3 (the signed Kyber prekey, encapsulation by
//     the initiator and decapsulation by the responder).
//   - CRYSTALS-Kyber, Algorithm Specifications and Supporting Documentation,
//     version 3.02 (NIST PQC round 3), Section 1.3: Kyber.CCAKEM key
//     generation, encapsulation and decapsulation (type 0x08), implemented by
//     github.com/cloudflare/circl/kem/kyber/kyber1024.
//   - FIPS 203 (ML-KEM), implemented by crypto/mlkem (type 0x0A).
//
// Serializations (type byte first; sizes of what follows):
//
//	              public key   ciphertext   secret key
//	Kyber1024     1568         1568         3168 (s ‖ pk ‖ H(pk) ‖ z)
//	MLKEM1024     1568         1568         64   (the seed d ‖ z)
//
// Kyber-1024 secret keys use the round-3 reference serialization, which is
// libsignal's. crypto/mlkem loads decapsulation keys only from their 64-byte
// seed, so an ML-KEM-1024 secret key is serialized as that seed, not the
// 3168-byte expanded form; libsignal-client (0.90 to 0.103) does not accept
// type 0x0A at all.
//
// # Performance
//
// circl's Kyber uses AVX2 assembly on amd64 and returns without VZEROUPPER.
// Legacy-SSE code that runs while the upper halves of the vector registers
// are dirty pays a penalty: on recent Intel cores SHA-NI (crypto/sha256, so
// HMAC and HKDF) is hit hardest, which made an HKDF after a Kyber
// operation some 30 times slower (3 µs → 90 µs on a Sapphire Rapids VM), and
// SSE moves and AES-NI slow down less. Each call into circl's Kyber is
// therefore followed by VZEROUPPER (a one-instruction assembly stub,
// vzeroupper_amd64.s, run only when the CPU has AVX2; the purego build tag
// leaves it out, as it leaves out circl's assembly).
//
// # Security considerations
//
//   - Decapsulation uses implicit rejection: a corrupted but well-formed
//     ciphertext yields a pseudorandom secret, not an error, so callers must
//     authenticate what they derive from it (PQXDH does, through the first
//     message's MAC). Only a wrong length or type byte is an error.
//   - Kyber-1024 public keys are not checked for reduced coefficients, as in
//     the round-3 reference code and libsignal; ML-KEM-1024 keys get FIPS 203's
//     modulus check. NewSecretKey checks that a Kyber secret key's H(pk)
//     matches its embedded public key.
//   - GenerateKeyPair and Kyber encapsulation draw all randomness from the
//     supplied reader (nil means crypto/rand.Reader) and are deterministic
//     given it: pass a cryptographically secure reader outside tests.
//     ML-KEM encapsulation always uses crypto/rand, ignoring the reader.
//   - Secret key material is held behind pointers; String, GoString and
//     Format redact it, and fmt does not reach it through containing structs.
//   - Kyber-1024 (round 3) is not ML-KEM: the two are not interoperable, and
//     the type byte must match on decapsulation.
package kem
