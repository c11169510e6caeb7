package session

import (
	"bytes"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// The stored record (RecordStructure and SessionStructure, proto/storage.proto)
// is encoded and decoded here by hand on the path every durable store takes
// for every message (issue #18 item 2), without protobuf reflection:
//
//   - appendState writes exactly the bytes proto.Marshal writes for toProto's
//     SessionStructure (fields in number order, proto3 zero values omitted);
//     TestRecordCodecMatchesProto compares them byte for byte.
//   - parseRecordFast and parseStateFast fill the same generated structs that
//     proto.Unmarshal fills, for the canonical forms only: an unknown field, a
//     wire type other than the schema's, a repeated singular message (which
//     protobuf would merge) or more chains or keys than a valid state holds
//     sends the input to proto.Unmarshal instead. FuzzRecordCodec checks that
//     whatever the fast parser accepts, proto.Unmarshal parses to an equal
//     message. Every check after parsing (stateFromProto) is shared.

// appendState appends s as a SessionStructure.
func (s *State) appendState(dst []byte) []byte {
	var k [33]byte
	dst = appendVarintField(dst, 1, uint64(uint32(s.version)))
	dst = appendBytesField(dst, 2, s.localIdentity.PublicKey().AppendBytes(k[:0]))
	dst = appendBytesField(dst, 3, s.remoteIdentity.PublicKey().AppendBytes(k[:0]))
	dst = s.ratchet.AppendProto(dst)
	if p := s.pending; p != nil {
		var m [80]byte
		b := m[:0]
		if p.hasPreKeyID {
			b = protowire.AppendTag(b, 1, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(p.preKeyID))
		}
		b = appendBytesField(b, 2, p.baseKey.AppendBytes(k[:0]))
		b = appendVarintField(b, 3, uint64(int64(int32(p.signedPreKeyID))))
		b = appendVarintField(b, 4, pendingTimeToStored(p.timestamp))
		dst = protowire.AppendTag(dst, 9, protowire.BytesType)
		dst = protowire.AppendBytes(dst, b)
	}
	dst = appendVarintField(dst, 10, uint64(s.remoteRegID))
	dst = appendVarintField(dst, 11, uint64(s.localRegID))
	dst = appendBytesField(dst, 13, s.aliceBaseKey)
	if p := s.pending; p != nil && p.kyberCiphertext != nil {
		size := 0
		if p.kyberPreKeyID != 0 {
			size += 1 + protowire.SizeVarint(uint64(p.kyberPreKeyID))
		}
		if n := len(p.kyberCiphertext); n > 0 {
			size += 1 + protowire.SizeVarint(uint64(n)) + n
		}
		dst = protowire.AppendTag(dst, 14, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(size))
		dst = appendVarintField(dst, 1, uint64(p.kyberPreKeyID))
		dst = appendBytesField(dst, 2, p.kyberCiphertext)
	}
	if s.pq != nil {
		dst = appendBytesField(dst, 15, s.pq.Marshal())
	}
	if s.isAlice {
		dst = protowire.AppendTag(dst, 18, protowire.VarintType)
		dst = protowire.AppendVarint(dst, 1)
	}
	return dst
}

// appendStateField appends s as length-delimited field num. The length is
// reserved at its widest and the body moved back once known.
func (s *State) appendStateField(dst []byte, num protowire.Number) []byte {
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0)
	dst = s.appendState(dst)
	return fixLength(dst, start)
}

// fixLength writes the length of dst[start+5:] as a varint at start and moves
// the body back over the unused reserved bytes.
func fixLength(dst []byte, start int) []byte {
	n := uint64(len(dst) - start - 5)
	w := protowire.SizeVarint(n)
	protowire.AppendVarint(dst[start:start], n)
	copy(dst[start+w:], dst[start+5:])
	return dst[:len(dst)-(5-w)]
}

func appendVarintField(dst []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.VarintType)
	return protowire.AppendVarint(dst, v)
}

func appendBytesField(dst []byte, num protowire.Number, b []byte) []byte {
	if len(b) == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendBytes(dst, b)
}

// marshalRecord encodes r as a RecordStructure.
func (r *Record) marshalRecord() []byte {
	// A record changes by a chain step, a key or a chain at a time: the
	// size it was read with, and some room, holds it; otherwise 1 KiB and
	// its archived states' bytes. (Marshal never writes to r: records may
	// be marshalled on several goroutines at once.) The size read with is
	// only a hint: stored bytes may carry fields the parser skips or
	// repeats, so it is capped at 16 KiB over the other estimate (a padded
	// row must not make every Marshal of the record, or of its clones in a
	// cache, allocate for the padding).
	size := 1024
	for _, a := range r.previous {
		size += len(a.raw) + 4
	}
	if r.size > 0 {
		size = min(r.size+256, size+16<<10)
	}
	out := make([]byte, 0, size)
	if r.current != nil {
		out = r.current.appendStateField(out, 1)
	}
	for _, a := range r.previous {
		if a.raw != nil {
			out = protowire.AppendTag(out, 2, protowire.BytesType)
			out = protowire.AppendBytes(out, a.raw)
		} else {
			out = a.s.appendStateField(out, 2)
		}
	}
	return out
}

// parseRecordFast parses a canonical RecordStructure; ok is false when the
// input needs proto.Unmarshal. The result aliases a private copy of b.
// (Parsing without that copy and recycling the parsed structures through a
// sync.Pool saved 2.2 KB per load, issue #18; both were withdrawn while a
// multi-process soak failure, "spqr: key already used", was investigated.
// The same failure then showed on the code before them too, one run in
// nine: see the issue #18 closing note.)
func parseRecordFast(b []byte) (pb *signalpb.RecordStructure, ok bool) {
	b = bytes.Clone(b)
	current, n, ok := scanRecord(b)
	if !ok || n > MaxArchivedStates { // too many: refused after proto.Unmarshal, as before
		return nil, false
	}
	pb = &signalpb.RecordStructure{}
	if n > 0 {
		pb.PreviousSessions = make([][]byte, 0, n)
		for rest := b; len(rest) > 0; {
			num, _, v, _, m := consumeField(rest)
			rest = rest[m:]
			if num == 2 {
				pb.PreviousSessions = append(pb.PreviousSessions, v)
			}
		}
	}
	if current != nil {
		if pb.CurrentSession, ok = parseStateFast(current); !ok {
			return nil, false
		}
	}
	return pb, true
}

// scanRecord reads a canonical RecordStructure's fields: the current
// state's bytes and the number of archived states.
func scanRecord(b []byte) (current []byte, archived int, ok bool) {
	for rest := b; len(rest) > 0; {
		num, typ, v, _, m := consumeField(rest)
		if m < 0 || typ != protowire.BytesType {
			return nil, 0, false
		}
		rest = rest[m:]
		switch num {
		case 1:
			if current != nil {
				return nil, 0, false // a second current session would merge
			}
			current = v
		case 2:
			archived++
		default:
			return nil, 0, false
		}
	}
	return current, archived, true
}

// consumeField reads one field: its number, wire type, and its value (v for
// BytesType, x for VarintType); m < 0 on malformed input or another wire
// type.
func consumeField(b []byte) (num protowire.Number, typ protowire.Type, v []byte, x uint64, m int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, nil, 0, -1
	}
	var k int
	switch typ {
	case protowire.BytesType:
		v, k = protowire.ConsumeBytes(b[n:])
	case protowire.VarintType:
		x, k = protowire.ConsumeVarint(b[n:])
	default:
		return 0, 0, nil, 0, -1
	}
	if k < 0 {
		return 0, 0, nil, 0, -1
	}
	return num, typ, v, x, n + k
}

// stateArena holds a parsed SessionStructure and its common sub-messages in
// one allocation.
type stateArena struct {
	ss      signalpb.SessionStructure
	chains  [1 + maxStoredChains]signalpb.SessionStructure_Chain
	keys    [1 + maxStoredChains]signalpb.SessionStructure_Chain_ChainKey
	recv    [maxStoredChains]*signalpb.SessionStructure_Chain
	pending signalpb.SessionStructure_PendingPreKey
	kyber   signalpb.SessionStructure_PendingKyberPreKey
	preKey  uint32
}

// maxStoredChains is the most receiver chains a valid state holds
// (ratchet.MaxReceiverChains); more go to proto.Unmarshal and are refused.
const maxStoredChains = 5

// parseStateFast parses a canonical SessionStructure (aliasing b) into a
// fresh arena.
func parseStateFast(b []byte) (*signalpb.SessionStructure, bool) {
	a := new(stateArena)
	return &a.ss, parseStateInto(b, a)
}

// parseStateInto parses a canonical SessionStructure (aliasing b) into a,
// which must be zero.
func parseStateInto(b []byte, a *stateArena) bool {
	pb := &a.ss
	nc := 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		var x uint64
		var v []byte
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			return false
		}
		if n < 0 {
			return false
		}
		b = b[n:]
		isBytes := typ == protowire.BytesType
		switch {
		case num == 1 && !isBytes:
			pb.SessionVersion = uint32(x)
		case num == 2 && isBytes:
			pb.LocalIdentityPublic = v
		case num == 3 && isBytes:
			pb.RemoteIdentityPublic = v
		case num == 4 && isBytes:
			pb.RootKey = v
		case num == 5 && !isBytes:
			pb.PreviousCounter = uint32(x)
		case num == 6 && isBytes && pb.SenderChain == nil:
			c := &a.chains[0]
			if !parseChainFast(v, c, &a.keys[0]) {
				return false
			}
			pb.SenderChain = c
		case num == 7 && isBytes && nc < maxStoredChains:
			c := &a.chains[1+nc]
			if !parseChainFast(v, c, &a.keys[1+nc]) {
				return false
			}
			a.recv[nc] = c
			nc++
		case num == 9 && isBytes && pb.PendingPreKey == nil:
			if !parsePendingFast(v, &a.pending, &a.preKey) {
				return false
			}
			pb.PendingPreKey = &a.pending
		case num == 10 && !isBytes:
			pb.RemoteRegistrationId = uint32(x)
		case num == 11 && !isBytes:
			pb.LocalRegistrationId = uint32(x)
		case num == 13 && isBytes:
			pb.AliceBaseKey = v
		case num == 14 && isBytes && pb.PendingKyberPreKey == nil:
			for len(v) > 0 {
				fn, ft, fv, fx, m := consumeField(v)
				if m < 0 {
					return false
				}
				switch {
				case fn == 1 && ft == protowire.VarintType:
					a.kyber.PreKeyId = uint32(fx)
				case fn == 2 && ft == protowire.BytesType:
					a.kyber.Ciphertext = fv
				default:
					return false
				}
				v = v[m:]
			}
			pb.PendingKyberPreKey = &a.kyber
		case num == 15 && isBytes:
			pb.PqRatchetState = v
		case num == 18 && !isBytes:
			pb.IsAlice = x != 0
		default:
			return false
		}
	}
	if nc > 0 {
		pb.ReceiverChains = a.recv[:nc:nc]
	}
	return true
}

func parsePendingFast(b []byte, p *signalpb.SessionStructure_PendingPreKey, id *uint32) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType && num >= 1 && num <= 4 && num != 2:
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return false
			}
			b = b[m:]
			switch num {
			case 1:
				*id = uint32(x)
				p.PreKeyId = id
			case 3:
				p.SignedPreKeyId = int32(x)
			case 4:
				p.Timestamp = x
			}
		case typ == protowire.BytesType && num == 2:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return false
			}
			b = b[m:]
			p.BaseKey = v
		default:
			return false
		}
	}
	return true
}

// parseChainFast parses a Chain into c (its ChainKey into ck).
func parseChainFast(b []byte, c *signalpb.SessionStructure_Chain, ck *signalpb.SessionStructure_Chain_ChainKey) bool {
	nk := 0
	for rest := b; len(rest) > 0; {
		num, typ, v, _, m := consumeField(rest)
		if m < 0 || typ != protowire.BytesType {
			return false
		}
		rest = rest[m:]
		switch num {
		case 1:
			c.SenderRatchetKey = v
		case 2:
			c.SenderRatchetKeyPrivate = v
		case 3:
			if c.ChainKey != nil {
				return false // a second chain key would merge
			}
			for len(v) > 0 {
				fn, ft, fv, fx, k := consumeField(v)
				if k < 0 {
					return false
				}
				switch {
				case fn == 1 && ft == protowire.VarintType:
					ck.Index = uint32(fx)
				case fn == 2 && ft == protowire.BytesType:
					ck.Key = fv
				default:
					return false
				}
				v = v[k:]
			}
			c.ChainKey = ck
		case 4:
			nk++
		default:
			return false
		}
	}
	if nk == 0 {
		return true
	}
	if nk > maxStoredKeys {
		return false
	}
	keys := make([]signalpb.SessionStructure_Chain_MessageKey, nk)
	c.MessageKeys = make([]*signalpb.SessionStructure_Chain_MessageKey, 0, nk)
	for rest := b; len(rest) > 0; {
		num, _, v, _, m := consumeField(rest)
		rest = rest[m:]
		if num != 4 {
			continue
		}
		k := &keys[len(c.MessageKeys)]
		for len(v) > 0 {
			fn, ft, fv, fx, j := consumeField(v)
			if j < 0 {
				return false
			}
			switch {
			case fn == 1 && ft == protowire.VarintType:
				k.Index = uint32(fx)
			case fn == 2 && ft == protowire.BytesType:
				k.CipherKey = fv
			case fn == 3 && ft == protowire.BytesType:
				k.MacKey = fv
			case fn == 4 && ft == protowire.BytesType:
				k.Iv = fv
			case fn == 5 && ft == protowire.BytesType:
				k.Seed = fv
			default:
				return false
			}
			v = v[j:]
		}
		c.MessageKeys = append(c.MessageKeys, k)
	}
	return true
}

// maxStoredKeys is the most skipped keys a valid chain holds
// (ratchet.MaxMessageKeys); more go to proto.Unmarshal and are refused.
const maxStoredKeys = 2000
