package spqr

import (
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// Version is an SPQR protocol version (the pq_ratchet Version enum).
type Version uint8

const (
	V0 Version = 0 // no SPQR: empty pq_ratchet fields, no keys
	V1 Version = 1 // the chunked ML-KEM-768 Braid
)

// Direction says which half of the symmetric chains a party sends on.
type Direction uint8

const (
	A2B Direction = 0 // the session initiator (PQXDH's Alice)
	B2A Direction = 1 // the responder
)

// Errors. Every error from Send, Recv and Unmarshal wraps one of these.
var (
	ErrMessage   = errors.New("spqr: malformed message")
	ErrMAC       = errors.New("spqr: authentication failed")
	ErrEpoch     = errors.New("spqr: epoch out of range")
	ErrDuplicate = errors.New("spqr: key already used or discarded")
	ErrTooFar    = errors.New("spqr: key index too far ahead")
	ErrVersion   = errors.New("spqr: version negotiation failed")
	ErrState     = errors.New("spqr: invalid state")
)

// Params configure a new session's SPQR state.
type Params struct {
	Direction Direction
	// Version is the highest version this party speaks (V1, or V0 to disable).
	Version Version
	// MinVersion is the lowest version it accepts from the peer: V0 lets a
	// peer that never sends SPQR downgrade the session (libsignal 0.74–0.91);
	// V1 refuses such a peer (libsignal 0.92+).
	MinVersion Version
	// AuthKey is the 32-byte SPQR key from PQXDH (prekey.Secrets.PQRatchetKey).
	AuthKey []byte
	// MaxJump and MaxOOOKeys bound the receiving chains; 0 means the defaults
	// DefaultMaxJump and DefaultMaxOOOKeys. They may not exceed MaxJumpLimit
	// and MaxOOOKeysLimit (which equal the defaults): only lower is allowed.
	MaxJump, MaxOOOKeys uint32
}

// negotiation is kept until the first message from the peer arrives.
type negotiation struct {
	authKey    []byte
	dir        Direction
	minVersion Version
	maxJump    uint32
	maxOOO     uint32
}

// State is one session's SPQR state (Double Ratchet rev. 3, §5: the SCKA
// plus the symmetric chain). The zero-length serialization is V0. Send and
// Recv never modify the receiver: they return the next state, so a caller
// commits it only when the message authenticates.
type State struct {
	braid *braid       // nil: V0
	chain *chain       // nil until created
	neg   *negotiation // nil once negotiated
}

// NewState returns the initial state for a new session.
func NewState(p Params) (*State, error) {
	switch {
	case p.Version == V0:
		return &State{}, nil
	case p.Version != V1 || p.MinVersion > p.Version || p.Direction > B2A:
		return nil, fmt.Errorf("%w: bad parameters", ErrState)
	case len(p.AuthKey) != 32:
		return nil, fmt.Errorf("%w: SPQR key must be 32 bytes", ErrState)
	case p.MaxJump > MaxJumpLimit || p.MaxOOOKeys > MaxOOOKeysLimit:
		return nil, fmt.Errorf("%w: chain limits above MaxJumpLimit or MaxOOOKeysLimit", ErrState)
	}
	key := append([]byte(nil), p.AuthKey...)
	return &State{
		braid: initBraid(p.Direction, key),
		neg:   &negotiation{authKey: key, dir: p.Direction, minVersion: p.MinVersion, maxJump: p.MaxJump, maxOOO: p.MaxOOOKeys},
	}, nil
}

// Version reports the version in use and whether negotiation is still open.
func (s *State) Version() (v Version, negotiating bool) {
	if s.braid != nil {
		v = V1
	}
	return v, s.neg != nil
}

func (s *State) clone() *State {
	c := &State{neg: s.neg} // negotiation is immutable
	if s.braid != nil {
		c.braid = s.braid.clone()
	}
	if s.chain != nil {
		c.chain = s.chain.clone()
	}
	return c
}

func (n *negotiation) newChain() *chain {
	return newChain(n.authKey, n.dir, n.maxJump, n.maxOOO)
}

// Send returns the next state, the pq_ratchet bytes for the next message,
// and the 32-byte message key to use as the salt of that message's keys, or
// nil when there is none (V0, or V1 before the chain exists). A nil rand
// means crypto/rand.Reader.
func (s *State) Send(rand io.Reader) (next *State, msg, key []byte, err error) {
	if rand == nil {
		rand = crand.Reader
	}
	if s.braid == nil {
		return &State{}, nil, nil, nil
	}
	n := s.clone()
	m, secret, err := n.braid.send(rand)
	if err != nil {
		return nil, nil, nil, err
	}
	if n.chain == nil {
		switch {
		case n.neg == nil:
			return nil, nil, nil, fmt.Errorf("%w: no chain", ErrState)
		case n.neg.minVersion > V0:
			n.chain = n.neg.newChain()
		}
	}
	if n.chain != nil {
		if secret != nil {
			if err := n.chain.addEpoch(m.Epoch, secret); err != nil {
				return nil, nil, nil, err
			}
		}
		if m.Index, key, err = n.chain.sendKey(m.Epoch - 1); err != nil {
			return nil, nil, nil, err
		}
	}
	return n, m.Append(nil), key, nil
}

// requiresV1 reports whether the state speaks V1 for good: negotiation is
// over (a V1 message from the peer arrived), or MinVersion is V1.
func (s *State) requiresV1() bool {
	return s.braid != nil && (s.neg == nil || s.neg.minVersion >= V1)
}

// Recv applies the pq_ratchet bytes of a received message (empty if it had
// none) and returns the next state and the message key to salt that
// message's keys with (nil when none). It performs version negotiation: the
// first message from a peer that speaks a lower version downgrades the
// session if MinVersion allows, and fails with ErrVersion otherwise.
//
// A version above V1 is ignored (no key, state unchanged) only while it may
// still be a newer peer's opening, as SPQR's recv does: before negotiation
// with MinVersion V0, or in a V0 session. Once the state speaks V1 for good
// (requiresV1) such a message would carry no SPQR key, so accepting it would
// let whoever holds only the classical state inject messages without the
// post-quantum salt: it fails with ErrVersion (issue #20 item 6; stricter
// than SparsePostQuantumRatchet v1.5.3, which ignores it at any time).
func (s *State) Recv(msg []byte) (next *State, key []byte, err error) {
	theirs := V0
	if len(msg) > 0 {
		switch Version(msg[0]) {
		case V0, V1:
			theirs = Version(msg[0])
		default:
			if s.requiresV1() && !mutant.On(mutant.SPQRUnknownVersion) {
				return nil, nil, fmt.Errorf("%w: peer sent version %d, session speaks %d", ErrVersion, msg[0], V1)
			}
			// A version above ours: keep speaking ours.
			return s.clone(), nil, nil
		}
	}
	ours, _ := s.Version()
	n := s.clone()
	if theirs < ours {
		if mutant.On(mutant.SPQRDowngrade) {
			return &State{}, nil, nil // mutant: a message without pq_ratchet turns SPQR off, even after negotiation
		}
		if s.neg == nil {
			return nil, nil, fmt.Errorf("%w: peer sent version %d after negotiation", ErrVersion, theirs)
		}
		if theirs < s.neg.minVersion {
			return nil, nil, fmt.Errorf("%w: peer sent version %d, minimum %d", ErrVersion, theirs, s.neg.minVersion)
		}
		// theirs is V0: SPQR is off for good.
		return &State{}, nil, nil
	}
	if n.braid == nil {
		return &State{}, nil, nil
	}
	m, err := ParseMessage(msg)
	if err != nil {
		return nil, nil, err
	}
	secret, err := n.braid.recv(m)
	if err != nil {
		return nil, nil, err
	}
	if n.chain == nil {
		if n.neg == nil {
			return nil, nil, fmt.Errorf("%w: no chain", ErrState)
		}
		n.chain = n.neg.newChain()
	}
	if secret != nil {
		if err := n.chain.addEpoch(m.Epoch, secret); err != nil {
			return nil, nil, err
		}
	}
	if !(m.Epoch == 1 && m.Index == 0) {
		if key, err = n.chain.recvKey(m.Epoch-1, m.Index); err != nil {
			return nil, nil, err
		}
	}
	n.neg = nil
	return n, key, nil
}
