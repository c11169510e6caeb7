package media

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
)

var benchSizes = []int{1 << 20, 64 << 20}

// BenchmarkRawCBCHMAC is the baseline: AES-256-CBC encryption plus one
// HMAC-SHA256 over the same bytes, in place, in one buffer.
func BenchmarkRawCBCHMAC(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", n>>20), func(b *testing.B) {
			buf := make([]byte, n)
			key, iv := make([]byte, 32), make([]byte, 16)
			block, _ := aes.NewCipher(key)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
				m := hmac.New(sha256.New, key)
				m.Write(buf)
				m.Sum(nil)
			}
		})
	}
}

func BenchmarkEncryptWhatsApp(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", n>>20), func(b *testing.B) {
			pt := make([]byte, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := EncryptWhatsApp(rand.Reader, io.Discard, bytes.NewReader(pt), Document); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecryptWhatsApp(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", n>>20), func(b *testing.B) {
			blob, info := sealWhatsApp(b, Document, make([]byte, n))
			check := &WhatsAppCheck{FileEncSHA256: info.FileEncSHA256}
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if err := DecryptWhatsApp(io.Discard, bytes.NewReader(blob), int64(len(blob)), Document, info.MediaKey, check); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncryptSignal(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", n>>20), func(b *testing.B) {
			pt := make([]byte, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := EncryptSignal(rand.Reader, io.Discard, bytes.NewReader(pt), int64(n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecryptSignal(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("%dMiB", n>>20), func(b *testing.B) {
			blob, info := sealSignal(b, make([]byte, n))
			check := &SignalCheck{Digest: info.Digest, IncrementalMAC: info.IncrementalMAC, ChunkSize: info.ChunkSize}
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if err := DecryptSignal(io.Discard, bytes.NewReader(blob), int64(len(blob)), info.Key, int64(n), check); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
