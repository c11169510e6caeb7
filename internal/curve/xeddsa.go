package curve

import (
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// hash1Prefix is the 32-byte little-endian encoding of 2^256 - 1 - 1, the
// domain separator of hash_1 in the XEdDSA spec, Section 2.4.
var hash1Prefix = [32]byte{
	0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

// Sign computes an XEdDSA signature of msg (XEdDSA spec, Section 3.3
// "xeddsa_sign", with calculate_key_pair from Section 2.3), reading the
// 64-byte nonce randomness Z from rand (nil means crypto/rand.Reader).
//
// This is the spec's variant: when the Edwards public key A = aB has its sign
// bit set, a is negated so that A's sign bit is 0, and the top bit of sig[63]
// is therefore always 0. libsignal's verifier reads the sign bit from sig[63]
// (0 here) and so accepts these signatures, as do strict spec verifiers.
// (libsignal's own signer instead keeps a and stores A's sign bit in sig[63];
// VerifySignature accepts both.)
func (k PrivateKey) Sign(rand io.Reader, msg []byte) ([]byte, error) {
	if k.p == nil {
		return nil, fmt.Errorf("%w: zero private key", ErrInvalidKey)
	}
	var z [64]byte
	if _, err := io.ReadFull(orDefault(rand), z[:]); err != nil {
		return nil, fmt.Errorf("curve: reading randomness: %w", err)
	}
	defer clear(z[:])

	// calculate_key_pair(k): E = kB; A.y = E.y, A.s = 0; a = k or -k (mod q).
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(k.p.s[:])
	if err != nil {
		return nil, err // unreachable: k is 32 bytes
	}
	A := new(edwards25519.Point).ScalarBaseMult(a)
	var aBytes, aNeg, capA [32]byte
	copy(capA[:], A.Bytes())
	sign := int(capA[31] >> 7)
	copy(aBytes[:], a.Bytes())
	copy(aNeg[:], new(edwards25519.Scalar).Negate(a).Bytes())
	subtle.ConstantTimeCopy(sign, aBytes[:], aNeg[:])
	defer clear(aBytes[:])
	defer clear(aNeg[:])
	if _, err := a.SetCanonicalBytes(aBytes[:]); err != nil {
		return nil, err // unreachable: Scalar.Bytes is canonical
	}
	capA[31] &= 0x7f

	// r = hash_1(a ‖ M ‖ Z) (mod q); R = rB.
	h := sha512.New()
	h.Write(hash1Prefix[:])
	h.Write(aBytes[:])
	h.Write(msg)
	h.Write(z[:])
	var digest [64]byte
	r, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return nil, err // unreachable
	}
	R := new(edwards25519.Point).ScalarBaseMult(r)

	sig := make([]byte, 0, SignatureSize)
	sig = append(sig, R.Bytes()...)

	// h = hash(R ‖ A ‖ M) (mod q); s = r + h·a (mod q).
	h.Reset()
	h.Write(sig[:32])
	h.Write(capA[:])
	h.Write(msg)
	hs, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return nil, err // unreachable
	}
	s := new(edwards25519.Scalar).MultiplyAdd(hs, a, r)
	sig = append(sig, s.Bytes()...)
	return sig, nil
}

// VerifySignature reports whether sig is a valid XEdDSA signature of msg by k
// (XEdDSA spec, Section 3.3 "xeddsa_verify"), with libsignal's encoding: the
// Edwards sign bit of the public key is the top bit of sig[63], which is
// cleared before s is read.
//
// Rules, matching libsignal's verify_signature except where noted:
//   - sig must be exactly 64 bytes;
//   - after clearing the sign bit, s must be below 2^253 (top 3 bits of
//     byte 63 clear), as in libsignal, and also below the group order L
//     (stricter than libsignal and the spec, which reduce L <= s < 2^253
//     mod L; no honest signer produces such s, and rejecting it removes
//     signature malleability);
//   - u must be canonical (u < p, top bit clear), as the spec requires;
//     libsignal instead masks the top bit and reduces u mod p;
//   - u = -1 and u-coordinates on the quadratic twist are rejected;
//   - R is compared byte for byte with the canonical encoding of sB - hA
//     (cofactorless verification), so a non-canonical R never verifies.
func (k PublicKey) VerifySignature(msg, sig []byte) bool {
	if k.IsZero() || len(sig) != SignatureSize {
		return false
	}
	A, ok := montgomeryToEdwards(&k.u, int(sig[63]>>7))
	if !ok {
		return false
	}
	var s [32]byte
	copy(s[:], sig[32:])
	s[31] &= 0x7f
	if s[31]&0xe0 != 0 {
		return false
	}
	return verifyEdwards(A, msg, sig[:32], s[:])
}

// verifyEdwards is the Ed25519 core of XEdDSA verification, taking an Edwards
// public key A, the 32-byte R and the 32-byte s: it checks that s < L and that
// the encoding of sB - hA, with h = SHA-512(R ‖ A ‖ M) mod L, equals R
// (RFC 8032, Section 5.1.7, cofactorless). The A hashed is A's canonical
// encoding.
func verifyEdwards(A *edwards25519.Point, msg, R, s []byte) bool {
	if len(R) != 32 || len(s) != 32 {
		return false
	}
	ss, err := new(edwards25519.Scalar).SetCanonicalBytes(s)
	if err != nil {
		return false
	}
	h := sha512.New()
	h.Write(R)
	h.Write(A.Bytes())
	h.Write(msg)
	var digest [64]byte
	hs, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false
	}
	minusA := new(edwards25519.Point).Negate(A)
	check := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(hs, minusA, ss)
	return subtle.ConstantTimeCompare(check.Bytes(), R) == 1
}

var feOne = new(field.Element).One()
var feMinusOne = new(field.Element).Negate(feOne)

// montgomeryToEdwards converts a canonical Montgomery u-coordinate to the
// Edwards point with y = (u - 1) / (u + 1) and the given sign bit of x
// (XEdDSA spec, Section 2.3, "convert_mont"; RFC 7748, Section 4.1).
// It fails for u >= p, for u = -1 and for points on the twist.
func montgomeryToEdwards(u *[32]byte, sign int) (*edwards25519.Point, bool) {
	if !isCanonicalU(u) {
		return nil, false
	}
	fu, err := new(field.Element).SetBytes(u[:])
	if err != nil {
		return nil, false
	}
	if fu.Equal(feMinusOne) == 1 {
		return nil, false
	}
	num := new(field.Element).Subtract(fu, feOne)
	den := new(field.Element).Add(fu, feOne)
	y := new(field.Element).Multiply(num, den.Invert(den))
	var yb [32]byte
	copy(yb[:], y.Bytes())
	yb[31] |= byte(sign&1) << 7
	P, err := new(edwards25519.Point).SetBytes(yb[:])
	if err != nil {
		return nil, false
	}
	return P, true
}

// lMinusOne is L - 1 = 2^252 + 27742317777372353535851937790883648492,
// little-endian.
var lMinusOne = func() *edwards25519.Scalar {
	b := [32]byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
		0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(b[:])
	if err != nil {
		panic("curve: bad L-1 constant")
	}
	return s
}()

// IsTorsionFree reports whether k is a point of the prime-order subgroup:
// u is canonical (u < p), it is on Curve25519 rather than its twist, and
// [L]P is the identity, where P is the Edwards point of u with sign bit 0
// (either sign gives the same answer). Low-order points (u = 0, the order-4
// and order-8 points) and honest keys plus any torsion component fail it.
//
// libsignal checks PQXDH base keys with is_torsion_free && u < p; this method
// includes the u < p part.
func (k PublicKey) IsTorsionFree() bool {
	if k.IsZero() {
		return false
	}
	P, ok := montgomeryToEdwards(&k.u, 0)
	if !ok {
		return false
	}
	// [L]P = [L-1]P + P.
	var zero edwards25519.Scalar
	Q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(lMinusOne, P, &zero)
	Q.Add(Q, P)
	return Q.Equal(edwards25519.NewIdentityPoint()) == 1
}
