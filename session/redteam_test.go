package session_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// TestRedteamIncomingX3DHForVersion4Device: issue #20 item 13, red team.
// The downgrade check ran only when we process a bundle. The server strips
// the Kyber prekey from the bundle *Bob* fetches for Alice once Bob has no
// session left (he deleted it, or lost it): Bob's cipher sees no record and
// builds X3DH, and Alice accepted the version 3 PreKeySignalMessage, which
// replaced her live version 4 session with Bob's device — every later
// message both ways without PQXDH or SPQR, with no explicit reset on her
// side. A version 3 session offered by a device whose record shows version
// 4 is now ErrDowngrade, and changes nothing.
func TestRedteamIncomingX3DHForVersion4Device(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t, session.WithPolicy(session.AllowX3DH))
	if v, err := alice.cipher.SessionVersion(ctx, bob.addr); err != nil || v != 4 {
		t.Fatalf("session version %d, %v", v, err)
	}
	if err := bob.cipher.DeleteSession(ctx, alice.addr); err != nil {
		t.Fatal(err)
	}
	if err := bob.cipher.ProcessBundle(ctx, alice.addr, alice.bundle(t, true, false)); err != nil {
		t.Fatal(err)
	}
	w := bob.send(t, alice, "x3dh now")
	before := alice.record(t, bob.addr)
	_, err := alice.cipher.Decrypt(ctx, bob.addr, w.typ, w.ct)
	if !errors.Is(err, session.ErrDowngrade) {
		v, _ := alice.cipher.SessionVersion(ctx, bob.addr)
		t.Fatalf("version 3 first message from a device that spoke version 4: %v (session version now %d)", err, v)
	}
	if !bytes.Equal(before, alice.record(t, bob.addr)) {
		t.Fatal("refused message changed the record")
	}
	// After Alice deletes the session deliberately, X3DH is accepted.
	if err := alice.cipher.DeleteSession(ctx, bob.addr); err != nil {
		t.Fatal(err)
	}
	alice.recv(t, bob, w)
}
