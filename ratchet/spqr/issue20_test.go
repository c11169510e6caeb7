package spqr

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

// TestIssue20Item6_UnknownVersionAfterNegotiation: issue #20 item 6. Once a
// session speaks SPQR V1 — negotiation is over (a V1 message arrived), or
// MinVersion is V1 — a pq_ratchet that is empty or carries a version the
// session does not speak gives no SPQR key, so accepting it would let whoever
// holds only the classical state inject messages without the post-quantum
// salt. Such a message is refused with ErrVersion and the state is unchanged.
// Before negotiation with MinVersion V0 the behaviour stays libsignal's (spqr
// v1.5.3 recv: an unknown version is ignored, an empty field downgrades).
func TestIssue20Item6_UnknownVersionAfterNegotiation(t *testing.T) {
	bad := map[string][]byte{
		"empty":                       nil,
		"version 2":                   {2, 1, 2, 3},
		"version 2 shaped as V1 none": {2, 1, 1, 0},
		"version 255":                 {0xff},
	}
	refuse := func(t *testing.T, s *State) {
		t.Helper()
		before := s.Marshal()
		for name, m := range bad {
			next, key, err := s.Recv(m)
			if !errors.Is(err, ErrVersion) || next != nil || key != nil {
				t.Errorf("%s: got (%v, %x, %v), want ErrVersion", name, next != nil, key, err)
			}
			if !bytes.Equal(before, s.Marshal()) {
				t.Fatalf("%s: state changed", name)
			}
		}
	}

	// Negotiated: B received A's first V1 message (MinVersion V0).
	a, b := newPair(t, V0)
	a, m, _, _ := a.Send(rand.Reader)
	b, _, err := b.Recv(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("negotiated responder", func(t *testing.T) { refuse(t, b) })
	// And A once B's reply arrived.
	b, m, _, _ = b.Send(rand.Reader)
	if a, _, err = a.Recv(m); err != nil {
		t.Fatal(err)
	}
	t.Run("negotiated initiator", func(t *testing.T) { refuse(t, a) })
	// Both sides still work after the refused messages.
	_, m, key, _ := a.Send(rand.Reader)
	if _, got, err := b.Recv(m); err != nil || key == nil || !bytes.Equal(got, key) {
		t.Fatalf("conversation broken after refusal: %v", err)
	}
	// The negotiated state survives storage with the same rule.
	t.Run("negotiated, stored", func(t *testing.T) { refuse(t, roundTrip(t, b)) })

	// MinVersion V1 (RequireSPQR): SPQR is required from the first message.
	a1, b1 := newPair(t, V1)
	t.Run("MinVersion V1 initiator", func(t *testing.T) { refuse(t, a1) })
	t.Run("MinVersion V1 responder", func(t *testing.T) { refuse(t, b1) })

	// Before negotiation with MinVersion V0 (PreferSPQR): libsignal's
	// behaviour. An unknown version is ignored (no key, still negotiating)...
	a0, _ := newPair(t, V0)
	next, key, err := a0.Recv([]byte{2, 1, 2, 3})
	if err != nil || key != nil {
		t.Fatalf("unknown version before negotiation: %v", err)
	}
	if v, neg := next.Version(); v != V1 || !neg {
		t.Fatalf("unknown version ended negotiation: v%d, negotiating %v", v, neg)
	}
	// ... and an empty field falls back to V0 (a libsignal 0.90 peer without SPQR).
	off, key, err := a0.Recv(nil)
	if err != nil || key != nil {
		t.Fatal(err)
	}
	if v, neg := off.Version(); v != V0 || neg {
		t.Fatal("not downgraded")
	}
	// A V0 session speaks no SPQR at all: anything is ignored, as in libsignal.
	for name, m := range bad {
		if _, key, err := off.Recv(m); err != nil || key != nil {
			t.Errorf("V0 session, %s: %v", name, err)
		}
	}
}
