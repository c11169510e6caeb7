package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
)

// Records written by other implementations (issue #15 item 1).
//
// UnmarshalRecord reads, besides libsignal's RecordStructure (0.90, 0.103
// and its older records):
//
//   - go.mau.fi/libsignal's records, which both of its serializers (the
//     "protobuf" one whatsmeow uses included) write as JSON of its
//     record.SessionStructure {SessionState, PreviousStates}: a record that
//     begins with '{' is read in that form;
//   - skipped message keys stored as cipher key, MAC key and IV instead of a
//     seed (go.mau.fi's only form; libsignal still reads it): kept as given
//     (see package ratchet);
//   - raw 32-byte Curve25519 public keys without the 0x05 type byte;
//   - previous_counter 0xFFFFFFFF, which go.mau.fi writes when its sending
//     chain had sent nothing (it subtracts 1 from index 0 without
//     saturating): read as 0, the value libsignal writes then.
//
// What is read is written back by Marshal in libsignal's form. A field that
// cannot be read is an error naming it (ErrCorruptRecord), never a silent
// drop. Normalize rewrites the archived states too.

// fixKey returns a public key in libsignal's 33-byte form: a raw 32-byte
// key gets the 0x05 type byte; anything else is returned as it is (and
// checked by the parser).
func fixKey(b []byte) []byte {
	if len(b) == 32 {
		return append([]byte{0x05}, b...)
	}
	return b
}

// normalizeStatePB rewrites the forms of a stored state that libsignal does
// not write into the ones it does, before stateFromProto checks the fields.
func normalizeStatePB(pb *signalpb.SessionStructure) {
	pb.LocalIdentityPublic = fixKey(pb.LocalIdentityPublic)
	pb.RemoteIdentityPublic = fixKey(pb.RemoteIdentityPublic)
	pb.AliceBaseKey = fixKey(pb.AliceBaseKey)
	if pb.PreviousCounter == math.MaxUint32 {
		pb.PreviousCounter = 0
	}
	if c := pb.SenderChain; c != nil {
		c.SenderRatchetKey = fixKey(c.SenderRatchetKey)
	}
	for _, c := range pb.ReceiverChains {
		if c != nil {
			c.SenderRatchetKey = fixKey(c.SenderRatchetKey)
		}
	}
	if p := pb.PendingPreKey; p != nil {
		p.BaseKey = fixKey(p.BaseKey)
	}
}

// Normalize parses every archived state and drops their stored bytes, so
// that Marshal writes the whole record in libsignal's form (archived states
// are otherwise written back as they were read). An archived state that
// does not parse is an error naming it.
func (r *Record) Normalize() error {
	for i := range r.previous {
		if _, err := r.archivedState(i); err != nil {
			return err
		}
		r.previous[i].raw = nil
	}
	return nil
}

// mauRecord is go.mau.fi/libsignal's record.SessionStructure as its JSON
// serializer writes it (Go field names; []byte as base64).
type mauRecord struct {
	SessionState   *mauState
	PreviousStates []*mauState
}

type mauState struct {
	LocalIdentityPublic  []byte
	LocalRegistrationID  uint32
	NeedsRefresh         bool
	PendingKeyExchange   *mauPendingKeyExchange
	PendingPreKey        *mauPendingPreKey
	PreviousCounter      uint32
	ReceiverChains       []*mauChain
	RemoteIdentityPublic []byte
	RemoteRegistrationID uint32
	RootKey              []byte
	SenderBaseKey        []byte
	SenderChain          *mauChain
	SessionVersion       int
}

type mauChain struct {
	SenderRatchetKeyPublic  []byte
	SenderRatchetKeyPrivate []byte
	ChainKey                *struct {
		Key   []byte
		Index uint32
	}
	MessageKeys []*struct {
		CipherKey []byte
		MacKey    []byte
		IV        []byte
		Index     uint32
	}
}

type mauPendingPreKey struct {
	PreKeyID *struct {
		Value   uint32
		IsEmpty bool
	}
	SignedPreKeyID uint32
	BaseKey        []byte
}

// mauPendingKeyExchange is the version 2 key exchange go.mau.fi inherited
// from libsignal-protocol-java; no version 3 session uses it.
type mauPendingKeyExchange struct {
	Sequence               uint32
	LocalBaseKeyPublic     []byte
	LocalBaseKeyPrivate    []byte
	LocalRatchetKeyPublic  []byte
	LocalRatchetKeyPrivate []byte
}

// empty reports whether s is the blank state go.mau.fi keeps as current
// after archiving one (NewState): no session at all.
func (s *mauState) empty() bool {
	return s == nil || (s.SessionVersion == 0 && len(s.RootKey) == 0 && s.SenderChain == nil &&
		len(s.ReceiverChains) == 0 && len(s.RemoteIdentityPublic) == 0)
}

// unmarshalMauRecord parses go.mau.fi's JSON record into a Record; now
// dates an unanswered session (go.mau.fi keeps no timestamp; the import
// time keeps it usable for MaxUnacknowledgedSessionAge).
func unmarshalMauRecord(b []byte, now time.Time) (*Record, error) {
	var mr mauRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mr); err != nil {
		return nil, fmt.Errorf("%w: go.mau.fi JSON record: %w", ErrCorruptRecord, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: go.mau.fi JSON record: trailing data", ErrCorruptRecord)
	}
	if len(mr.PreviousStates) > MaxArchivedStates {
		return nil, fmt.Errorf("%w: %d archived states", ErrCorruptRecord, len(mr.PreviousStates))
	}
	r := &Record{}
	if !mr.SessionState.empty() {
		pb, err := mr.SessionState.toProto(now)
		if err != nil {
			return nil, fmt.Errorf("%w: current state: %w", ErrCorruptRecord, err)
		}
		if r.current, err = stateFromProto(pb); err != nil {
			return nil, fmt.Errorf("current state: %w", err)
		}
	}
	for i, ms := range mr.PreviousStates {
		if ms.empty() {
			continue // a blank state archived by a second ArchiveCurrentState: no session
		}
		pb, err := ms.toProto(now)
		if err != nil {
			return nil, fmt.Errorf("%w: archived state %d: %w", ErrCorruptRecord, i, err)
		}
		s, err := stateFromProto(pb)
		if err != nil {
			return nil, fmt.Errorf("archived state %d: %w", i, err)
		}
		r.previous = append(r.previous, archived{s: s})
	}
	return r, nil
}

func (s *mauState) toProto(now time.Time) (*signalpb.SessionStructure, error) {
	if s.SessionVersion < 0 || s.SessionVersion > math.MaxUint8 {
		return nil, fmt.Errorf("session version %d", s.SessionVersion)
	}
	if k := s.PendingKeyExchange; k != nil && (k.Sequence != 0 || len(k.LocalBaseKeyPublic)+len(k.LocalBaseKeyPrivate)+
		len(k.LocalRatchetKeyPublic)+len(k.LocalRatchetKeyPrivate) > 0) {
		return nil, fmt.Errorf("pending key exchange (version 2) is not supported")
	}
	pb := &signalpb.SessionStructure{
		SessionVersion:       uint32(s.SessionVersion),
		LocalIdentityPublic:  s.LocalIdentityPublic,
		RemoteIdentityPublic: s.RemoteIdentityPublic,
		LocalRegistrationId:  s.LocalRegistrationID,
		RemoteRegistrationId: s.RemoteRegistrationID,
		RootKey:              s.RootKey,
		PreviousCounter:      s.PreviousCounter,
		AliceBaseKey:         s.SenderBaseKey,
	}
	var err error
	if s.SenderChain != nil {
		if pb.SenderChain, err = s.SenderChain.toProto(); err != nil {
			return nil, fmt.Errorf("sender chain: %w", err)
		}
	}
	for i, c := range s.ReceiverChains {
		if c == nil {
			return nil, fmt.Errorf("receiver chain %d is null", i)
		}
		pc, err := c.toProto()
		if err != nil {
			return nil, fmt.Errorf("receiver chain %d: %w", i, err)
		}
		pb.ReceiverChains = append(pb.ReceiverChains, pc)
	}
	if p := s.PendingPreKey; p != nil {
		if p.SignedPreKeyID > math.MaxInt32 {
			return nil, fmt.Errorf("pending prekey: signed prekey ID %d", p.SignedPreKeyID)
		}
		pp := &signalpb.SessionStructure_PendingPreKey{
			SignedPreKeyId: int32(p.SignedPreKeyID),
			BaseKey:        p.BaseKey,
			Timestamp:      pendingTimeToStored(now),
		}
		if p.PreKeyID != nil && !p.PreKeyID.IsEmpty {
			id := p.PreKeyID.Value
			pp.PreKeyId = &id
		}
		pb.PendingPreKey = pp
	}
	return pb, nil
}

func (c *mauChain) toProto() (*signalpb.SessionStructure_Chain, error) {
	pc := &signalpb.SessionStructure_Chain{
		SenderRatchetKey:        c.SenderRatchetKeyPublic,
		SenderRatchetKeyPrivate: c.SenderRatchetKeyPrivate,
	}
	if c.ChainKey == nil {
		return nil, fmt.Errorf("no chain key")
	}
	pc.ChainKey = &signalpb.SessionStructure_Chain_ChainKey{Index: c.ChainKey.Index, Key: c.ChainKey.Key}
	for j, mk := range c.MessageKeys {
		if mk == nil {
			return nil, fmt.Errorf("skipped key %d is null", j)
		}
		pc.MessageKeys = append(pc.MessageKeys, &signalpb.SessionStructure_Chain_MessageKey{
			Index: mk.Index, CipherKey: mk.CipherKey, MacKey: mk.MacKey, Iv: mk.IV,
		})
	}
	return pc, nil
}
