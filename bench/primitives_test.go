package bench

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/aescbc"
	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/kdf"
	"github.com/interlock-e2ee/interlock/internal/kem"
	"github.com/interlock-e2ee/interlock/internal/mlkem768"
)

// BenchmarkPrimitives is the work a protocol operation cannot avoid, so that
// every protocol figure can be read as a ratio to it.
func BenchmarkPrimitives(b *testing.B) {
	a, _ := curve.GenerateKeyPair(rand.Reader)
	c, _ := curve.GenerateKeyPair(rand.Reader)
	msg := make([]byte, 64<<10)
	sig, _ := a.Private.Sign(rand.Reader, msg[:33])
	kp, _ := kem.GenerateKeyPair(kem.Kyber1024, rand.Reader)
	ct, _, _ := kp.Public.Encapsulate(rand.Reader)
	key, iv := make([]byte, 32), make([]byte, 16)
	seed := make([]byte, mlkem768.SeedSize)
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
	// The PQXDH responder's check of the initiator's base key (u < p and
	// [L]P = O).
	run("X25519-torsion-check", 0, func() { c.Public.IsTorsionFree() })
	run("Kyber1024-keygen", 0, func() { kem.GenerateKeyPair(kem.Kyber1024, rand.Reader) })
	run("Kyber1024-encaps", 0, func() { kp.Public.Encapsulate(rand.Reader) })
	run("Kyber1024-decaps", 0, func() { kp.Secret.Decapsulate(ct) })
	run("MLKEM768-keygen", 0, func() { mlkem768.GenerateKey(seed) })
	run("HKDF-80B", 0, func() { kdf.HKDF(key, nil, []byte("WhisperMessageKeys"), 80) })
	run("HKDF-64B", 0, func() { kdf.HKDF(key, key, []byte("WhisperRatchet"), 64) })
	// PQXDH's secrets: 32 0xFF bytes, four DH outputs and the KEM secret in,
	// root, chain and SPQR keys out.
	ikm := make([]byte, 6*32)
	run("HKDF-96B", 0, func() { kdf.HKDF(ikm, nil, []byte("WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024"), 96) })
	for _, n := range []int{64, 1024, 64 << 10} {
		cbc, _ := aescbc.Encrypt(key, iv, msg[:n])
		run(fmt.Sprintf("AES-CBC-encrypt-%s", sizeName(n)), n, func() { aescbc.Encrypt(key, iv, msg[:n]) })
		run(fmt.Sprintf("AES-CBC-decrypt-%s", sizeName(n)), n, func() { aescbc.Decrypt(key, iv, cbc) })
		run(fmt.Sprintf("HMAC-SHA256-%s", sizeName(n)), n, func() { aescbc.HMACSHA256(key, msg[:n]) })
	}
	run("HMAC-SHA256-32B", 32, func() { aescbc.HMACSHA256(key, msg[:32]) })
}

// sizeName is how benchmark names spell a message size: 64B, 1KiB, 64KiB.
func sizeName(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
