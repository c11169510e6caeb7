package kem

import (
	"bytes"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"
)

var types = []Type{Kyber1024, MLKEM1024}

func TestRoundTrip(t *testing.T) {
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			for range 10 {
				kp, err := GenerateKeyPair(typ, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				if kp.Public.Type() != typ || kp.Secret.Type() != typ || !kp.Secret.PublicKey().Equal(kp.Public) {
					t.Fatal("key pair inconsistent")
				}
				pub, err := NewPublicKey(kp.Public.Bytes())
				if err != nil || !pub.Equal(kp.Public) {
					t.Fatalf("public key round trip: %v", err)
				}
				if len(pub.Bytes()) != 1+Kyber1024PublicKeySize || pub.Bytes()[0] != byte(typ) {
					t.Fatal("public key encoding")
				}
				sk, err := NewSecretKey(kp.Secret.Bytes())
				if err != nil || !bytes.Equal(sk.Bytes(), kp.Secret.Bytes()) || !sk.PublicKey().Equal(pub) {
					t.Fatalf("secret key round trip: %v", err)
				}
				ct, ss, err := pub.Encapsulate(rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				if len(ct) != 1+Kyber1024CiphertextSize || ct[0] != byte(typ) || len(ss) != SharedSecretSize {
					t.Fatalf("sizes: ct %d ss %d", len(ct), len(ss))
				}
				ss2, err := sk.Decapsulate(ct)
				if err != nil || !bytes.Equal(ss, ss2) {
					t.Fatalf("decapsulate: %v", err)
				}
				// Implicit rejection: a corrupted ciphertext gives another secret.
				ct[100] ^= 1
				ss3, err := sk.Decapsulate(ct)
				if err != nil || bytes.Equal(ss, ss3) {
					t.Fatalf("corrupted ciphertext: %v", err)
				}
				// Another key pair gets another secret.
				other, _ := GenerateKeyPair(typ, rand.Reader)
				ct[100] ^= 1
				if ss4, _ := other.Secret.Decapsulate(ct); bytes.Equal(ss, ss4) {
					t.Fatal("other key decapsulated to the same secret")
				}
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	seed := bytes.Repeat([]byte{9}, 64)
	for _, typ := range types {
		a, _ := GenerateKeyPair(typ, bytes.NewReader(seed))
		b, _ := GenerateKeyPair(typ, bytes.NewReader(seed))
		if !a.Public.Equal(b.Public) || !bytes.Equal(a.Secret.Bytes(), b.Secret.Bytes()) {
			t.Errorf("%v: key generation not deterministic", typ)
		}
		if _, err := GenerateKeyPair(typ, bytes.NewReader(seed[:63])); err == nil {
			t.Errorf("%v: short randomness accepted", typ)
		}
	}
	kp, _ := GenerateKeyPair(Kyber1024, bytes.NewReader(seed))
	m := bytes.Repeat([]byte{3}, 32)
	c1, s1, _ := kp.Public.Encapsulate(bytes.NewReader(m))
	c2, s2, _ := kp.Public.Encapsulate(bytes.NewReader(m))
	if !bytes.Equal(c1, c2) || !bytes.Equal(s1, s2) {
		t.Error("Kyber encapsulation not deterministic")
	}
	if _, _, err := kp.Public.Encapsulate(bytes.NewReader(m[:31])); err == nil {
		t.Error("short randomness accepted")
	}
}

// The wrapper and circl's Kyber-1024 agree: same keys from the same seed,
// same ciphertext and secret from the same encapsulation seed, and each
// decapsulates the other's ciphertexts.
func TestKyberMatchesCircl(t *testing.T) {
	for range 5 {
		seed := make([]byte, 64)
		rand.Read(seed)
		kp, err := GenerateKeyPair(Kyber1024, bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		cpk, csk := kyber1024.NewKeyFromSeed(seed)
		pkb, _ := cpk.MarshalBinary()
		skb, _ := csk.MarshalBinary()
		if !bytes.Equal(kp.Public.Bytes()[1:], pkb) || !bytes.Equal(kp.Secret.Bytes()[1:], skb) {
			t.Fatal("keys differ from circl's")
		}
		m := make([]byte, 32)
		rand.Read(m)
		ct, ss, _ := kp.Public.Encapsulate(bytes.NewReader(m))
		cct, css, err := kyber1024.Scheme().EncapsulateDeterministically(cpk, m)
		if err != nil || !bytes.Equal(ct[1:], cct) || !bytes.Equal(ss, css) {
			t.Fatal("encapsulation differs from circl's")
		}
		cct2, css2, _ := kyber1024.Scheme().Encapsulate(cpk)
		got, err := kp.Secret.Decapsulate(append([]byte{byte(Kyber1024)}, cct2...))
		if err != nil || !bytes.Equal(got, css2) {
			t.Fatal("decapsulation of circl's ciphertext")
		}
		css3, _ := kyber1024.Scheme().Decapsulate(csk, ct[1:])
		if !bytes.Equal(css3, ss) {
			t.Fatal("circl decapsulation of our ciphertext")
		}
	}
}

// The wrapper and crypto/mlkem agree for ML-KEM-1024.
func TestMLKEMMatchesStdlib(t *testing.T) {
	for range 5 {
		seed := make([]byte, 64)
		rand.Read(seed)
		kp, err := GenerateKeyPair(MLKEM1024, bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		dk, _ := mlkem.NewDecapsulationKey1024(seed)
		if !bytes.Equal(kp.Public.Bytes()[1:], dk.EncapsulationKey().Bytes()) || !bytes.Equal(kp.Secret.Bytes()[1:], dk.Bytes()) {
			t.Fatal("keys differ from crypto/mlkem's")
		}
		m := make([]byte, 32)
		rand.Read(m)
		ss, c, err := mlkemtest.Encapsulate1024(dk.EncapsulationKey(), m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := kp.Secret.Decapsulate(append([]byte{byte(MLKEM1024)}, c...))
		if err != nil || !bytes.Equal(got, ss) {
			t.Fatal("decapsulation of crypto/mlkem's ciphertext")
		}
		ct, ss2, _ := kp.Public.Encapsulate(nil)
		if got, _ := dk.Decapsulate(ct[1:]); !bytes.Equal(got, ss2) {
			t.Fatal("crypto/mlkem decapsulation of our ciphertext")
		}
	}
}

func TestParsingErrors(t *testing.T) {
	kp, _ := GenerateKeyPair(Kyber1024, rand.Reader)
	pub := kp.Public.Bytes()
	for _, tc := range []struct {
		b    []byte
		want error
	}{
		{nil, ErrUnknownType},
		{[]byte{0x07}, ErrUnknownType},
		{append([]byte{0x07}, pub[1:]...), ErrUnknownType},
		{append([]byte{0x05}, pub[1:]...), ErrUnknownType},
		{pub[:len(pub)-1], ErrInvalidKey},
		{append(bytes.Clone(pub), 0), ErrInvalidKey},
		{[]byte{byte(Kyber1024)}, ErrInvalidKey},
	} {
		if _, err := NewPublicKey(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("NewPublicKey(%x...): %v, want %v", tc.b[:min(len(tc.b), 4)], err, tc.want)
		}
	}
	// ML-KEM public keys must pass the FIPS 203 modulus check; Kyber keys
	// are accepted as the round-3 reference does.
	mk, _ := GenerateKeyPair(MLKEM1024, rand.Reader)
	bad := mk.Public.Bytes()
	bad[1], bad[2] = 0xff, bad[2]|0x0f // first coefficient = 4095 >= q
	if _, err := NewPublicKey(bad); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("non-reduced ML-KEM key: %v", err)
	}
	bad[0] = byte(Kyber1024)
	if _, err := NewPublicKey(bad); err != nil {
		t.Errorf("non-reduced Kyber key: %v", err)
	}

	sk := kp.Secret.Bytes()
	for _, tc := range []struct {
		b    []byte
		want error
	}{
		{nil, ErrUnknownType},
		{append([]byte{0x09}, sk[1:]...), ErrUnknownType},
		{sk[:len(sk)-1], ErrInvalidKey},
		{append(bytes.Clone(sk), 0), ErrInvalidKey},
		{append([]byte{byte(MLKEM1024)}, sk[1:]...), ErrInvalidKey},
		{append([]byte{byte(MLKEM1024)}, make([]byte, 63)...), ErrInvalidKey},
	} {
		if _, err := NewSecretKey(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("NewSecretKey(len %d): %v, want %v", len(tc.b), err, tc.want)
		}
	}
	// A wrong H(pk) inside a Kyber secret key.
	sk[1+1536+1568] ^= 1
	if _, err := NewSecretKey(sk); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("bad H(pk): %v", err)
	}
}

func TestDecapsulateErrors(t *testing.T) {
	for _, typ := range types {
		kp, _ := GenerateKeyPair(typ, rand.Reader)
		ct, _, _ := kp.Public.Encapsulate(rand.Reader)
		other := Kyber1024
		if typ == Kyber1024 {
			other = MLKEM1024
		}
		wrongType := append([]byte{byte(other)}, ct[1:]...)
		for _, c := range [][]byte{nil, {byte(typ)}, ct[:len(ct)-1], append(bytes.Clone(ct), 0), wrongType, ct[1:]} {
			if _, err := kp.Secret.Decapsulate(c); !errors.Is(err, ErrInvalidCiphertext) {
				t.Errorf("%v: len %d: %v", typ, len(c), err)
			}
		}
	}
	var zero SecretKey
	if _, err := zero.Decapsulate(make([]byte, 1569)); !errors.Is(err, ErrInvalidKey) {
		t.Error(err)
	}
	var zp PublicKey
	if _, _, err := zp.Encapsulate(nil); !errors.Is(err, ErrInvalidKey) {
		t.Error(err)
	}
	if !zp.IsZero() || !zero.IsZero() || zp.Bytes() != nil || zero.Bytes() != nil || zp.Type() != 0 || zero.Type() != 0 {
		t.Error("zero values")
	}
	if !zp.Equal(PublicKey{}) || !zero.PublicKey().IsZero() {
		t.Error("zero Equal")
	}
	if _, err := GenerateKeyPair(0x07, rand.Reader); !errors.Is(err, ErrUnknownType) {
		t.Error(err)
	}
}

func TestSecretKeyNeverPrinted(t *testing.T) {
	for _, typ := range types {
		kp, _ := GenerateKeyPair(typ, rand.Reader)
		secret := hex.EncodeToString(kp.Secret.Bytes()[1:17])
		type holder struct {
			k  SecretKey
			kp KeyPair
		}
		h := holder{kp.Secret, kp}
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
			for _, v := range []any{kp.Secret, &kp.Secret, kp, &kp, h, &h} {
				out := fmt.Sprintf(f, v)
				if strings.Contains(strings.ToLower(out), secret) || strings.Contains(out, fmt.Sprint(kp.Secret.Bytes()[1:9])[1:20]) {
					t.Errorf("%s of %T leaks: %.200s", f, v, out)
				}
			}
		}
		if !strings.Contains(kp.Secret.String(), "REDACTED") {
			t.Error(kp.Secret.String())
		}
	}
}

// A generated key pair is the one its serialization parses to.
func TestGeneratedMatchesParsed(t *testing.T) {
	for _, typ := range types {
		kp, err := GenerateKeyPair(typ, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := NewSecretKey(kp.Secret.Bytes())
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		if !sk.PublicKey().Equal(kp.Public) || !bytes.Equal(sk.PublicKey().Bytes(), kp.Public.Bytes()) {
			t.Fatalf("%v: public keys differ", typ)
		}
		ct, ss, _ := kp.Public.Encapsulate(rand.Reader)
		got1, err1 := kp.Secret.Decapsulate(ct)
		got2, err2 := sk.Decapsulate(ct)
		if err1 != nil || err2 != nil || !bytes.Equal(got1, ss) || !bytes.Equal(got2, ss) {
			t.Fatalf("%v: decapsulation differs", typ)
		}
	}
}
