// Package fingerprint computes safety numbers: the 60-digit number two
// users compare, and the scannable form a QR code carries, as libsignal's
// rust/protocol fingerprint.rs does (docs/wire-formats.md#safety-numbers;
// Signal's "Safety number updates" blog post,
// https://signal.org/blog/safety-number-updates/).
//
// Per side: h = SHA-512(0x00 0x00 ‖ identity key ‖ stable ID ‖ identity
// key), then iterations − 1 more times h = SHA-512(h ‖ identity key)
// (DefaultIterations 5200). The displayable number is, per side, bytes 0–29
// of h as six 5-digit groups (5-byte big-endian numbers modulo 100,000),
// the smaller half first; the scannable form is a CombinedFingerprints
// protobuf {version, local h[:32], remote h[:32]}.
//
// Versions: VersionE164 (1) hashes E.164 phone numbers as UTF-8;
// VersionACI (2) hashes ACIs as 16 UUID bytes. StableID converts both.
// Identity keys are typed prekey.IdentityKey values (parse received bytes
// with prekey.NewIdentityKey); they are hashed in their 33-byte
// serialization (0x05 ‖ 32 bytes), as libsignal does.
//
// # Security considerations
//
// A safety number authenticates identity keys only when the users compare
// it over a channel the server does not control (in person, or a trusted
// call). Equal displayable numbers with different versions are still equal
// (the digits do not depend on the version), but scannable fingerprints of
// different versions cannot be compared: Compare returns
// ErrVersionMismatch rather than a verdict. Compare checks both sides in
// constant time. Both users must use the same iteration count; fewer
// iterations make a second-preimage search for a colliding identity key
// cheaper, so keep the default. ParseScannable never panics.
package fingerprint
