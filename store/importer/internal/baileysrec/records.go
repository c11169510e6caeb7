package baileysrec

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/session"
)

// Records of Baileys' libsignal (libsignal-node, the WhiskeySockets fork;
// npm libsignal 6.0.0) and of Baileys' own group cipher, as Baileys'
// useMultiFileAuthState stores them. The forms were checked against
// libsignal-node's src/session_record.js and src/session_cipher.js and
// Baileys' src/Signal/Group/sender-key-*.ts and src/Utils/generics.ts
// (BufferJSON); see the package documentation for the mapping.

// MaxFileSize bounds one file of a Baileys auth directory; a larger
// file is a bad file, never read whole.
const MaxFileSize = 32 << 20

// libsignal-node's constants (src/base_key_type.js, src/chain_type.js).
const (
	nodeBaseKeyOurs  = 1
	nodeChainSending = 1
	nodeChainRecv    = 2
)

// Session is a parsed libsignal-node record, with what did not carry over
// (nothing a live conversation needs, but never silently).
type Session struct {
	Record *session.Record
	// DroppedSkippedKeys counts skipped message keys libsignal-node kept and
	// libsignal's limits do not (ratchet.MaxReceiverChains chains of
	// ratchet.MaxMessageKeys keys each; libsignal-node bounds neither): the
	// oldest are left out, as libsignal itself would have dropped them.
	DroppedSkippedKeys int
}

// nodeRecord is libsignal-node's SessionRecord.serialize().
type nodeRecord struct {
	Sessions json.RawMessage `json:"_sessions"`
	Version  string          `json:"version"`
}

// nodeEntry is libsignal-node's SessionEntry.serialize(): binary fields
// are base64 strings.
type nodeEntry struct {
	RegistrationID *int64 `json:"registrationId"`
	CurrentRatchet *struct {
		EphemeralKeyPair *struct {
			PubKey  string `json:"pubKey"`
			PrivKey string `json:"privKey"`
		} `json:"ephemeralKeyPair"`
		LastRemoteEphemeralKey string `json:"lastRemoteEphemeralKey"`
		PreviousCounter        int64  `json:"previousCounter"`
		RootKey                string `json:"rootKey"`
	} `json:"currentRatchet"`
	IndexInfo *struct {
		BaseKey           string `json:"baseKey"`
		BaseKeyType       int    `json:"baseKeyType"`
		Closed            int64  `json:"closed"`
		Used              int64  `json:"used"`
		Created           int64  `json:"created"`
		RemoteIdentityKey string `json:"remoteIdentityKey"`
	} `json:"indexInfo"`
	Chains        json.RawMessage `json:"_chains"`
	PendingPreKey *struct {
		BaseKey     string `json:"baseKey"`
		PreKeyID    *int64 `json:"preKeyId"`
		SignedKeyID *int64 `json:"signedKeyId"`
	} `json:"pendingPreKey"`
}

type nodeChain struct {
	ChainKey *struct {
		Counter *int64  `json:"counter"`
		Key     *string `json:"key"`
	} `json:"chainKey"`
	ChainType   int             `json:"chainType"`
	MessageKeys json.RawMessage `json:"messageKeys"`
}

// member is one member of a JSON object, in document order (libsignal-node
// orders chains by insertion: the oldest first).
type member struct {
	key string
	val json.RawMessage
}

// members reads a JSON object's members in order; null is no members.
func members(raw json.RawMessage) ([]member, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		out = append(out, member{k, v})
	}
	return out, nil
}

// StrictUnmarshal decodes one JSON value, refusing unknown fields.
func StrictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func b64(field, s string, n ...int) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if len(n) > 0 && !slices.Contains(n, len(b)) {
		return nil, fmt.Errorf("%s: %d bytes, want %v", field, len(b), n)
	}
	return b, nil
}

// ParseSession reads a libsignal-node SessionRecord (its JSON
// serialization, version "v1", as Baileys stores it in session-*.json;
// also accepted wrapped in a BufferJSON Buffer) into an Interlock record.
// libsignal-node keeps neither the local identity nor the local
// registration ID in a session: the account's are given. now dates an
// unanswered session whose creation time is missing.
//
// A field that cannot be read is an error naming it (wrapping
// session.ErrCorruptRecord).
func ParseSession(b []byte, local prekey.IdentityKey, localRegID uint32, now time.Time) (*Session, error) {
	out, err := parseNodeSession(b, local, localRegID, now)
	if err != nil {
		return nil, fmt.Errorf("%w: libsignal-node record: %w", session.ErrCorruptRecord, err)
	}
	return out, nil
}

func parseNodeSession(b []byte, local prekey.IdentityKey, localRegID uint32, now time.Time) (*Session, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%d bytes", len(b))
	}
	if inner, ok, err := unwrapBuffer(b); err != nil {
		return nil, err
	} else if ok {
		b = inner
	}
	var rec nodeRecord
	if err := StrictUnmarshal(b, &rec); err != nil {
		return nil, err
	}
	if rec.Version != "v1" {
		return nil, fmt.Errorf("version %q (want \"v1\")", rec.Version)
	}
	ms, err := members(rec.Sessions)
	if err != nil {
		return nil, fmt.Errorf("_sessions: %w", err)
	}
	if len(ms) > session.MaxArchivedStates+1 {
		return nil, fmt.Errorf("_sessions: %d sessions", len(ms))
	}
	type built struct {
		pb   *signalpb.SessionStructure
		open bool
		used int64
	}
	var all []built
	out := &Session{}
	for _, m := range ms {
		var e nodeEntry
		if err := StrictUnmarshal(m.val, &e); err != nil {
			return nil, fmt.Errorf("_sessions[%s]: %w", m.key, err)
		}
		pb, dropped, err := e.toProto(local, localRegID, now)
		if err != nil {
			return nil, fmt.Errorf("_sessions[%s]: %w", m.key, err)
		}
		out.DroppedSkippedKeys += dropped
		all = append(all, built{pb, e.IndexInfo.Closed == -1, e.IndexInfo.Used})
	}
	rs := &signalpb.RecordStructure{}
	// The first open entry is libsignal-node's open session
	// (getOpenSession); the others are archived, the most recently used
	// first (the order libsignal-node tries them in).
	cur := slices.IndexFunc(all, func(x built) bool { return x.open })
	if cur >= 0 {
		rs.CurrentSession = all[cur].pb
		all = slices.Delete(all, cur, cur+1)
	}
	slices.SortStableFunc(all, func(x, y built) int {
		switch {
		case x.used > y.used:
			return -1
		case x.used < y.used:
			return 1
		}
		return 0
	})
	for _, x := range all {
		raw, err := proto.Marshal(x.pb)
		if err != nil {
			return nil, err
		}
		rs.PreviousSessions = append(rs.PreviousSessions, raw)
	}
	raw, err := proto.Marshal(rs)
	if err != nil {
		return nil, err
	}
	r, err := session.UnmarshalRecord(raw)
	if err == nil {
		err = r.Normalize()
	}
	if err != nil {
		return nil, err
	}
	out.Record = r
	return out, nil
}

func (e *nodeEntry) toProto(local prekey.IdentityKey, localRegID uint32, now time.Time) (*signalpb.SessionStructure, int, error) {
	if e.CurrentRatchet == nil || e.CurrentRatchet.EphemeralKeyPair == nil {
		return nil, 0, errors.New("currentRatchet: missing")
	}
	if e.IndexInfo == nil {
		return nil, 0, errors.New("indexInfo: missing")
	}
	cr, ii := e.CurrentRatchet, e.IndexInfo
	pb := &signalpb.SessionStructure{
		SessionVersion:      3,
		LocalIdentityPublic: local.Bytes(),
		LocalRegistrationId: localRegID,
		IsAlice:             ii.BaseKeyType == nodeBaseKeyOurs,
	}
	switch {
	case e.RegistrationID != nil && *e.RegistrationID >= 0 && *e.RegistrationID <= math.MaxUint32:
		pb.RemoteRegistrationId = uint32(*e.RegistrationID)
	case e.RegistrationID != nil:
		return nil, 0, fmt.Errorf("registrationId %d out of range", *e.RegistrationID)
	case ii.Closed == -1:
		return nil, 0, errors.New("registrationId: missing in an open session")
	}
	var err error
	if pb.RemoteIdentityPublic, err = b64("indexInfo.remoteIdentityKey", ii.RemoteIdentityKey, 33, 32); err != nil {
		return nil, 0, err
	}
	if pb.AliceBaseKey, err = b64("indexInfo.baseKey", ii.BaseKey, 33, 32); err != nil {
		return nil, 0, err
	}
	if pb.RootKey, err = b64("currentRatchet.rootKey", cr.RootKey, 32); err != nil {
		return nil, 0, err
	}
	// libsignal-node writes -1 when the previous sending chain sent nothing;
	// libsignal writes 0 then.
	if cr.PreviousCounter < -1 || cr.PreviousCounter > math.MaxUint32 {
		return nil, 0, fmt.Errorf("currentRatchet.previousCounter %d out of range", cr.PreviousCounter)
	}
	pb.PreviousCounter = uint32(max(cr.PreviousCounter, 0))
	ourPub, err := b64("currentRatchet.ephemeralKeyPair.pubKey", cr.EphemeralKeyPair.PubKey, 33, 32)
	if err != nil {
		return nil, 0, err
	}
	ourPriv, err := b64("currentRatchet.ephemeralKeyPair.privKey", cr.EphemeralKeyPair.PrivKey, 32)
	if err != nil {
		return nil, 0, err
	}
	lastRemote, err := b64("currentRatchet.lastRemoteEphemeralKey", cr.LastRemoteEphemeralKey, 33, 32)
	if err != nil {
		return nil, 0, err
	}
	chains, err := members(e.Chains)
	if err != nil {
		return nil, 0, fmt.Errorf("_chains: %w", err)
	}
	if len(chains) > 100_000 {
		return nil, 0, fmt.Errorf("_chains: %d chains", len(chains))
	}
	type recv struct {
		pc      *signalpb.SessionStructure_Chain
		current bool
	}
	var recvs []recv
	dropped := 0
	for _, m := range chains {
		field := "_chains[" + m.key + "]"
		pub, err := b64(field, m.key, 33, 32)
		if err != nil {
			return nil, 0, err
		}
		var c nodeChain
		if err := StrictUnmarshal(m.val, &c); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", field, err)
		}
		ck, closed, err := c.chainKey(field)
		if err != nil {
			return nil, 0, err
		}
		mks, err := c.messageKeys(field)
		if err != nil {
			return nil, 0, err
		}
		switch c.ChainType {
		case nodeChainSending:
			if !bytes.Equal(FixKey(pub), FixKey(ourPub)) {
				// libsignal-node deletes its sending chain when it steps
				// the ratchet: a second one is not its record.
				return nil, 0, fmt.Errorf("%s: a sending chain for a key that is not currentRatchet.ephemeralKeyPair", field)
			}
			if closed {
				return nil, 0, fmt.Errorf("%s: sending chain without a chain key", field)
			}
			if pb.SenderChain != nil {
				return nil, 0, fmt.Errorf("%s: a second sending chain", field)
			}
			// Message keys on a sending chain are ones libsignal-node derived
			// and has already used: nothing to carry over.
			pb.SenderChain = &signalpb.SessionStructure_Chain{SenderRatchetKey: pub, SenderRatchetKeyPrivate: ourPriv, ChainKey: ck}
		case nodeChainRecv:
			if closed && len(mks) == 0 {
				continue // a closed chain with nothing pending: nothing to keep
			}
			if len(mks) > ratchet.MaxMessageKeys {
				dropped += len(mks) - ratchet.MaxMessageKeys
				mks = mks[len(mks)-ratchet.MaxMessageKeys:] // the newest
			}
			recvs = append(recvs, recv{&signalpb.SessionStructure_Chain{SenderRatchetKey: pub, ChainKey: ck, MessageKeys: mks},
				bytes.Equal(FixKey(pub), FixKey(lastRemote))})
		default:
			return nil, 0, fmt.Errorf("%s.chainType %d", field, c.ChainType)
		}
	}
	if pb.SenderChain == nil && ii.Closed == -1 {
		return nil, 0, errors.New("_chains: no sending chain for currentRatchet.ephemeralKeyPair")
	}
	// The chain of the remote's current ratchet key goes last (libsignal
	// keeps receiver chains oldest first and drops from the front); then at
	// most MaxReceiverChains, the newest.
	if i := slices.IndexFunc(recvs, func(r recv) bool { return r.current }); i >= 0 && i != len(recvs)-1 {
		r := recvs[i]
		recvs = append(slices.Delete(recvs, i, i+1), r)
	}
	if n := len(recvs) - ratchet.MaxReceiverChains; n > 0 {
		for _, r := range recvs[:n] {
			dropped += len(r.pc.MessageKeys)
		}
		recvs = recvs[n:]
	}
	for _, r := range recvs {
		pb.ReceiverChains = append(pb.ReceiverChains, r.pc)
	}
	if p := e.PendingPreKey; p != nil {
		pp := &signalpb.SessionStructure_PendingPreKey{}
		if p.SignedKeyID == nil || *p.SignedKeyID < 0 || *p.SignedKeyID > 0xFFFFFF {
			return nil, 0, errors.New("pendingPreKey.signedKeyId: missing or out of range")
		}
		pp.SignedPreKeyId = int32(*p.SignedKeyID)
		if p.PreKeyID != nil {
			if *p.PreKeyID < 0 || *p.PreKeyID > 0xFFFFFF {
				return nil, 0, fmt.Errorf("pendingPreKey.preKeyId %d out of range", *p.PreKeyID)
			}
			id := uint32(*p.PreKeyID)
			pp.PreKeyId = &id
		}
		if pp.BaseKey, err = b64("pendingPreKey.baseKey", p.BaseKey, 33, 32); err != nil {
			return nil, 0, err
		}
		// libsignal keeps whole seconds; libsignal-node's creation time is
		// in milliseconds.
		created := now
		if ii.Created > 0 && ii.Created < math.MaxInt64/2 {
			created = time.UnixMilli(ii.Created)
		}
		pp.Timestamp = uint64(max(created.Unix(), 0))
		pb.PendingPreKey = pp
	}
	return pb, dropped, nil
}

// chainKey maps libsignal-node's chain key — counter is the index of the
// last message key it derived (-1: none), key the chain key after it — to
// libsignal's (index of the next message key). closed reports a chain whose
// key libsignal-node deleted after the remote stepped past it: every
// message on it up to the remote's previousCounter was derived then, so the
// key is never needed. libsignal's record has no "closed" chain: it gets a
// fresh random key, which no sender knows, so nothing beyond the pending
// keys can ever decrypt on it (a known key — zeros — would let anyone forge
// messages on the old chain).
func (c *nodeChain) chainKey(field string) (*signalpb.SessionStructure_Chain_ChainKey, bool, error) {
	if c.ChainKey == nil || c.ChainKey.Counter == nil {
		return nil, false, fmt.Errorf("%s.chainKey: missing", field)
	}
	n := *c.ChainKey.Counter
	if n < -1 || n >= math.MaxUint32 {
		return nil, false, fmt.Errorf("%s.chainKey.counter %d out of range", field, n)
	}
	ck := &signalpb.SessionStructure_Chain_ChainKey{Index: uint32(n + 1)}
	if c.ChainKey.Key == nil {
		ck.Key = make([]byte, 32)
		if _, err := rand.Read(ck.Key); err != nil {
			return nil, false, err
		}
		return ck, true, nil
	}
	k, err := b64(field+".chainKey.key", *c.ChainKey.Key, 32)
	if err != nil {
		return nil, false, err
	}
	ck.Key = k
	return ck, false, nil
}

// messageKeys reads libsignal-node's skipped keys: index → the message key
// seed (HMAC(chain key, 0x01)), which libsignal stores as seed too. Sorted
// by index.
func (c *nodeChain) messageKeys(field string) ([]*signalpb.SessionStructure_Chain_MessageKey, error) {
	ms, err := members(c.MessageKeys)
	if err != nil {
		return nil, fmt.Errorf("%s.messageKeys: %w", field, err)
	}
	out := make([]*signalpb.SessionStructure_Chain_MessageKey, 0, len(ms))
	for _, m := range ms {
		f := field + ".messageKeys[" + m.key + "]"
		idx, err := strconv.ParseUint(m.key, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: index: %w", f, err)
		}
		var s string
		if err := json.Unmarshal(m.val, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		seed, err := b64(f, s, 32)
		if err != nil {
			return nil, err
		}
		out = append(out, &signalpb.SessionStructure_Chain_MessageKey{Index: uint32(idx), Seed: seed})
	}
	slices.SortFunc(out, func(a, b *signalpb.SessionStructure_Chain_MessageKey) int {
		return cmp.Compare(a.Index, b.Index)
	})
	for i := 1; i < len(out); i++ {
		if out[i].Index == out[i-1].Index {
			return nil, fmt.Errorf("%s.messageKeys: index %d twice", field, out[i].Index)
		}
	}
	return out, nil
}

func FixKey(b []byte) []byte {
	if len(b) == 32 {
		return append([]byte{0x05}, b...)
	}
	return b
}

// Buffer is a Node Buffer in JSON, in each form Baileys writes or
// reads: {"type":"Buffer","data":"base64"} (BufferJSON.replacer),
// {"type":"Buffer","data":[bytes]} (JSON.stringify of a Buffer, inside
// sender-key records), or {"0":b0,"1":b1,…} (a Uint8Array, which
// BufferJSON.reviver also turns into a Buffer).
type Buffer []byte

func (b *Buffer) UnmarshalJSON(raw []byte) error {
	if string(raw) == "null" {
		*b = nil
		return nil
	}
	v, err := decodeBuffer(raw)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func decodeBuffer(raw []byte) ([]byte, error) {
	var obj struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("not a Buffer: %w", err)
	}
	if obj.Type == "Buffer" {
		var s string
		if err := json.Unmarshal(obj.Data, &s); err == nil {
			return base64.StdEncoding.DecodeString(s)
		}
		var nums []int
		if err := json.Unmarshal(obj.Data, &nums); err != nil {
			return nil, fmt.Errorf("buffer data: %w", err)
		}
		return bytesOf(nums)
	}
	ms, err := members(raw)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, errors.New("not a Buffer")
	}
	// A Uint8Array's members: "0" … "n-1", each once (JavaScript orders
	// them so; any order is read).
	nums := make([]int, len(ms))
	seen := make([]bool, len(ms))
	for _, m := range ms {
		i, err := strconv.Atoi(m.key)
		if err != nil || i < 0 || i >= len(ms) || seen[i] || strconv.Itoa(i) != m.key {
			return nil, errors.New("not a Buffer: members are not 0, 1, 2…")
		}
		seen[i] = true
		if err := json.Unmarshal(m.val, &nums[i]); err != nil {
			return nil, fmt.Errorf("not a Buffer: %w", err)
		}
	}
	return bytesOf(nums)
}

func bytesOf(nums []int) ([]byte, error) {
	out := make([]byte, len(nums))
	for i, n := range nums {
		if n < 0 || n > 255 {
			return nil, fmt.Errorf("buffer byte %d out of range", n)
		}
		out[i] = byte(n)
	}
	return out, nil
}

// unwrapBuffer returns the bytes of b if b is a BufferJSON Buffer.
func unwrapBuffer(b []byte) ([]byte, bool, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &probe) != nil || probe.Type != "Buffer" {
		return nil, false, nil
	}
	v, err := decodeBuffer(b)
	return v, err == nil, err
}

// baileysSenderKeyState is Baileys' SenderKeyStateStructure
// (src/Signal/Group/sender-key-state.ts).
type baileysSenderKeyState struct {
	SenderKeyID    *int64 `json:"senderKeyId"`
	SenderChainKey *struct {
		Iteration *int64 `json:"iteration"`
		Seed      Buffer `json:"seed"`
	} `json:"senderChainKey"`
	SenderSigningKey *struct {
		Public  Buffer `json:"public"`
		Private Buffer `json:"private"`
	} `json:"senderSigningKey"`
	SenderMessageKeys []*struct {
		Iteration *int64 `json:"iteration"`
		Seed      Buffer `json:"seed"`
	} `json:"senderMessageKeys"`
}

// ParseSenderKey reads a sender-key record of Baileys' group cipher
// (src/Signal/Group/sender-key-record.ts): a JSON array of states, the
// newest last, as Baileys stores it in sender-key-*.json (the JSON text in
// a BufferJSON Buffer; the bare JSON text is accepted too). It returns the
// record in libsignal's form (newest state first). A field that cannot be
// read is an error naming it (wrapping group.ErrInvalidRecord).
func ParseSenderKey(b []byte) (*group.Record, error) {
	r, err := parseSenderKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: Baileys sender key: %w", group.ErrInvalidRecord, err)
	}
	return r, nil
}

func parseSenderKey(b []byte) (*group.Record, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%d bytes", len(b))
	}
	if inner, ok, err := unwrapBuffer(b); err != nil {
		return nil, err
	} else if ok {
		b = inner
	}
	var states []*baileysSenderKeyState
	if err := StrictUnmarshal(b, &states); err != nil {
		return nil, err
	}
	if len(states) == 0 {
		return nil, errors.New("no state")
	}
	if len(states) > group.MaxSenderKeyStates {
		return nil, fmt.Errorf("%d states", len(states))
	}
	rs := &signalpb.SenderKeyRecordStructure{}
	for i := len(states) - 1; i >= 0; i-- {
		st := states[i]
		f := fmt.Sprintf("[%d]", i)
		if st == nil || st.SenderKeyID == nil || *st.SenderKeyID < 0 || *st.SenderKeyID > math.MaxUint32 {
			return nil, fmt.Errorf("%s.senderKeyId: missing or out of range", f)
		}
		ck := st.SenderChainKey
		if ck == nil || ck.Iteration == nil || *ck.Iteration < 0 || *ck.Iteration > math.MaxUint32 {
			return nil, fmt.Errorf("%s.senderChainKey.iteration: missing or out of range", f)
		}
		if len(ck.Seed) != group.ChainKeySize {
			return nil, fmt.Errorf("%s.senderChainKey.seed: %d bytes", f, len(ck.Seed))
		}
		sk := st.SenderSigningKey
		if sk == nil {
			return nil, fmt.Errorf("%s.senderSigningKey: missing", f)
		}
		if n := len(sk.Public); n != 32 && n != 33 {
			return nil, fmt.Errorf("%s.senderSigningKey.public: %d bytes", f, n)
		}
		if n := len(sk.Private); n != 0 && n != 32 {
			return nil, fmt.Errorf("%s.senderSigningKey.private: %d bytes", f, n)
		}
		if len(st.SenderMessageKeys) > group.MaxMessageKeys {
			return nil, fmt.Errorf("%s.senderMessageKeys: %d keys", f, len(st.SenderMessageKeys))
		}
		ps := &signalpb.SenderKeyStateStructure{
			ChainId:          uint32(*st.SenderKeyID),
			SenderChainKey:   &signalpb.SenderKeyStateStructure_SenderChainKey{Iteration: uint32(*ck.Iteration), Seed: ck.Seed},
			SenderSigningKey: &signalpb.SenderKeyStateStructure_SenderSigningKey{Public: FixKey(sk.Public), Private: sk.Private},
		}
		for j, mk := range st.SenderMessageKeys {
			if mk == nil || mk.Iteration == nil || *mk.Iteration < 0 || *mk.Iteration > math.MaxUint32 || len(mk.Seed) != group.ChainKeySize {
				return nil, fmt.Errorf("%s.senderMessageKeys[%d]: malformed", f, j)
			}
			ps.SenderMessageKeys = append(ps.SenderMessageKeys, &signalpb.SenderKeyStateStructure_SenderMessageKey{Iteration: uint32(*mk.Iteration), Seed: mk.Seed})
		}
		rs.SenderKeyStates = append(rs.SenderKeyStates, ps)
	}
	raw, err := proto.Marshal(rs)
	if err != nil {
		return nil, err
	}
	return group.UnmarshalRecord(raw)
}
