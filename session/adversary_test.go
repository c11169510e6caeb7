package session_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/adversary"
	"github.com/interlock-e2ee/interlock/session"
)

// TestAdversaryPQRatchetRefused: the conformance peer's adversary mode
// (internal/adversary, issue #21 item 1) writes a SignalMessage without
// pq_ratchet, or with an unknown SPQR version, on a session that negotiated
// SPQR. Interlock refuses both without changing its record, and the
// conversation goes on; the sender's SPQR state did not advance.
func TestAdversaryPQRatchetRefused(t *testing.T) {
	alice, bob := established(t)
	bob.recv(t, alice, alice.send(t, bob, "negotiated"))
	for _, dev := range []adversary.PQRatchet{{Omit: true}, {Version: 2}, {Version: 0}} {
		ctx := adversary.WithPQRatchet(context.Background(), dev)
		typ, ct, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("downgraded"))
		if err != nil || typ != session.TypeSignal {
			t.Fatalf("%+v: encrypt: %v, type %d", dev, err, typ)
		}
		m, err := session.ParseSignalMessage(ct)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.PQRatchet, dev.Bytes()) {
			t.Fatalf("%+v: pq_ratchet %x, want %x", dev, m.PQRatchet, dev.Bytes())
		}
		before := bob.record(t, alice.addr)
		if pt, err := bob.cipher.Decrypt(context.Background(), alice.addr, typ, ct); err == nil {
			t.Fatalf("%+v: accepted (%q)", dev, pt)
		}
		if !bytes.Equal(before, bob.record(t, alice.addr)) {
			t.Fatalf("%+v: the refused message changed the record", dev)
		}
		bob.recv(t, alice, alice.send(t, bob, "honest again"))
		alice.recv(t, bob, bob.send(t, alice, "answer"))
	}
}
