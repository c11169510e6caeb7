package spqr

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

type inflight struct {
	msg []byte
	key []byte
}

func newPair(t testing.TB, min Version) (*State, *State) {
	t.Helper()
	key := bytes.Repeat([]byte{41}, 32)
	a, err := NewState(Params{Direction: A2B, Version: V1, MinVersion: min, AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewState(Params{Direction: B2A, Version: V1, MinVersion: min, AuthKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestConversation: two parties exchange messages with reordering (a
// delivery window of up to 8 messages, delivered in random order) and 20%
// drops; every delivered message's key agrees, epochs advance on both
// sides, and the state survives serialization at every step.
func TestConversation(t *testing.T) {
	for _, min := range []Version{V0, V1} {
		r := mrand.New(mrand.NewPCG(uint64(min), 99))
		a, b := newPair(t, min)
		var toA, toB []inflight
		keyed := 0
		deliver := func(dst **State, q *[]inflight) {
			i := r.IntN(len(*q))
			m := (*q)[i]
			*q = append((*q)[:i], (*q)[i+1:]...)
			next, key, err := (*dst).Recv(m.msg)
			if err != nil {
				t.Fatalf("recv: %v", err)
			}
			if !bytes.Equal(key, m.key) {
				t.Fatalf("key mismatch: sent %x, received %x", m.key, key)
			}
			if key != nil {
				keyed++
			}
			*dst = roundTrip(t, next)
		}
		for i := range 1000 {
			from, q := &a, &toB
			if r.IntN(2) == 1 {
				from, q = &b, &toA
			}
			next, msg, key, err := (*from).Send(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			*from = roundTrip(t, next)
			if r.IntN(5) != 0 {
				*q = append(*q, inflight{msg, key})
			}
			for len(toA) > 8 || (len(toA) > 0 && r.IntN(3) == 0) {
				deliver(&a, &toA)
			}
			for len(toB) > 8 || (len(toB) > 0 && r.IntN(3) == 0) {
				deliver(&b, &toB)
			}
			_ = i
		}
		ea, eb := a.braid.epoch, b.braid.epoch
		if ea < 5 || eb < 5 {
			t.Fatalf("min %d: epochs only reached %d and %d", min, ea, eb)
		}
		if keyed < 500 {
			t.Fatalf("only %d keyed messages", keyed)
		}
		t.Logf("min version %d: epochs %d/%d, %d keyed messages", min, ea, eb, keyed)
	}
}

func roundTrip(t testing.TB, s *State) *State {
	t.Helper()
	b := s.Marshal()
	s2, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if !bytes.Equal(s2.Marshal(), b) {
		t.Fatal("state serialization does not round-trip")
	}
	return s2
}

// TestNegotiation covers the V0/V1 rules.
func TestNegotiation(t *testing.T) {
	key := make([]byte, 32)
	// A V1 party with MinVersion V0 that hears an empty pq_ratchet turns SPQR off.
	a, _ := NewState(Params{Direction: A2B, Version: V1, MinVersion: V0, AuthKey: key})
	off, k, err := a.Recv(nil)
	if err != nil || k != nil {
		t.Fatal(err)
	}
	if v, neg := off.Version(); v != V0 || neg {
		t.Fatal("not downgraded")
	}
	_, msg, k, _ := off.Send(rand.Reader)
	if msg != nil || k != nil {
		t.Fatal("V0 sends SPQR")
	}
	// With MinVersion V1 the same message is refused.
	a1, _ := NewState(Params{Direction: A2B, Version: V1, MinVersion: V1, AuthKey: key})
	if _, _, err := a1.Recv(nil); !errors.Is(err, ErrVersion) {
		t.Fatalf("got %v", err)
	}
	// Once a V1 message arrived, a later V0 message is refused.
	a, b := newPair(t, V0)
	_, m, _, _ := a.Send(rand.Reader)
	b2, _, err := b.Recv(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, neg := b2.Version(); neg {
		t.Fatal("still negotiating")
	}
	if _, _, err := b2.Recv(nil); !errors.Is(err, ErrVersion) {
		t.Fatalf("got %v", err)
	}
	// Unknown higher versions are refused once negotiated (issue #20 item
	// 6; TestIssue20Item6_UnknownVersionAfterNegotiation covers the rest).
	if _, _, err := b2.Recv([]byte{2, 1, 2, 3}); !errors.Is(err, ErrVersion) {
		t.Fatalf("higher version after negotiation: %v", err)
	}
	// MinVersion V0: the first messages carry index 0 and no key; after the
	// first reply they are keyed (libsignal 0.90's 01 01 01 00).
	_, m, k, _ = a.Send(rand.Reader)
	if k != nil || m[2] != 0 {
		t.Fatalf("first message keyed: %x", m)
	}
	_, m, k, _ = b2.Send(rand.Reader)
	if k == nil || !bytes.Equal(m[:4], []byte{1, 1, 1, 0}) {
		t.Fatalf("reply %x", m)
	}
	// MinVersion V1: keyed from the first message.
	a, _ = newPair(t, V1)
	_, m, k, _ = a.Send(rand.Reader)
	if k == nil || m[2] != 1 {
		t.Fatalf("first message with MinVersion V1: %x", m)
	}
}

// TestTamper: a corrupted header chunk fails authentication and the
// receiver's state is unchanged.
func TestTamper(t *testing.T) {
	a, b := newPair(t, V1)
	var msgs [][]byte
	for range 3 {
		var m []byte
		a, m, _, _ = a.Send(rand.Reader)
		msgs = append(msgs, m)
	}
	var err error
	for _, m := range msgs[:2] {
		if b, _, err = b.Recv(m); err != nil {
			t.Fatal(err)
		}
	}
	before := b.Marshal()
	bad := bytes.Clone(msgs[2])
	bad[len(bad)-1] ^= 1
	if _, _, err := b.Recv(bad); !errors.Is(err, ErrMAC) {
		t.Fatalf("got %v", err)
	}
	if !bytes.Equal(before, b.Marshal()) {
		t.Fatal("state changed")
	}
	if _, _, err := b.Recv(msgs[2]); err != nil {
		t.Fatal(err)
	}
}

func TestChainLimits(t *testing.T) {
	c := newChain([]byte("1"), A2B, 0, 0)
	d := newChain([]byte("1"), B2A, 0, 0)
	i, k, _ := c.sendKey(0)
	if i != 1 {
		t.Fatal("first index")
	}
	got, err := d.recvKey(0, 1)
	if err != nil || !bytes.Equal(got, k) {
		t.Fatal("keys differ")
	}
	if _, err := d.recvKey(0, 1); !errors.Is(err, ErrDuplicate) {
		t.Fatal(err)
	}
	if _, err := d.recvKey(0, 2+DefaultMaxJump); !errors.Is(err, ErrTooFar) {
		t.Fatal(err)
	}
	if _, err := d.recvKey(0, 1+DefaultMaxJump); err != nil {
		t.Fatal(err)
	}
	if _, err := d.recvKey(0, 10); !errors.Is(err, ErrDuplicate) { // trimmed
		t.Fatal(err)
	}
	if _, err := d.recvKey(0, DefaultMaxJump-5); err != nil { // kept
		t.Fatal(err)
	}
}
