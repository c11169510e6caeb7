package kdf

import "testing"

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
