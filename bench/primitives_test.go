package bench

import (
	"crypto/rand"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/aescbc"
	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/kdf"
	"github.com/interlock-e2ee/interlock/internal/kem"
)

// BenchmarkPrimitives is the work a protocol operation cannot avoid, so that
// every protocol figure can be read as a ratio to it.
func BenchmarkPrimitives(b *testing.B) {
	a, _ := curve.GenerateKeyPair(rand.Reader)
	c, _ := curve.GenerateKeyPair(rand.Reader)
	msg := make([]byte, 1024)
	sig, _ := a.Private.Sign(rand.Reader, msg[:33])
	kp, _ := kem.GenerateKeyPair(kem.Kyber1024, rand.Reader)
	ct, _, _ := kp.Public.Encapsulate(rand.Reader)
	key, iv := make([]byte, 32), make([]byte, 16)
	cbc, _ := aescbc.Encrypt(key, iv, msg)
	run := func(name string, n int, f func()) {
		b.Run(name, func(b *testing.B) {
			if n > 0 {
				b.SetBytes(int64(n))
			}
			b.ReportAllocs()
			for b.Loop() {
				f()
			}
		})
	}
	run("X25519", 0, func() { a.Private.ECDH(c.Public) })
	run("X25519-keygen", 0, func() { curve.GenerateKeyPair(rand.Reader) })
	run("XEdDSA-sign", 0, func() { a.Private.Sign(rand.Reader, msg[:33]) })
	run("XEdDSA-verify", 0, func() { a.Public.VerifySignature(msg[:33], sig) })
	run("Kyber1024-keygen", 0, func() { kem.GenerateKeyPair(kem.Kyber1024, rand.Reader) })
	run("Kyber1024-encaps", 0, func() { kp.Public.Encapsulate(rand.Reader) })
	run("Kyber1024-decaps", 0, func() { kp.Secret.Decapsulate(ct) })
	run("HKDF-80B", 0, func() { kdf.HKDF(key, nil, []byte("WhisperMessageKeys"), 80) })
	run("AES-CBC-encrypt-1KiB", 1024, func() { aescbc.Encrypt(key, iv, msg) })
	run("AES-CBC-decrypt-1KiB", 1024, func() { aescbc.Decrypt(key, iv, cbc) })
	run("HMAC-SHA256-1KiB", 1024, func() { aescbc.HMACSHA256(key, msg) })
	run("HMAC-SHA256-32B", 32, func() { aescbc.HMACSHA256(key, msg[:32]) })
}
