package live

import (
	"bytes"
	"fmt"
)

// SPQR observed from the wire (issue #21 item 3): whoever claims the
// post-quantum ratchet must show it in the messages the driver carries.
// A version 4 SignalMessage carries SPQR's message in pq_ratchet (field 5;
// libsignal rust/protocol/src/proto/wire.proto), authenticated by the
// message MAC like every other field. Its first bytes are SPQR's header:
// version 1 ‖ varint epoch (≥ 1) ‖ varint index ‖ message type (SPQR
// src/v1/chunked/states/serialize.rs). The epoch advances each time a
// post-quantum key exchange completes, which takes a few dozen messages
// each way at one chunk per message.

// SPQRScenarios returns the driver-side SPQR observation and, with an
// adversary peer, the downgrade checks (spqr_adversary.go). It is kept out
// of All so that front ends opt in (package conformance does).
func SPQRScenarios() []Scenario {
	return append([]Scenario{{
		ID:         "spqr/observed",
		Doc:        "pq_ratchet present in every version 4 message, its epoch advancing, and authenticated",
		Run:        observeSPQR,
		Guarantees: []string{"pq-ratchet"},
		Spec:       []string{"Double Ratchet rev. 3 §5 (triple ratchet)", "SPQR serialize.rs (pq_ratchet header)"},
	}}, spqrAdversaryScenarios()...)
}

// spqrMaxRounds bounds the conversation: enough round trips for a
// post-quantum key exchange to complete in each direction.
const spqrMaxRounds = 200

// spqrHeader is the start of a pq_ratchet field.
type spqrHeader struct {
	Epoch, Index uint64
	Type         byte
}

func parseSPQRHeader(b []byte) (spqrHeader, error) {
	if len(b) == 0 || b[0] != 1 {
		return spqrHeader{}, fmt.Errorf("pq_ratchet does not start with SPQR version 1 (%d bytes)", len(b))
	}
	epoch, off, err := readVarint(b, 1)
	if err != nil || epoch == 0 {
		return spqrHeader{}, fmt.Errorf("pq_ratchet: bad epoch")
	}
	index, off, err := readVarint(b, off)
	if err != nil || off >= len(b) || b[off] > 6 {
		return spqrHeader{}, fmt.Errorf("pq_ratchet: bad index or message type")
	}
	return spqrHeader{Epoch: epoch, Index: index, Type: b[off]}, nil
}

// signalMessageOf returns the SignalMessage inside a 1:1 message (the
// message itself, or a PreKeySignalMessage's field 4) and its version.
func signalMessageOf(m Message) ([]byte, int, bool) {
	b := m.Ciphertext
	if len(b) < 1 {
		return nil, 0, false
	}
	if m.Type == TypePreKey {
		inner, ok := fieldBytes(b[1:], 4)
		if !ok || len(inner) < 1 {
			return nil, 0, false
		}
		b = inner
	}
	return b, int(b[0] >> 4), true
}

// pqRatchetField locates pq_ratchet in a SignalMessage (version ‖
// protobuf ‖ 8-byte MAC): its value's offsets, or ok = false if absent.
func pqRatchetField(sm []byte) (start, end int, ok bool) {
	if len(sm) < 1+8 {
		return 0, 0, false
	}
	fs, err := parseProto(sm[1 : len(sm)-8])
	if err != nil {
		return 0, 0, false
	}
	for _, f := range fs {
		if f.Num == 5 && f.Wire == 2 && f.End > f.ValStart {
			return 1 + f.ValStart, 1 + f.End, true
		}
	}
	return 0, 0, false
}

// spqrSide is what the driver saw of one sender's messages.
type spqrSide struct {
	sent, carried int
	missing       []int // message numbers without pq_ratchet
	first, last   spqrHeader
	distinct      map[string]bool
	regressed     string
}

func (s *spqrSide) advanced() bool { return s.carried > 0 && s.last.Epoch > s.first.Epoch }

// observeSPQR holds a version 4 conversation and watches pq_ratchet in
// both directions. If neither side sends it, SPQR is not claimed and the
// check does not run (the report shows the pq-ratchet guarantee not run).
// If either does, both must carry it in every message, each side's epoch
// must never go back and must advance, and a flipped pq_ratchet byte must
// be rejected without harming the session.
func observeSPQR(x *X) {
	if x.Flavour() == "whatsapp" {
		x.NotApplicablef("SPQR not claimed: the whatsapp flavour sets up version 3 sessions")
	}
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.processBundle(a, b, true, true)
	sides := map[*Client]*spqrSide{a: {distinct: map[string]bool{}}, b: {distinct: map[string]bool{}}}
	record := func(s sent) {
		side := sides[s.From]
		side.sent++
		sm, version, ok := signalMessageOf(s.Msg)
		if !ok {
			x.Failf("%s: a type %d message with no SignalMessage inside", s.From.Label, s.Msg.Type)
		}
		if version < 4 {
			x.NotApplicablef("SPQR not claimed: %s sent a version %d message from a bundle with a Kyber prekey", s.From.Label, version)
		}
		start, end, ok := pqRatchetField(sm)
		if !ok {
			side.missing = append(side.missing, side.sent)
			return
		}
		h, err := parseSPQRHeader(sm[start:end])
		if err != nil {
			x.Failf("%s message %d: %v", s.From.Label, side.sent, err)
		}
		if side.carried == 0 {
			side.first = h
		} else if h.Epoch < side.last.Epoch && side.regressed == "" {
			side.regressed = fmt.Sprintf("message %d has epoch %d after %d", side.sent, h.Epoch, side.last.Epoch)
		}
		side.last = h
		side.carried++
		side.distinct[string(sm[start:end])] = true
	}
	exchange := func(from, to *Client) {
		s := x.encrypt(from, to)
		record(s)
		x.deliver(s)
	}
	rounds := 0
	for rounds < spqrMaxRounds {
		exchange(a, b)
		exchange(b, a)
		rounds++
		if sides[a].advanced() && sides[b].advanced() {
			break
		}
	}
	sa, sb := sides[a], sides[b]
	if sa.carried == 0 && sb.carried == 0 {
		x.NotApplicablef("SPQR not claimed: none of %d version 4 messages carried pq_ratchet (SignalMessage field 5)", sa.sent+sb.sent)
	}
	for _, c := range []*Client{a, b} {
		s := sides[c]
		switch {
		case len(s.missing) > 0:
			x.Failf("SPQR claimed but not observed: %s sent %d of %d messages without pq_ratchet (first: message %d)",
				c.Label, len(s.missing), s.sent, s.missing[0])
		case s.regressed != "":
			x.Failf("%s's pq_ratchet epoch went back: %s", c.Label, s.regressed)
		case len(s.distinct) < 2:
			x.Failf("%s sent the same pq_ratchet bytes in all %d messages: not advancing", c.Label, s.carried)
		case !s.advanced():
			x.Failf("SPQR claimed but not advancing: %s's pq_ratchet stayed in epoch %d over %d round trips", c.Label, s.last.Epoch, rounds)
		}
	}
	// Authenticated: a flipped pq_ratchet byte is refused, and the
	// original still decrypts afterwards.
	t := x.encrypt(a, b)
	record(t)
	_, end, ok := pqRatchetField(t.Msg.Ciphertext)
	if !ok || t.Msg.Type != TypeSignal {
		x.Failf("%s: no SignalMessage with pq_ratchet to tamper with", a.Label)
	}
	bad := Message{Type: TypeSignal, Ciphertext: bytes.Clone(t.Msg.Ciphertext)}
	bad.Ciphertext[end-1] ^= 0x01
	k := x.reject(b, a, bad, "a message with a flipped pq_ratchet byte")
	x.deliver(t)
	x.Notef("pq_ratchet in all %d messages; epochs %d→%d (A) and %d→%d (B) in %d round trips; flipped byte: %s",
		sa.carried+sb.carried, sa.first.Epoch, sa.last.Epoch, sb.first.Epoch, sb.last.Epoch, rounds, k)
}
