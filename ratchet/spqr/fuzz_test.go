package spqr

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte{1, 1, 1, 0})
	f.Add(append([]byte{1, 1, 0, 1, 0}, make([]byte, 32)...))
	f.Add([]byte{1, 0x80, 0x80, 1, 0, 6, 0xff, 0xff, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil {
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		// Re-encoding is canonical and parses to the same message.
		enc := m.Append(nil)
		m2, err := ParseMessage(enc)
		if err != nil || *m2 != *m || !bytes.Equal(m2.Append(nil), enc) {
			t.Fatal("round trip")
		}
	})
}

// FuzzRecv: arbitrary pq_ratchet bytes against states at several points of
// a conversation never panic, and a failed Recv leaves the state unchanged.
func FuzzRecv(f *testing.F) {
	a, b := newPair(f, V0)
	states := []*State{a, b}
	for range 40 {
		var m []byte
		a, m, _, _ = a.Send(rand.Reader)
		b, _, _ = b.Recv(m)
		b, m, _, _ = b.Send(rand.Reader)
		a, _, _ = a.Recv(m)
		states = append(states, a, b)
		f.Add(m, uint8(len(states)))
	}
	f.Add([]byte{1, 1, 0, 1, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, msg []byte, which uint8) {
		s := states[int(which)%len(states)]
		before := s.Marshal()
		next, _, err := s.Recv(msg)
		if !bytes.Equal(before, s.Marshal()) {
			t.Fatal("Recv modified its receiver")
		}
		if err == nil {
			roundTrip(t, next)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	a, b := newPair(f, V0)
	f.Add(a.Marshal())
	f.Add(b.Marshal())
	for range 6 {
		var m []byte
		a, m, _, _ = a.Send(rand.Reader)
		b, _, _ = b.Recv(m)
		b, m, _, _ = b.Send(rand.Reader)
		a, _, _ = a.Recv(m)
		f.Add(a.Marshal())
		f.Add(b.Marshal())
	}
	// A state with an oversized encoder (issue #20 item 9), for the fuzzer
	// to mutate.
	big := a.clone()
	if big.braid.enc != nil {
		big.braid.enc = mustEncoder(make([]byte, 40*32))
		f.Add(big.Marshal())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Unmarshal(data)
		if err != nil {
			return
		}
		s2 := roundTrip(t, s)
		// Every accepted state's first Send and Recv do bounded work (issue
		// #20 item 9): counted on what they can touch.
		checkBounded(t, s2)
		// A loaded state can be used without panicking.
		s2.Send(rand.Reader)
		s2.Recv([]byte{1, 1, 1, 0})
		s2.Recv([]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0})
	})
}
