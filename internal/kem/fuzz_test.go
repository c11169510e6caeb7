package kem

import (
	"bytes"
	"testing"
)

func seeded(t Type, b byte) KeyPair {
	kp, err := GenerateKeyPair(t, bytes.NewReader(bytes.Repeat([]byte{b}, 64)))
	if err != nil {
		panic(err)
	}
	return kp
}

func FuzzKEMPublicKey(f *testing.F) {
	f.Add(seeded(Kyber1024, 1).Public.Bytes())
	f.Add(seeded(MLKEM1024, 1).Public.Bytes())
	f.Add([]byte{})
	f.Add([]byte{byte(Kyber1024)})
	f.Add(append([]byte{byte(MLKEM1024)}, bytes.Repeat([]byte{0xff}, 1568)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := NewPublicKey(b)
		if err != nil {
			if !pk.IsZero() {
				t.Fatal("key returned with an error")
			}
			return
		}
		if !bytes.Equal(pk.Bytes(), b) {
			t.Fatal("round trip")
		}
		ct, ss, err := pk.Encapsulate(bytes.NewReader(make([]byte, 32)))
		if err != nil || len(ct) != len(b) || len(ss) != SharedSecretSize {
			t.Fatalf("encapsulate: %v", err)
		}
	})
}

func FuzzNewSecretKey(f *testing.F) {
	f.Add(seeded(Kyber1024, 2).Secret.Bytes())
	f.Add(seeded(MLKEM1024, 2).Secret.Bytes())
	f.Add([]byte{byte(Kyber1024)})
	f.Fuzz(func(t *testing.T, b []byte) {
		sk, err := NewSecretKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(sk.Bytes(), b) {
			t.Fatal("round trip")
		}
		ct, ss, err := sk.PublicKey().Encapsulate(bytes.NewReader(make([]byte, 32)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sk.Decapsulate(ct); err != nil || len(ss) != SharedSecretSize {
			t.Fatal(err)
		}
	})
}

// FuzzDecapsulate feeds arbitrary ciphertexts to both key types: it must
// never panic, errors only for a wrong length or type, and always yields 32
// bytes otherwise.
func FuzzDecapsulate(f *testing.F) {
	ky, ml := seeded(Kyber1024, 3), seeded(MLKEM1024, 3)
	c1, _, _ := ky.Public.Encapsulate(bytes.NewReader(make([]byte, 32)))
	c2, _, _ := ml.Public.Encapsulate(nil)
	f.Add(c1)
	f.Add(c2)
	f.Add([]byte{})
	f.Add([]byte{byte(Kyber1024), 0})
	f.Fuzz(func(t *testing.T, ct []byte) {
		for _, sk := range []SecretKey{ky.Secret, ml.Secret} {
			ss, err := sk.Decapsulate(ct)
			wellFormed := len(ct) == 1+Kyber1024CiphertextSize && Type(ct[0]) == sk.Type()
			if wellFormed != (err == nil) {
				t.Fatalf("%v: len %d type %x: err %v", sk.Type(), len(ct), ct[:min(1, len(ct))], err)
			}
			if err == nil && len(ss) != SharedSecretSize {
				t.Fatal("short secret")
			}
		}
	})
}
