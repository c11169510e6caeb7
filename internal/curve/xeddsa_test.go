package curve

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"math/big"
	"testing"

	"filippo.io/edwards25519"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	var signs [2]int
	for i := range n {
		kp, err := GenerateKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, i%97)
		rand.Read(msg)
		sig, err := kp.Private.Sign(rand.Reader, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != SignatureSize || sig[63]&0x80 != 0 {
			t.Fatalf("signature %x", sig)
		}
		if !kp.Public.VerifySignature(msg, sig) {
			t.Fatalf("valid signature rejected: key %v msg %x sig %x", kp.Public, msg, sig)
		}
		signs[edwardsSign(t, kp.Private)]++
		// Wrong message.
		if kp.Public.VerifySignature(append(bytes.Clone(msg), 0), sig) {
			t.Fatal("signature verified for a longer message")
		}
		if len(msg) > 0 {
			msg[0] ^= 1
			if kp.Public.VerifySignature(msg, sig) {
				t.Fatal("signature verified for a modified message")
			}
			msg[0] ^= 1
		}
		// Wrong key.
		other, _ := GenerateKeyPair(rand.Reader)
		if other.Public.VerifySignature(msg, sig) {
			t.Fatal("signature verified under another key")
		}
		// libsignal's variant verifies too.
		if ls := libsignalSign(t, kp.Private, msg); !kp.Public.VerifySignature(msg, ls) {
			t.Fatalf("libsignal-style signature rejected: %x", ls)
		}
	}
	// Both Edwards sign bits of the public key were exercised.
	if signs[0] == 0 || signs[1] == 0 {
		t.Errorf("sign bits seen: %v", signs)
	}
}

// edwardsSign returns the sign bit of the Edwards point [k]B.
func edwardsSign(t testing.TB, k PrivateKey) int {
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return int(new(edwards25519.Point).ScalarBaseMult(a).Bytes()[31] >> 7)
}

// libsignalSign produces a signature in libsignal's variant of XEdDSA, as
// its documentation describes it: a = k mod L is not negated, and the sign
// bit of A = aB is stored in the top bit of sig[63].
func libsignalSign(t testing.TB, k PrivateKey, msg []byte) []byte {
	a, _ := new(edwards25519.Scalar).SetBytesWithClamping(k.Bytes())
	A := new(edwards25519.Point).ScalarBaseMult(a).Bytes()
	z := make([]byte, 64)
	rand.Read(z)
	h := sha512.New()
	h.Write(hash1Prefix[:])
	h.Write(k.Bytes())
	h.Write(msg)
	h.Write(z)
	r, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h.Reset()
	h.Write(R)
	h.Write(A)
	h.Write(msg)
	hs, _ := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	s := new(edwards25519.Scalar).MultiplyAdd(hs, a, r).Bytes()
	sig := append(R, s...)
	sig[63] |= A[31] & 0x80
	return sig
}

func TestSignatureBitFlips(t *testing.T) {
	for range 4 {
		kp, _ := GenerateKeyPair(rand.Reader)
		msg := []byte("interlock bit flips")
		for _, sig := range [][]byte{mustSign(t, kp.Private, msg), libsignalSign(t, kp.Private, msg)} {
			for i := range 8 * len(sig) {
				bad := bytes.Clone(sig)
				bad[i/8] ^= 1 << (i % 8)
				if kp.Public.VerifySignature(msg, bad) {
					t.Fatalf("bit %d flipped: still valid", i)
				}
			}
			for n := range SignatureSize + 2 {
				b := append(bytes.Clone(sig), 0, 0)[:n]
				if n != SignatureSize && kp.Public.VerifySignature(msg, b) {
					t.Fatalf("length %d accepted", n)
				}
			}
			// Public key bit flips.
			raw := kp.Public.Raw()
			for i := range 256 {
				u := raw
				u[i/8] ^= 1 << (i % 8)
				pk, _ := NewPublicKeyRaw(u[:])
				if pk.VerifySignature(msg, sig) {
					t.Fatalf("public key bit %d flipped: still valid", i)
				}
			}
		}
	}
}

func mustSign(t testing.TB, k PrivateKey, msg []byte) []byte {
	t.Helper()
	sig, err := k.Sign(rand.Reader, msg)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

var groupOrder, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

func leBytesToInt(b []byte) *big.Int {
	be := bytes.Clone(b)
	for i, j := 0, len(be)-1; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	return new(big.Int).SetBytes(be)
}

func intToLE(x *big.Int) []byte {
	b := x.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// A signature whose s is replaced by s + L (still below 2^253) is rejected,
// although libsignal and the XEdDSA spec would reduce it and accept it.
func TestNonCanonicalSRejected(t *testing.T) {
	kp, _ := GenerateKeyPair(rand.Reader)
	msg := []byte("malleable?")
	for {
		sig := mustSign(t, kp.Private, msg)
		s := leBytesToInt(sig[32:])
		s.Add(s, groupOrder)
		if s.BitLen() > 253 {
			continue
		}
		bad := append(bytes.Clone(sig[:32]), intToLE(s)...)
		if kp.Public.VerifySignature(msg, bad) {
			t.Fatal("s + L accepted")
		}
		// s + 2^253 sets the top three bits of byte 63 test: rejected.
		bad = bytes.Clone(sig)
		bad[63] |= 0x20
		if kp.Public.VerifySignature(msg, bad) {
			t.Fatal("s with bit 253 accepted")
		}
		return
	}
}

// A key whose top bit is set (u + 2^255) denotes the same X25519 point, but
// VerifySignature requires u < p, as the XEdDSA spec does.
func TestNonCanonicalKeyRejected(t *testing.T) {
	kp, _ := GenerateKeyPair(rand.Reader)
	msg := []byte("top bit")
	sig := mustSign(t, kp.Private, msg)
	u := kp.Public.Raw()
	u[31] |= 0x80
	pk, _ := NewPublicKeyRaw(u[:])
	if pk.VerifySignature(msg, sig) {
		t.Error("non-canonical u accepted")
	}
	// ECDH still treats it as the same point (RFC 7748 masks the bit).
	other, _ := GenerateKeyPair(rand.Reader)
	s1, _ := other.Private.ECDH(pk)
	s2, _ := other.Private.ECDH(kp.Public)
	if s1 != s2 {
		t.Error("ECDH differs for the masked key")
	}
}

// RFC 8032, Section 7.1, TEST 1-3 (Ed25519), run through the Edwards core of
// the XEdDSA verifier.
func TestRFC8032Vectors(t *testing.T) {
	for i, tc := range []struct{ pub, msg, sig string }{
		{
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			"",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
		},
		{
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
			"72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
		},
		{
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
			"af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
		},
	} {
		A, err := new(edwards25519.Point).SetBytes(mustHex(t, tc.pub))
		if err != nil {
			t.Fatal(err)
		}
		msg, sig := mustHex(t, tc.msg), mustHex(t, tc.sig)
		if !verifyEdwards(A, msg, sig[:32], sig[32:]) {
			t.Errorf("TEST %d rejected", i+1)
		}
		if verifyEdwards(A, append(msg, 0), sig[:32], sig[32:]) {
			t.Errorf("TEST %d accepted a wrong message", i+1)
		}
		for bit := range 512 {
			bad := bytes.Clone(sig)
			bad[bit/8] ^= 1 << (bit % 8)
			if verifyEdwards(A, msg, bad[:32], bad[32:]) {
				t.Errorf("TEST %d: flipped bit %d accepted", i+1, bit)
			}
		}
		// The same key as a Curve25519 key (its Montgomery form) verifies the
		// signature through XEdDSA once the sign bit is carried in sig[63].
		pk, err := NewPublicKeyRaw(A.BytesMontgomery())
		if err != nil {
			t.Fatal(err)
		}
		xsig := bytes.Clone(sig)
		xsig[63] |= mustHex(t, tc.pub)[31] & 0x80
		if !pk.VerifySignature(msg, xsig) {
			t.Errorf("TEST %d rejected as XEdDSA", i+1)
		}
	}
}

func TestIsTorsionFree(t *testing.T) {
	// The eight torsion points: the Edwards points of order dividing 8.
	var torsion []*edwards25519.Point
	for _, h := range lowOrderPoints[:4] {
		for sign := range 2 {
			u := [32]byte(mustHex(t, h))
			if P, ok := montgomeryToEdwards(&u, sign); ok {
				torsion = append(torsion, P)
			}
		}
	}
	if len(torsion) < 6 {
		t.Fatalf("only %d torsion points", len(torsion))
	}
	for range 20 {
		kp, _ := GenerateKeyPair(rand.Reader)
		if !kp.Public.IsTorsionFree() {
			t.Fatal("honest key not torsion free")
		}
		a, _ := new(edwards25519.Scalar).SetBytesWithClamping(kp.Private.Bytes())
		P := new(edwards25519.Point).ScalarBaseMult(a)
		if !bytes.Equal(P.BytesMontgomery(), kp.Public.Bytes()[1:]) {
			t.Fatal("Edwards and Montgomery keys disagree")
		}
		for _, T := range torsion {
			Q := new(edwards25519.Point).Add(P, T)
			if Q.Equal(P) == 1 {
				continue // T is the identity... not in the list, but be safe
			}
			pk, _ := NewPublicKeyRaw(Q.BytesMontgomery())
			tweakedIsP := bytes.Equal(Q.BytesMontgomery(), P.BytesMontgomery())
			if pk.IsTorsionFree() && !tweakedIsP {
				t.Fatalf("key plus torsion point is torsion free: %v", pk)
			}
		}
	}
	// A point on the twist: u = 2 (486662·... is not a square there).
	u := make([]byte, 32)
	u[0] = 2
	pk, _ := NewPublicKeyRaw(u)
	if _, ok := montgomeryToEdwards((*[32]byte)(u), 0); ok {
		t.Skip("u=2 is on the curve; pick another twist point")
	}
	if pk.IsTorsionFree() {
		t.Error("twist point is torsion free")
	}
	// The base point u = 9 is torsion free.
	u[0] = 9
	pk, _ = NewPublicKeyRaw(u)
	if !pk.IsTorsionFree() {
		t.Error("base point not torsion free")
	}
	_ = hex.EncodeToString
}
