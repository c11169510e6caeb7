package session_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

// reload replaces p's record for addr by one parsed from raw, as a store
// that serializes records would hand it back.
func (p *party) reload(t *testing.T, addr session.Address, raw []byte) {
	t.Helper()
	r, err := session.UnmarshalRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.StoreSession(context.Background(), addr, r); err != nil {
		t.Fatal(err)
	}
}

// TestArchivedStatesParsedOnDemand: a record loaded from its serialized form
// keeps its archived states serialized (it round-trips byte for byte); a
// late message of an archived session decrypts from it; an archived state
// that does not parse leaves the current session working and fails only a
// message that needs it, with the record unchanged.
func TestArchivedStatesParsedOnDemand(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	late := alice.send(t, bob, "on the first session")
	// Alice starts over from a fresh bundle: at Bob, the first session is
	// archived when the new one arrives.
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	bob.recv(t, alice, alice.send(t, bob, "on the second session"))
	alice.recv(t, bob, bob.send(t, alice, "reply on the second session"))

	raw := bob.record(t, alice.addr)
	r, err := session.UnmarshalRecord(raw)
	if err != nil || r.ArchivedStates() != 1 {
		t.Fatalf("record: %v, %d archived", err, r.ArchivedStates())
	}
	if again, err := r.Marshal(); err != nil || !bytes.Equal(again, raw) {
		t.Fatalf("record does not round-trip: %v", err)
	}

	// An archived state that does not parse, next to the good one.
	bad := protowire.AppendTag(bytes.Clone(raw), 2, protowire.BytesType)
	bad = protowire.AppendBytes(bad, []byte{0x0a, 0x40, 0x01})
	bob.reload(t, alice.addr, bad)
	if got := bob.record(t, alice.addr); !bytes.Equal(got, bad) {
		t.Fatal("a record with an unparsable archived state does not round-trip")
	}
	bob.recv(t, alice, alice.send(t, bob, "current session, record with a bad archived state"))
	// A bad MAC: the current state, the good archived one and the bad one
	// are all tried.
	w := alice.send(t, bob, "tampered")
	w.ct[len(w.ct)-1] ^= 1
	before := bob.record(t, alice.addr)
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, w.ct); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("tampered message: %v", err)
	}
	if !bytes.Equal(bob.record(t, alice.addr), before) {
		t.Fatal("a failed decrypt changed the record")
	}

	// From the good record: the late message decrypts with the archived
	// state, which becomes current.
	bob.reload(t, alice.addr, raw)
	bob.recv(t, alice, late)
	r, err = session.UnmarshalRecord(bob.record(t, alice.addr))
	if err != nil || r.ArchivedStates() != 1 {
		t.Fatalf("after the late message: %v, %d archived", err, r.ArchivedStates())
	}
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, late.typ, late.ct); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Fatalf("replay of the late message: %v", err)
	}
}
