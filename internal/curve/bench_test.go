package curve

import (
	"crypto/rand"
	"testing"
)

func BenchmarkECDH(b *testing.B) {
	a, _ := GenerateKeyPair(rand.Reader)
	c, _ := GenerateKeyPair(rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Private.ECDH(c.Public); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewPublicKey(b *testing.B) {
	a, _ := GenerateKeyPair(rand.Reader)
	ser := a.Public.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewPublicKey(ser); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateKeyPair(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenerateKeyPair(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	a, _ := GenerateKeyPair(rand.Reader)
	msg := make([]byte, 33)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Private.Sign(rand.Reader, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	a, _ := GenerateKeyPair(rand.Reader)
	msg := make([]byte, 33)
	sig, _ := a.Private.Sign(rand.Reader, msg)
	b.ReportAllocs()
	for b.Loop() {
		if !a.Public.VerifySignature(msg, sig) {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkIsTorsionFree(b *testing.B) {
	a, _ := GenerateKeyPair(rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		if !a.Public.IsTorsionFree() {
			b.Fatal("not torsion free")
		}
	}
}
