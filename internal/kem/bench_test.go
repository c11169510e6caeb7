package kem

import (
	"crypto/rand"
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
