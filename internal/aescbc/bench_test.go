package aescbc

import "testing"

func BenchmarkEncrypt1K(b *testing.B) {
	key, iv, pt := make([]byte, 32), make([]byte, 16), make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := Encrypt(key, iv, pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEncrypt1K(b *testing.B) {
	key, iv, pt := make([]byte, 32), make([]byte, 16), make([]byte, 1024)
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := AppendEncrypt(buf[:0], key, iv, pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt1K(b *testing.B) {
	key, iv := make([]byte, 32), make([]byte, 16)
	ct, _ := Encrypt(key, iv, make([]byte, 1024))
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := Decrypt(key, iv, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHMACSHA256_1K(b *testing.B) {
	key, data := make([]byte, 32), make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		_ = HMACSHA256(key, data)
	}
}
