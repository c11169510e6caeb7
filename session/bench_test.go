package session_test

import (
	"context"
	"testing"
)

// BenchmarkSteadyState is one encrypt and one decrypt of a 1 KiB message in
// one direction on an established session with in-memory stores.
func BenchmarkSteadyState(b *testing.B) {
	alice, bob := established(b)
	ctx := context.Background()
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		typ, ct, err := alice.cipher.Encrypt(ctx, bob.addr, msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bob.cipher.Decrypt(ctx, alice.addr, typ, ct); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPingPong alternates directions, so every message takes a DH
// ratchet step.
func BenchmarkPingPong(b *testing.B) {
	alice, bob := established(b)
	ctx := context.Background()
	msg := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		typ, ct, err := alice.cipher.Encrypt(ctx, bob.addr, msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bob.cipher.Decrypt(ctx, alice.addr, typ, ct); err != nil {
			b.Fatal(err)
		}
		alice, bob = bob, alice
	}
}
