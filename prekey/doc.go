// Package prekey holds identity keys, prekey records and bundles, and the
// key agreements that start a session: X3DH (message version 3, the
// `whatsapp` flavour) and PQXDH (message version 4, libsignal).
//
// Specifications:
//   - The X3DH Key Agreement Protocol, revision 1: §2.2 (the 32 0xFF bytes
//     of F), §3.1–3.4 (bundles, Alice's DH1–DH4, Bob's side).
//   - The PQXDH Key Agreement Protocol, revision 3: §3.2–3.4 (signed KEM
//     prekeys, encapsulation, the KDF over DH1..DH4 ‖ SS).
//   - libsignal's concrete choices (docs/wire-formats.md#key-agreement):
//     HKDF-SHA256 without salt, info "WhisperText" (64 bytes: root ‖ chain)
//     for X3DH and "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024"
//     (96 bytes: root ‖ chain ‖ SPQR key) for PQXDH; Kyber-1024 round 3 keys
//     with type byte 0x08.
//
// Keys are typed values with unexported fields, built only by the New…
// parsers and Generate… functions; Bytes returns a fresh copy.
//
// # Security considerations
//
// Records of other implementations (issue #15): the prekey and signed prekey
// parsers also read go.mau.fi/libsignal's JSON records and raw 32-byte
// public keys; a stored public key must still match its private key.
//
// Bundle.Verify must pass before a bundle is used; the session package does
// this. Every DH output is checked for the all-zero value (low-order points),
// and the responder rejects a PQXDH base key that is not canonical and in the
// prime-order subgroup. A bundle without a Kyber prekey can only start an
// X3DH session; callers that must not be downgraded refuse such bundles (see
// session.RequirePQXDH). Private keys redact themselves in String and
// GoString.
package prekey
