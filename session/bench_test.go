package session_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
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

// BenchmarkForgedSignalMessage (issue #20 item 5): a SignalMessage whose
// MAC does not match, against a record with no archived state and with
// session.MaxArchivedStates of them, next to the honest message with the
// same header (a new chain at counter 0). Rejection is bounded by the
// current state's trial and one archived one.
func BenchmarkForgedSignalMessage(b *testing.B) {
	ctx := context.Background()
	for _, archived := range []int{0, session.MaxArchivedStates} {
		b.Run(fmt.Sprintf("archived=%d", archived), func(b *testing.B) {
			alice, bob := established(b)
			for range archived {
				if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(b, true, true)); err != nil {
					b.Fatal(err)
				}
				bob.recv(b, alice, alice.send(b, bob, "restart"))
			}
			alice.recv(b, bob, bob.send(b, alice, "answered"))
			w := alice.send(b, bob, "new chain")
			forged := forge(w)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, forged); !errors.Is(err, session.ErrInvalidMessage) {
					b.Fatal(err)
				}
			}
		})
	}
}
