package session

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/internal/jsonrec"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/ratchet/spqr"
	"google.golang.org/protobuf/proto"
)

// MaxArchivedStates is how many previous session states a record keeps
// (libsignal's ARCHIVED_STATES_MAX_LENGTH).
const MaxArchivedStates = 40

// MaxUnacknowledgedSessionAge is how long an initiated session may stay
// unanswered before it can no longer encrypt (libsignal's
// MAX_UNACKNOWLEDGED_SESSION_AGE).
const MaxUnacknowledgedSessionAge = 30 * 24 * time.Hour

// ErrCorruptRecord is returned when a stored record does not parse.
var ErrCorruptRecord = errors.New("session: corrupt record")

// CorruptRecordError reports that the stored session record of Address
// does not parse. It matches ErrCorruptRecord (errors.Is). Stores return it
// from LoadSession, and per address in a *BatchError from
// BatchSessionStore.LoadSessions (issue #20 item 17).
//
// Such a record is no session: Encrypt and the decryption of a
// SignalMessage fail with this error, while a new session replaces the
// record, archiving nothing of it — ProcessBundle, a PreKeySignalMessage
// that starts a session, EncryptMany with a Recipient.Bundle — and
// Cipher.DeleteSession removes it.
type CorruptRecordError struct {
	Address Address
	// Err says why the record does not parse.
	Err error
}

func (e *CorruptRecordError) Error() string {
	// Err usually wraps ErrCorruptRecord already: say it once (issue #16
	// item 6), "session: corrupt record of bob.1: proto: …".
	detail := strings.TrimPrefix(fmt.Sprint(e.Err), ErrCorruptRecord.Error()+": ")
	return fmt.Sprintf("%v of %s: %s", ErrCorruptRecord, e.Address, detail)
}

// Unwrap returns Err.
func (e *CorruptRecordError) Unwrap() error { return e.Err }

// Is reports whether target is ErrCorruptRecord.
func (e *CorruptRecordError) Is(target error) bool { return target == ErrCorruptRecord }

// corruptRecord returns err, which matches ErrCorruptRecord, as a
// *CorruptRecordError for addr (a store may return a plainer error).
func corruptRecord(addr Address, err error) *CorruptRecordError {
	if ce, ok := errors.AsType[*CorruptRecordError](err); ok && ce.Address == addr {
		return ce
	}
	return &CorruptRecordError{Address: addr, Err: err}
}

// pendingPreKey is what the initiator repeats in every message until the
// responder answers (the "unacknowledged" part of a session).
type pendingPreKey struct {
	preKeyID        uint32
	hasPreKeyID     bool
	signedPreKeyID  uint32
	baseKey         prekey.PublicKey
	kyberPreKeyID   uint32
	kyberCiphertext []byte
	timestamp       time.Time
}

// legacyMillisThreshold separates the two units a stored unanswered-session
// timestamp (SessionStructure.PendingPreKey.timestamp) can be in. libsignal
// writes whole seconds since the epoch (rust/protocol/src/state/session.rs,
// set_unacknowledged_pre_key_message: as_secs()), and so does Interlock now;
// Interlock before issue #20 item 16 wrote milliseconds. 10^11 seconds is the
// year 5138, 10^11 milliseconds is March 1973, before any record of either
// kind was written: a value from 10^11 on is milliseconds.
const legacyMillisThreshold = 100_000_000_000

// pendingTimeFromStored reads a stored unanswered-session timestamp:
// seconds, or milliseconds for a record of an earlier Interlock (see
// legacyMillisThreshold). Any value is accepted without overflow.
func pendingTimeFromStored(v uint64) time.Time {
	if v < legacyMillisThreshold {
		return time.Unix(int64(v), 0)
	}
	return time.Unix(int64(v/1000), int64(v%1000)*int64(time.Millisecond))
}

// pendingTimeToStored writes an unanswered-session timestamp as libsignal
// does: whole seconds since the epoch, truncated; 0 before the epoch.
func pendingTimeToStored(t time.Time) uint64 {
	return uint64(max(t.Unix(), 0))
}

// State is one session state: the ratchet plus what the session knows about
// both parties.
type State struct {
	version        int
	localIdentity  prekey.IdentityKey
	remoteIdentity prekey.IdentityKey
	localRegID     uint32
	remoteRegID    uint32
	ratchet        *ratchet.State
	pending        *pendingPreKey
	aliceBaseKey   []byte // 33 bytes: the base key that started this state
	isAlice        bool
	// pq is the SPQR state of the triple ratchet; nil for sessions without
	// it (version 3, NoSPQR, or records written before it). It is immutable:
	// Send and Recv return the next state.
	pq *spqr.State
}

// SPQR reports whether the state runs the triple ratchet, and whether the
// peer has yet to show which SPQR version it speaks.
func (s *State) SPQR() (enabled, negotiating bool) {
	if s.pq == nil {
		return false, false
	}
	v, neg := s.pq.Version()
	return v > spqr.V0, neg
}

// Version returns the message version (3 or 4).
func (s *State) Version() int { return s.version }

// RemoteIdentity returns the peer's identity key.
func (s *State) RemoteIdentity() prekey.IdentityKey { return s.remoteIdentity }

// RemoteRegistrationID returns the peer's registration ID.
func (s *State) RemoteRegistrationID() uint32 { return s.remoteRegID }

// clone returns a deep copy.
func (s *State) clone() *State {
	b := new(stateBlock)
	s.cloneInto(b)
	return &b.s
}

// stateBlock is a State and its ratchet in one allocation.
type stateBlock struct {
	s State
	r ratchet.State
}

func (s *State) cloneInto(b *stateBlock) {
	b.s = *s
	s.ratchet.CloneInto(&b.r)
	b.s.ratchet = &b.r
	if s.pending != nil {
		p := *s.pending
		b.s.pending = &p
	}
}

// Record holds a session with one address: the current state and up to
// MaxArchivedStates previous ones (newest first). The zero value is empty.
//
// Archived states stay in their serialized form until a message needs one
// (one that the current state does not decrypt, or a PreKeySignalMessage
// that may restart one): loading and storing a record then costs the same
// with forty archived states as with none.
type Record struct {
	current  *State
	previous []archived
	// size is the length of the bytes the record was read from, which
	// sizes Marshal's buffer (0: not known).
	size int
}

// archived is one previous state: its serialized SessionStructure as it was
// loaded (raw), its parsed form (s), or both. An archived state never
// changes while archived (a state that decrypts is promoted first), so raw
// stays valid once parsed.
type archived struct {
	raw []byte
	s   *State
}

// NewRecord returns an empty record.
func NewRecord() *Record { return &Record{} }

// Current returns the current state, or nil.
func (r *Record) Current() *State { return r.current }

// ArchivedStates returns the number of previous states.
func (r *Record) ArchivedStates() int { return len(r.previous) }

// archivedState returns previous state i, parsing it on first use. A state
// that does not parse is ErrCorruptRecord.
func (r *Record) archivedState(i int) (*State, error) {
	a := &r.previous[i]
	if a.s == nil {
		pb, ok := parseStateFast(a.raw) // raw is never written to: aliasing it is safe
		if !ok {
			pb = new(signalpb.SessionStructure)
			if err := proto.Unmarshal(a.raw, pb); err != nil {
				return nil, fmt.Errorf("%w: archived state %d: %w", ErrCorruptRecord, i, err)
			}
		}
		s, err := stateFromProto(pb)
		if err != nil {
			return nil, fmt.Errorf("archived state %d: %w", i, err)
		}
		a.s = s
	}
	return a.s, nil
}

// Clone returns a deep copy.
func (r *Record) Clone() *Record {
	// The record and its current state in one allocation (the MemoryStore
	// copies a record on every load).
	b := new(struct {
		rec Record
		cur stateBlock
	})
	c := &b.rec
	c.size = r.size
	if len(r.previous) > 0 {
		c.previous = make([]archived, len(r.previous))
		for i, a := range r.previous {
			// Serialized forms are never written to: they are shared.
			c.previous[i].raw = a.raw
			if a.raw == nil {
				c.previous[i].s = a.s.clone()
			}
		}
	}
	if r.current != nil {
		r.current.cloneInto(&b.cur)
		c.current = &b.cur.s
	}
	return c
}

// promote makes s the current state and archives the old current one.
func (r *Record) promote(s *State) {
	if r.current != nil {
		r.previous = slices.Insert(r.previous, 0, archived{s: r.current})
		if len(r.previous) > MaxArchivedStates {
			r.previous = r.previous[:MaxArchivedStates]
		}
	}
	r.current = s
}

// promotePrevious makes previous state i current; it has been parsed.
func (r *Record) promotePrevious(i int) {
	s := r.previous[i].s
	r.previous = slices.Delete(r.previous, i, i+1)
	r.promote(s)
}

// ArchiveCurrent moves the current state to the archive, so the next message
// needs a new session (as libsignal's archive_current_state).
func (r *Record) ArchiveCurrent() {
	if r.current != nil {
		r.promote(nil)
	}
}

// findBaseKey returns the index of the state started with base key k:
// -1 for current, ≥ 0 into previous, or -2 when none. An archived state
// that does not parse matches nothing.
func (r *Record) findBaseKey(version int, k prekey.PublicKey) int {
	kb := k.Bytes()
	match := func(s *State) bool {
		return s != nil && s.version == version && slices.Equal(s.aliceBaseKey, kb)
	}
	if match(r.current) {
		return -1
	}
	for i := range r.previous {
		if s, err := r.archivedState(i); err == nil && match(s) {
			return i
		}
	}
	return -2
}

// Marshal serializes the record (libsignal's RecordStructure layout).
func (r *Record) Marshal() ([]byte, error) {
	return r.marshalRecord(), nil
}

// marshalProto is Marshal through the generated protobuf code, which the
// hand-written encoder (record_codec.go) is tested against.
func (r *Record) marshalProto() ([]byte, error) {
	pb := &signalpb.RecordStructure{}
	if r.current != nil {
		pb.CurrentSession = r.current.toProto()
	}
	for _, a := range r.previous {
		b := a.raw
		if b == nil {
			var err error
			if b, err = proto.Marshal(a.s.toProto()); err != nil {
				return nil, err
			}
		}
		pb.PreviousSessions = append(pb.PreviousSessions, b)
	}
	return proto.Marshal(pb)
}

// UnmarshalRecord parses a serialized record; corrupt input is an error,
// never a panic. Archived states are parsed when first needed (and a
// corrupt one is an error then).
//
// It also reads go.mau.fi/libsignal's JSON records and the forms listed in
// record_compat.go (issue #15 item 1).
func UnmarshalRecord(b []byte) (*Record, error) {
	if jsonrec.Is(b) {
		return unmarshalMauRecord(b, time.Now())
	}
	pb, ok := parseRecordFast(b)
	if !ok {
		pb = new(signalpb.RecordStructure)
		if err := proto.Unmarshal(b, pb); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
		}
	}
	if len(pb.PreviousSessions) > MaxArchivedStates {
		return nil, fmt.Errorf("%w: %d archived states", ErrCorruptRecord, len(pb.PreviousSessions))
	}
	r := &Record{size: len(b)}
	if pb.CurrentSession != nil {
		s, err := stateFromProto(pb.CurrentSession)
		if err != nil {
			return nil, err
		}
		r.current = s
	}
	if len(pb.PreviousSessions) > 0 {
		r.previous = make([]archived, len(pb.PreviousSessions))
		for i, raw := range pb.PreviousSessions {
			r.previous[i].raw = raw
		}
	}
	return r, nil
}

func (s *State) toProto() *signalpb.SessionStructure {
	pb := &signalpb.SessionStructure{
		SessionVersion:       uint32(s.version),
		LocalIdentityPublic:  s.localIdentity.Bytes(),
		RemoteIdentityPublic: s.remoteIdentity.Bytes(),
		LocalRegistrationId:  s.localRegID,
		RemoteRegistrationId: s.remoteRegID,
		AliceBaseKey:         s.aliceBaseKey,
		IsAlice:              s.isAlice,
	}
	if s.pq != nil {
		pb.PqRatchetState = s.pq.Marshal()
	}
	s.ratchet.MarshalProto(pb)
	if p := s.pending; p != nil {
		pb.PendingPreKey = &signalpb.SessionStructure_PendingPreKey{
			SignedPreKeyId: int32(p.signedPreKeyID),
			BaseKey:        p.baseKey.Bytes(),
			Timestamp:      pendingTimeToStored(p.timestamp),
		}
		if p.hasPreKeyID {
			id := p.preKeyID
			pb.PendingPreKey.PreKeyId = &id
		}
		if p.kyberCiphertext != nil {
			pb.PendingKyberPreKey = &signalpb.SessionStructure_PendingKyberPreKey{
				PreKeyId: p.kyberPreKeyID, Ciphertext: p.kyberCiphertext,
			}
		}
	}
	return pb
}

func stateFromProto(pb *signalpb.SessionStructure) (*State, error) {
	corrupt := func(what string, err error) error {
		return fmt.Errorf("%w: %s: %w", ErrCorruptRecord, what, err)
	}
	normalizeStatePB(pb) // other implementations' forms (record_compat.go)
	b := new(stateBlock) // the state and its ratchet in one allocation
	s := &b.s
	*s = State{
		version:     int(pb.GetSessionVersion()),
		localRegID:  pb.GetLocalRegistrationId(),
		remoteRegID: pb.GetRemoteRegistrationId(),
		isAlice:     pb.GetIsAlice(),
	}
	if s.version != prekey.Version3 && s.version != prekey.Version4 {
		return nil, fmt.Errorf("%w: session version %d", ErrCorruptRecord, s.version)
	}
	var err error
	if s.localIdentity, err = prekey.NewIdentityKey(pb.GetLocalIdentityPublic()); err != nil {
		return nil, corrupt("local identity", err)
	}
	if s.remoteIdentity, err = prekey.NewIdentityKey(pb.GetRemoteIdentityPublic()); err != nil {
		return nil, corrupt("remote identity", err)
	}
	if b := pb.GetAliceBaseKey(); len(b) > 0 {
		if len(b) != 33 {
			return nil, fmt.Errorf("%w: alice base key", ErrCorruptRecord)
		}
		s.aliceBaseKey = slices.Clone(b)
	}
	if err = ratchet.UnmarshalProtoInto(pb, &b.r); err != nil {
		return nil, corrupt("ratchet", err)
	}
	s.ratchet = &b.r
	if b := pb.GetPqRatchetState(); len(b) > 0 {
		if s.pq, err = spqr.Unmarshal(b); err != nil {
			return nil, corrupt("SPQR state", err)
		}
	}
	if pp := pb.GetPendingPreKey(); pp != nil {
		p := &pendingPreKey{
			signedPreKeyID: uint32(pp.GetSignedPreKeyId()),
			timestamp:      pendingTimeFromStored(pp.GetTimestamp()),
		}
		if pp.PreKeyId != nil {
			p.preKeyID, p.hasPreKeyID = pp.GetPreKeyId(), true
		}
		if p.baseKey, err = prekey.NewPublicKey(pp.GetBaseKey()); err != nil {
			return nil, corrupt("pending base key", err)
		}
		if pk := pb.GetPendingKyberPreKey(); pk != nil {
			p.kyberPreKeyID = pk.GetPreKeyId()
			p.kyberCiphertext = slices.Clone(pk.GetCiphertext())
		}
		s.pending = p
	}
	return s, nil
}
