// Package curve implements Curve25519 keys as the Signal protocol uses them:
// X25519 Diffie-Hellman and XEdDSA signatures over the same keys.
//
// Specifications:
//   - RFC 7748 (Elliptic Curves for Security), Sections 5 and 6.1: X25519,
//     scalar clamping, u-coordinate decoding, the all-zero check.
//   - The XEdDSA and VXEdDSA Signature Schemes (Trevor Perrin, 2016),
//     https://signal.org/docs/specifications/xeddsa/: Section 2.3 (the
//     birational map: convert_mont, calculate_key_pair), Section 2.4
//     (hash_i), Section 3.3 (xeddsa_sign, xeddsa_verify) and Section 5
//     (the Curve25519 parameters).
//     VXEdDSA is not implemented; Signal does not use it.
//   - RFC 8032, Section 5.1.7: the Ed25519 verification equation at the core
//     of XEdDSA verification.
//   - The X3DH and PQXDH specifications (Signal), Section 2.1 of each: the
//     curve X25519 and Encode(PK), the 0x05-prefixed key encoding. libsignal
//     additionally requires a PQXDH base key to be canonical and torsion free
//     (IsCanonical, IsTorsionFree).
//
// Serialized public keys are KeyType (0x05) followed by the 32-byte
// little-endian u-coordinate. Private keys are 32 bytes, clamped on load as
// libsignal does.
//
// X25519 is computed by crypto/ecdh; the Edwards arithmetic of XEdDSA by
// filippo.io/edwards25519. This package has no field arithmetic of its own.
// Key pairs loaded from storage with their public key (NewStoredKeyPair)
// build their crypto/ecdh key only when a DH first needs it.
//
// # Signatures
//
// Sign produces the XEdDSA spec's signatures: when the Edwards form of the
// key has its sign bit set, the private scalar is negated, so the top bit of
// sig[63] is always 0. VerifySignature follows libsignal: it takes the
// Edwards sign bit from the top bit of sig[63] and clears it, so it accepts
// both these signatures and the ones libsignal produces (which store the sign
// bit there), and libsignal accepts ours.
//
// # Security considerations
//
//   - ECDH rejects an all-zero shared secret (ErrLowOrder), which any
//     low-order peer key produces, so a peer cannot force a known secret.
//     It does not otherwise validate keys: X25519 is safe on the twist.
//   - VerifySignature is stricter than libsignal in two ways that no honest
//     signer can trigger: it rejects s >= L (libsignal reduces any s below
//     2^253, which makes signatures malleable), and it rejects u >= p
//     (libsignal masks the top bit and reduces u mod p). Like libsignal, it
//     accepts 33-byte keys only through NewPublicKey, which unlike libsignal
//     refuses trailing bytes.
//   - IsTorsionFree and IsCanonical are the checks libsignal applies to a
//     PQXDH base key; callers that accept base keys must use them.
//   - Signing reads a fresh 64-byte nonce Z from the supplied reader; the
//     nonce is also bound to the private scalar and message by hashing, so a
//     weak reader does not expose the key as it would in plain Schnorr, but
//     callers should still pass crypto/rand.Reader (or nil).
//   - Private key material is held only behind two pointers; String,
//     GoString and Format never print it, and neither does
//     fmt on any struct that contains a PrivateKey. Bytes returns a copy the
//     caller must protect.
//   - Verification is variable-time, which is fine for public inputs. Signing
//     and ECDH are constant-time.
package curve
