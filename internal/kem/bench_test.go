package kem

import (
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

func benchTypes(b *testing.B, f func(b *testing.B, kp KeyPair)) {
	for _, typ := range types {
		b.Run(typ.String(), func(b *testing.B) {
			kp, err := GenerateKeyPair(typ, rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			f(b, kp)
		})
	}
}

func BenchmarkGenerateKeyPair(b *testing.B) {
	benchTypes(b, func(b *testing.B, kp KeyPair) {
		for b.Loop() {
			if _, err := GenerateKeyPair(kp.Public.Type(), rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncapsulate(b *testing.B) {
	benchTypes(b, func(b *testing.B, kp KeyPair) {
		for b.Loop() {
			if _, _, err := kp.Public.Encapsulate(rand.Reader); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecapsulate(b *testing.B) {
	benchTypes(b, func(b *testing.B, kp KeyPair) {
		ct, _, _ := kp.Public.Encapsulate(rand.Reader)
		for b.Loop() {
			if _, err := kp.Secret.Decapsulate(ct); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNewPublicKey(b *testing.B) {
	benchTypes(b, func(b *testing.B, kp KeyPair) {
		ser := kp.Public.Bytes()
		for b.Loop() {
			if _, err := NewPublicKey(ser); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSHA256AfterKyber: SHA-NI after circl's AVX2 Kyber code, which
// is slow unless the upper halves of the vector registers are cleared.
func BenchmarkSHA256AfterKyber(b *testing.B) {
	kp, err := GenerateKeyPair(Kyber1024, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var msg [32]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := kp.Public.Encapsulate(rand.Reader); err != nil {
			b.Fatal(err)
		}
		for range 10 {
			msg = sha256.Sum256(msg[:])
		}
	}
}
