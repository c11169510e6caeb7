package spqr

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/interlock-e2ee/interlock/internal/erasure"
	"github.com/interlock-e2ee/interlock/internal/mlkem768"
	"google.golang.org/protobuf/encoding/protowire"
)

// The stored form is SPQR's PqRatchetState protobuf (src/proto/pq_ratchet.proto,
// package signal.proto.pq_ratchet), which libsignal keeps in
// SessionStructure.pq_ratchet_state (field 15); a V0 state is empty. Fields
// are written in field-number order and proto3 defaults are omitted, as prost
// writes them.

// Marshal serializes the state.
func (s *State) Marshal() []byte {
	if s.braid == nil {
		return nil
	}
	b := make([]byte, 0, s.braid.marshalSize()+512)
	if n := s.neg; n != nil {
		b = appendMsg(b, 1, func(b []byte) []byte {
			b = putBytes(b, 1, n.authKey)
			b = putVarint(b, 2, uint64(n.dir))
			b = putVarint(b, 3, uint64(n.minVersion))
			return appendMsg(b, 4, chainParams(n.maxJump, n.maxOOO))
		})
	}
	if c := s.chain; c != nil {
		b = appendMsg(b, 2, func(b []byte) []byte {
			b = putVarint(b, 1, uint64(c.dir))
			b = putVarint(b, 2, c.currentEpoch)
			for i := range c.links {
				l := &c.links[i]
				b = appendMsg(b, 3, func(b []byte) []byte {
					b = appendMsg(b, 1, dirBytes(&l.send))
					return appendMsg(b, 2, dirBytes(&l.recv))
				})
			}
			b = putBytes(b, 4, c.nextRoot)
			b = putVarint(b, 5, c.sendEpoch)
			return appendMsg(b, 6, chainParams(c.maxJump, c.maxOOO))
		})
	}
	return appendMsg(b, 3, s.braid.marshal)
}

func chainParams(jump, ooo uint32) func([]byte) []byte {
	return func(b []byte) []byte {
		if jump != DefaultMaxJump {
			b = putVarint(b, 1, uint64(jump))
		}
		if ooo != DefaultMaxOOOKeys {
			b = putVarint(b, 2, uint64(ooo))
		}
		return b
	}
}

func dirBytes(d *direction) func([]byte) []byte {
	return func(b []byte) []byte {
		b = putVarint(b, 1, uint64(d.ctr))
		b = putBytes(b, 2, d.next)
		return putBytes(b, 3, d.prev)
	}
}

// layout says which Unchunked fields (numbers 3, 4, 5, in order) a stage
// stores, where its encoder and decoder go (0 = none) and the length of the
// message each erasure-codes: the stage allows exactly that many points.
type layout struct {
	fields           []string
	enc, dec         protowire.Number
	encSize, decSize int
}

var layouts = map[stage]layout{
	keysUnsampled:        {nil, 0, 0, 0, 0},
	keysSampled:          {[]string{"ek", "dk"}, 2, 0, hdrMsgSize, 0},
	headerSent:           {[]string{"dk"}, 2, 3, ekMsgSize, ct1MsgSize},
	ct1Received:          {[]string{"dk", "ct1"}, 2, 0, ekMsgSize, 0},
	ekSentCt1Received:    {[]string{"dk", "ct1"}, 0, 3, 0, ct2MsgSize},
	noHeaderReceived:     {nil, 0, 2, 0, hdrMsgSize},
	headerReceived:       {[]string{"hdr"}, 0, 2, 0, ekMsgSize},
	ct1Sampled:           {[]string{"hdr", "es", "ct1"}, 2, 3, ct1MsgSize, ekMsgSize},
	ekReceivedCt1Sampled: {[]string{"es", "ek", "ct1"}, 2, 0, ct1MsgSize, 0},
	ct1Acknowledged:      {[]string{"hdr", "es", "ct1"}, 0, 2, 0, ekMsgSize},
	ct2Sampled:           {nil, 2, 0, ct2MsgSize, 0},
}

var fieldSizes = map[string]int{
	"ek": mlkem768.VectorSize, "dk": mlkem768.DecapsulationKeySize, "hdr": mlkem768.HeaderSize,
	"es": mlkem768.EncapsulationStateSize, "ct1": mlkem768.Ciphertext1Size,
}

func (b *braid) field(name string) *[]byte {
	switch name {
	case "ek":
		return &b.ek
	case "dk":
		return &b.dk
	case "hdr":
		return &b.hdr
	case "es":
		return &b.es
	}
	return &b.ct1
}

// marshalSize bounds the size of the braid's large fields, to size the
// output buffer once.
func (b *braid) marshalSize() int {
	n := len(b.ek) + len(b.dk) + len(b.hdr) + len(b.es) + len(b.ct1) + 128
	if b.enc != nil || b.dec != nil {
		n += 2 * ekMsgSize
	}
	return n
}

// marshal appends the braid's V1 message.
func (b *braid) marshal(out []byte) []byte {
	l := layouts[b.stage]
	return appendMsg(out, protowire.Number(b.stage), func(st []byte) []byte {
		st = appendMsg(st, 1, func(uc []byte) []byte {
			uc = putVarint(uc, 1, b.epoch)
			uc = appendMsg(uc, 2, func(auth []byte) []byte {
				auth = putBytes(auth, 1, b.auth.root[:])
				return putBytes(auth, 2, b.auth.mac[:])
			})
			for i, f := range l.fields {
				uc = putBytes(uc, protowire.Number(3+i), *b.field(f))
			}
			return uc
		})
		for n := protowire.Number(2); n <= 3; n++ {
			switch n {
			case l.enc:
				st = appendMsg(st, n, func(e []byte) []byte {
					idx, pts, polys := b.enc.State()
					e = putVarint(e, 1, uint64(idx))
					for _, p := range pts {
						e = protowire.AppendTag(e, 2, protowire.BytesType)
						e = protowire.AppendBytes(e, p)
					}
					for _, p := range polys {
						e = protowire.AppendTag(e, 3, protowire.BytesType)
						e = protowire.AppendBytes(e, p)
					}
					return e
				})
			case l.dec:
				st = appendMsg(st, n, func(d []byte) []byte {
					need, pts, done := b.dec.State()
					d = putVarint(d, 1, uint64(need))
					d = putVarint(d, 2, erasure.Lanes)
					for _, p := range pts {
						d = protowire.AppendTag(d, 3, protowire.BytesType)
						d = protowire.AppendBytes(d, p)
					}
					if done {
						d = putVarint(d, 4, 1)
					}
					return d
				})
			}
		}
		return st
	})
}

func putVarint(b []byte, n protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, n, protowire.VarintType), v)
}

func putBytes(b []byte, n protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return protowire.AppendBytes(protowire.AppendTag(b, n, protowire.BytesType), v)
}

// appendMsg appends field n holding the sub-message body appends (present
// even when empty). The body is written in place and moved right by the size
// of its length prefix, so nested messages need no buffers of their own.
func appendMsg(b []byte, n protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	start := len(b)
	b = body(b)
	size := len(b) - start
	var pfx [binary.MaxVarintLen64]byte
	p := protowire.AppendVarint(pfx[:0], uint64(size))
	b = append(b, p...)
	copy(b[start+len(p):], b[start:start+size])
	copy(b[start:], p)
	return b
}

// fields is a parsed protobuf message: its fields in order (varints in x,
// length-delimited values in b, aliasing the parsed buffer). A slice rather
// than a map of boxed values: parsing a stored state allocates one slice
// per message.
type fields []field

type field struct {
	num   protowire.Number
	isLen bool // length-delimited (b), else a varint (x)
	x     uint64
	b     []byte
}

func parse(b []byte) (fields, error) {
	// Count first, so that the slice is allocated once.
	n := 0
	for rest := b; len(rest) > 0; n++ {
		num, typ, m := protowire.ConsumeTag(rest)
		if m < 0 {
			return nil, corrupt("tag")
		}
		rest = rest[m:]
		k := protowire.ConsumeFieldValue(num, typ, rest)
		if k < 0 {
			return nil, corrupt("field")
		}
		rest = rest[k:]
	}
	f := make(fields, 0, n)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, corrupt("tag")
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, corrupt("varint")
			}
			f, b = append(f, field{num: num, x: x}), b[n:]
		case protowire.BytesType:
			x, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, corrupt("bytes")
			}
			f, b = append(f, field{num: num, isLen: true, b: x}), b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, corrupt("field")
			}
			b = b[n:]
			continue // unknown wire types are skipped
		}
	}
	return f, nil
}

func corrupt(what string) error { return fmt.Errorf("%w: stored state: %s", ErrState, what) }

// last returns the last value of field n, if any.
func (f fields) last(n protowire.Number) (*field, bool) {
	for i := len(f) - 1; i >= 0; i-- {
		if f[i].num == n {
			return &f[i], true
		}
	}
	return nil, false
}

func (f fields) varint(n protowire.Number) (uint64, error) {
	v, ok := f.last(n)
	if !ok {
		return 0, nil
	}
	if v.isLen {
		return 0, corrupt("wire type")
	}
	return v.x, nil
}

// bytes returns a copy of the last value of field n.
func (f fields) bytes(n protowire.Number) ([]byte, error) {
	v, err := f.raw(n)
	if v == nil {
		return nil, err
	}
	return append([]byte(nil), v...), nil
}

// raw returns the last value of field n, in the parsed buffer.
func (f fields) raw(n protowire.Number) ([]byte, error) {
	v, ok := f.last(n)
	if !ok {
		return nil, nil
	}
	if !v.isLen {
		return nil, corrupt("wire type")
	}
	return v.b, nil
}

func (f fields) all(n protowire.Number) ([][]byte, error) {
	var out [][]byte
	for i := range f {
		if f[i].num != n {
			continue
		}
		if !f[i].isLen {
			return nil, corrupt("wire type")
		}
		out = append(out, f[i].b)
	}
	return out, nil
}

// msg returns a sub-message, and whether it was present. Its values stay in
// the parsed buffer: bytes copies what is kept.
func (f fields) msg(n protowire.Number) (fields, bool, error) {
	if _, ok := f.last(n); !ok {
		return nil, false, nil
	}
	b, err := f.raw(n)
	if err != nil {
		return nil, false, err
	}
	m, err := parse(b)
	return m, true, err
}

func u32(v uint64, err error) (uint32, error) {
	if err == nil && v > 0xffffffff {
		err = corrupt("uint32 out of range")
	}
	return uint32(v), err
}

func readParams(f fields) (uint32, uint32, error) {
	p, _, err := f.msg(6)
	if err != nil {
		return 0, 0, err
	}
	return readChainParams(p)
}

func readChainParams(p fields) (uint32, uint32, error) {
	j, err := u32(p.varint(1))
	if err != nil {
		return 0, 0, err
	}
	o, err := u32(p.varint(2))
	if j == 0 {
		j = DefaultMaxJump
	}
	if o == 0 {
		o = DefaultMaxOOOKeys
	}
	// A MaxJump above MaxJumpLimit is kept (libsignal stores u32::MAX for a
	// session with oneself) and capped where it is used, chain.jump.
	if err == nil && o > MaxOOOKeysLimit {
		err = corrupt("max OOO keys above MaxOOOKeysLimit")
	}
	return j, o, err
}

// Unmarshal parses a stored state (empty = V0). Stored bytes are checked as
// strictly as messages: every size, count, index and epoch is held to what
// the state's stage allows, so that no stored state makes loading it or its
// first Send or Recv cost more than an honest one (issue #20 item 9).
func Unmarshal(b []byte) (*State, error) {
	if len(b) == 0 {
		return &State{}, nil
	}
	f, err := parse(b)
	if err != nil {
		return nil, err
	}
	s := &State{}
	if vn, ok, err := f.msg(1); err != nil {
		return nil, err
	} else if ok {
		n := &negotiation{}
		if n.authKey, err = vn.bytes(1); err != nil || len(n.authKey) != 32 {
			return nil, corrupt("auth key")
		}
		d, err := vn.varint(2)
		if err != nil || d > 1 {
			return nil, corrupt("direction")
		}
		mv, err := vn.varint(3)
		if err != nil || mv > 1 {
			return nil, corrupt("min version")
		}
		n.dir, n.minVersion = Direction(d), Version(mv)
		p, _, err := vn.msg(4)
		if err != nil {
			return nil, err
		}
		if n.maxJump, n.maxOOO, err = readChainParams(p); err != nil {
			return nil, err
		}
		s.neg = n
	}
	if cf, ok, err := f.msg(2); err != nil {
		return nil, err
	} else if ok {
		if s.chain, err = readChain(cf); err != nil {
			return nil, err
		}
	}
	v1, ok, err := f.msg(3)
	if err != nil {
		return nil, err
	}
	if !ok {
		// A state without the V1 braid is V0.
		return &State{}, nil
	}
	if s.braid, err = readBraid(v1); err != nil {
		return nil, err
	}
	if err := s.checkEpochs(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkEpochs verifies what ties the braid, the chain and the negotiation
// together, so that every epoch number is one the stage allows:
//   - the roles alternate: the initiator (A2B) sends keys in odd epochs, the
//     responder in even ones (The ML-KEM Braid, §4), so the direction and
//     the epoch's parity fix whether the stage is a key sender's (1–5) or an
//     encapsulator's (6–11);
//   - the chain holds the secrets of every epoch before the braid's, and the
//     braid's own once the encapsulator sampled ct1 (stages 8–11);
//   - while negotiating nothing was received: epoch 1, a starting stage, and
//     a chain (created by the first Send under MinVersion V1) still at 0.
func (s *State) checkEpochs() error {
	b := s.braid
	var dir Direction
	switch {
	case s.chain == nil && s.neg == nil:
		return corrupt("neither chain nor negotiation")
	case s.chain != nil && s.neg != nil && s.chain.dir != s.neg.dir:
		return corrupt("chain and negotiation directions differ")
	case s.chain != nil:
		dir = s.chain.dir
	default:
		dir = s.neg.dir
	}
	keySender := b.stage <= ekSentCt1Received
	if keySender != ((dir == A2B) == (b.epoch%2 == 1)) {
		return corrupt("stage not the direction's in this epoch")
	}
	if s.neg != nil {
		if b.epoch != 1 || (b.stage != keysUnsampled && b.stage != keysSampled && b.stage != noHeaderReceived) {
			return corrupt("negotiating after a message was received")
		}
		if s.chain != nil && (s.chain.currentEpoch != 0 || s.neg.minVersion == V0) {
			return corrupt("chain while negotiating")
		}
		return nil
	}
	want := b.epoch - 1
	if b.stage >= ct1Sampled {
		want = b.epoch
	}
	if s.chain.currentEpoch != want {
		return corrupt("chain epoch not the braid's")
	}
	return nil
}

func readChain(f fields) (*chain, error) {
	c := &chain{}
	d, err := f.varint(1)
	if err != nil || d > 1 {
		return nil, corrupt("chain direction")
	}
	c.dir = Direction(d)
	if c.currentEpoch, err = f.varint(2); err != nil {
		return nil, err
	}
	if c.sendEpoch, err = f.varint(5); err != nil {
		return nil, err
	}
	if c.nextRoot, err = f.bytes(4); err != nil || len(c.nextRoot) != 32 {
		return nil, corrupt("next root")
	}
	if c.maxJump, c.maxOOO, err = readParams(f); err != nil {
		return nil, err
	}
	links, err := f.all(3)
	if err != nil {
		return nil, err
	}
	// links are the consecutive epochs up to currentEpoch, from the one
	// before sendEpoch on (Chain::send_key discards the older ones).
	first := c.sendEpoch - min(c.sendEpoch, 1)
	if len(links) == 0 || len(links) > MaxChainEpochs || c.sendEpoch > c.currentEpoch ||
		uint64(len(links)-1) > c.currentEpoch-first {
		return nil, corrupt("chain epochs")
	}
	for _, lb := range links {
		lf, err := parse(lb)
		if err != nil {
			return nil, err
		}
		var l epochLinks
		for i, dst := range []*direction{&l.send, &l.recv} {
			df, ok, err := lf.msg(protowire.Number(i + 1))
			if err != nil || !ok {
				return nil, corrupt("epoch link")
			}
			if dst.ctr, err = u32(df.varint(1)); err != nil {
				return nil, err
			}
			if dst.next, err = df.bytes(2); err != nil || (len(dst.next) != 0 && len(dst.next) != 32) {
				return nil, corrupt("chain key")
			}
			if dst.prev, err = df.bytes(3); err != nil || !validHistory(dst.prev, dst.ctr, c.ooo()) {
				return nil, corrupt("key history")
			}
		}
		if len(l.send.prev) != 0 || len(l.recv.next) != 32 {
			// Sending chains keep no skipped keys; receiving chains are
			// never erased (SPQR src/chain.rs).
			return nil, corrupt("epoch link")
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// validHistory: a key history holds at most historyLimit(maxOOO) entries
// (KeyHistory::gc keeps it below), each for a distinct index in [1, ctr):
// keys are skipped only on the way to a later index.
func validHistory(prev []byte, ctr, maxOOO uint32) bool {
	n := len(prev) / historyEntry
	if len(prev)%historyEntry != 0 || n > historyLimit(maxOOO) {
		return false
	}
	idx := make([]uint32, n)
	for i := range idx {
		idx[i] = binary.BigEndian.Uint32(prev[i*historyEntry:])
		if idx[i] == 0 || idx[i] >= ctr {
			return false
		}
	}
	slices.Sort(idx)
	for i := 1; i < n; i++ {
		if idx[i] == idx[i-1] {
			return false
		}
	}
	return true
}

func readBraid(f fields) (*braid, error) {
	var st stage
	var sf fields
	for n := range layouts {
		if m, ok, err := f.msg(protowire.Number(n)); err != nil {
			return nil, err
		} else if ok {
			if sf != nil {
				return nil, corrupt("two braid states")
			}
			st, sf = n, m
		}
	}
	if sf == nil {
		return nil, corrupt("no braid state")
	}
	l := layouts[st]
	b := &braid{stage: st}
	uc, ok, err := sf.msg(1)
	if err != nil || !ok {
		return nil, corrupt("braid")
	}
	if b.epoch, err = uc.varint(1); err != nil || b.epoch == 0 || b.epoch == ^uint64(0) {
		return nil, corrupt("epoch")
	}
	af, ok, err := uc.msg(2)
	if err != nil || !ok {
		return nil, corrupt("authenticator")
	}
	root, err1 := af.bytes(1)
	mac, err2 := af.bytes(2)
	if err1 != nil || err2 != nil || len(root) != 32 || len(mac) != 32 {
		return nil, corrupt("authenticator keys")
	}
	copy(b.auth.root[:], root)
	copy(b.auth.mac[:], mac)
	for i, name := range l.fields {
		v, err := uc.bytes(protowire.Number(3 + i))
		if err != nil || len(v) != fieldSizes[name] {
			return nil, corrupt(name)
		}
		if name == "es" {
			if _, err := mlkem768.ParseEncapsulationState(v); err != nil {
				return nil, corrupt("encapsulation state")
			}
		}
		*b.field(name) = v
	}
	if l.enc != 0 {
		ef, ok, err := sf.msg(l.enc)
		if err != nil || !ok {
			return nil, corrupt("encoder")
		}
		idx, err := u32(ef.varint(1))
		if err != nil {
			return nil, err
		}
		pts, err1 := ef.all(2)
		polys, err2 := ef.all(3)
		if err1 != nil || err2 != nil {
			return nil, corrupt("encoder")
		}
		if b.enc, err = erasure.RestoreEncoder(l.encSize, idx, pts, polys); err != nil {
			return nil, corrupt("encoder")
		}
	}
	if l.dec != 0 {
		df, ok, err := sf.msg(l.dec)
		if err != nil || !ok {
			return nil, corrupt("decoder")
		}
		need, err := df.varint(1)
		if err != nil || need != uint64(l.decSize/2) {
			return nil, corrupt("decoder size")
		}
		pts, err := df.all(3)
		if err != nil {
			return nil, err
		}
		// SPQR's is_complete: neither SPQR (whose states leave the stage as
		// soon as a message decodes) nor Interlock stores a complete decoder.
		if done, err := df.varint(4); err != nil || done != 0 {
			return nil, corrupt("decoder complete")
		}
		if b.dec, err = erasure.RestoreDecoder(uint32(need), pts, false); err != nil {
			return nil, corrupt("decoder")
		}
	}
	return b, nil
}
