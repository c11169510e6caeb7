package group

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/jsonrec"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/proto"
)

// messageKey is a skipped message key: the seed HMAC(chain key, 0x01) of
// one iteration, as libsignal stores it.
type messageKey struct {
	iteration uint32
	seed      [ChainKeySize]byte
}

// state is one sender chain: libsignal's SenderKeyState.
type state struct {
	version    uint32 // message version, 3
	chainID    uint32
	iteration  uint32 // iteration of chainKey
	chainKey   [ChainKeySize]byte
	signingPub curve.PublicKey
	signing    curve.PrivateKey // zero on the receiving side
	skipped    []messageKey     // oldest first, at most MaxMessageKeys
}

func (s *state) clone() *state {
	c := *s
	c.skipped = append([]messageKey(nil), s.skipped...)
	return &c
}

// Record holds the sender-key states of one (sender, device, distribution):
// up to MaxSenderKeyStates, newest first. The zero value is empty.
type Record struct {
	states []*state
}

// NewRecord returns an empty record.
func NewRecord() *Record { return &Record{} }

// Clone returns a deep copy.
func (r *Record) Clone() *Record {
	c := &Record{states: make([]*state, len(r.states))}
	for i, s := range r.states {
		c.states[i] = s.clone()
	}
	return c
}

// IsEmpty reports whether the record holds no state.
func (r *Record) IsEmpty() bool { return len(r.states) == 0 }

// newest returns the state that encrypts, or nil.
func (r *Record) newest() *state {
	if len(r.states) == 0 {
		return nil
	}
	return r.states[0]
}

// stateFor returns the state with the chain ID, or nil.
func (r *Record) stateFor(chainID uint32) *state {
	for _, s := range r.states {
		if s.chainID == chainID {
			return s
		}
	}
	return nil
}

// add puts s in front as libsignal's add_sender_key_state does: a state
// with the same chain ID and signing key is kept as it is (so a repeated
// distribution message never rewinds a chain) and moved to the front; other
// states with that chain ID are dropped; the oldest states beyond
// MaxSenderKeyStates are dropped.
func (r *Record) add(s *state) {
	var keep *state
	out := r.states[:0]
	for _, old := range r.states {
		switch {
		case old.chainID != s.chainID:
			out = append(out, old)
		case keep == nil && old.signingPub.Equal(s.signingPub):
			keep = old
		}
	}
	if keep == nil {
		keep = s
	}
	if len(out) >= MaxSenderKeyStates {
		out = out[:MaxSenderKeyStates-1]
	}
	r.states = append([]*state{keep}, out...)
}

// Marshal serializes the record as a SenderKeyRecordStructure (libsignal's
// stored format; field numbers in ../proto/storage.proto).
func (r *Record) Marshal() ([]byte, error) {
	pb := &signalpb.SenderKeyRecordStructure{}
	for _, s := range r.states {
		st := &signalpb.SenderKeyStateStructure{
			MessageVersion: s.version,
			ChainId:        s.chainID,
			SenderChainKey: &signalpb.SenderKeyStateStructure_SenderChainKey{
				Iteration: s.iteration,
				Seed:      append([]byte(nil), s.chainKey[:]...),
			},
			SenderSigningKey: &signalpb.SenderKeyStateStructure_SenderSigningKey{
				Public: s.signingPub.Bytes(),
			},
		}
		if !s.signing.IsZero() {
			st.SenderSigningKey.Private = s.signing.Bytes()
		}
		for _, k := range s.skipped {
			st.SenderMessageKeys = append(st.SenderMessageKeys, &signalpb.SenderKeyStateStructure_SenderMessageKey{
				Iteration: k.iteration,
				Seed:      append([]byte(nil), k.seed[:]...),
			})
		}
		pb.SenderKeyStates = append(pb.SenderKeyStates, st)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("group: marshal record: %w", err)
	}
	return b, nil
}

// UnmarshalRecord parses a record written by Marshal (or by libsignal).
// Every key and length is checked; a record with more than
// MaxSenderKeyStates states or MaxMessageKeys skipped keys per state is
// rejected. Never panics.
//
// It also reads go.mau.fi/libsignal's JSON records and the forms listed in
// record_compat.go (issue #15 item 1).
func UnmarshalRecord(b []byte) (*Record, error) {
	var pb signalpb.SenderKeyRecordStructure
	if jsonrec.Is(b) {
		mpb, err := mauToProto(b)
		if err != nil {
			return nil, err
		}
		pb.SenderKeyStates = mpb.SenderKeyStates
	} else if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
	}
	if len(pb.SenderKeyStates) > MaxSenderKeyStates {
		return nil, fmt.Errorf("%w: %d states", ErrInvalidRecord, len(pb.SenderKeyStates))
	}
	r := &Record{}
	for i, st := range pb.SenderKeyStates {
		s, err := stateFromProto(st)
		if err != nil {
			return nil, fmt.Errorf("%w: state %d: %s", ErrInvalidRecord, i, err)
		}
		r.states = append(r.states, s)
	}
	return r, nil
}

func stateFromProto(st *signalpb.SenderKeyStateStructure) (*state, error) {
	normalizeStatePB(st) // other implementations' forms (record_compat.go)
	s := &state{version: st.GetMessageVersion(), chainID: st.GetChainId()}
	if s.version == 0 {
		s.version = Version // records from before message_version existed
	}
	ck := st.GetSenderChainKey()
	if ck == nil || len(ck.GetSeed()) != ChainKeySize {
		return nil, fmt.Errorf("missing or malformed chain key")
	}
	s.iteration = ck.GetIteration()
	copy(s.chainKey[:], ck.GetSeed())
	sk := st.GetSenderSigningKey()
	if sk == nil {
		return nil, fmt.Errorf("missing signing key")
	}
	var err error
	if s.signingPub, err = curve.NewPublicKey(sk.GetPublic()); err != nil {
		return nil, fmt.Errorf("signing key: %v", err)
	}
	if len(sk.GetPrivate()) > 0 {
		if s.signing, err = curve.NewPrivateKey(sk.GetPrivate()); err != nil {
			return nil, fmt.Errorf("private signing key: %v", err)
		}
		if !s.signing.PublicKey().Equal(s.signingPub) {
			return nil, fmt.Errorf("private signing key does not match the public key")
		}
	}
	if len(st.GetSenderMessageKeys()) > MaxMessageKeys {
		return nil, fmt.Errorf("%d skipped message keys", len(st.GetSenderMessageKeys()))
	}
	for _, k := range st.GetSenderMessageKeys() {
		if len(k.GetSeed()) != ChainKeySize {
			return nil, fmt.Errorf("malformed message key")
		}
		mk := messageKey{iteration: k.GetIteration()}
		copy(mk.seed[:], k.GetSeed())
		s.skipped = append(s.skipped, mk)
	}
	return s, nil
}
