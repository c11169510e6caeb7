package kdf

import (
	"crypto/hkdf"
	"crypto/sha256"
	"testing"
)

func BenchmarkHKDF80(b *testing.B) {
	secret := make([]byte, 32)
	info := []byte("WhisperMessageKeys")
	b.ReportAllocs()
	b.SetBytes(80)
	for b.Loop() {
		if _, err := HKDF(secret, nil, info, 80); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHKDFInto80(b *testing.B) {
	secret := make([]byte, 32)
	salt := make([]byte, 32)
	info := []byte("WhisperMessageKeys")
	dst := make([]byte, 80)
	b.ReportAllocs()
	b.SetBytes(80)
	for b.Loop() {
		if err := HKDFInto(dst, secret, salt, info); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHMAC2(b *testing.B) {
	key := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = HMAC2(key, []byte{1}, []byte{2})
	}
}

// BenchmarkStdlibHKDF80 is crypto/hkdf on the same input, for comparison.
func BenchmarkStdlibHKDF80(b *testing.B) {
	secret := make([]byte, 32)
	salt := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hkdf.Key(sha256.New, secret, salt, "WhisperMessageKeys", 80); err != nil {
			b.Fatal(err)
		}
	}
}
