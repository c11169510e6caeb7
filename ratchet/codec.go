package ratchet

import (
	"github.com/interlock-e2ee/interlock/internal/curve"
	"google.golang.org/protobuf/encoding/protowire"
)

// AppendProto appends the ratchet part of a stored session — fields 4 to 7
// of SessionStructure (root key, previous counter, sender chain, receiver
// chains) — to dst in exactly the bytes proto.Marshal writes for what
// MarshalProto fills in (fields in number order, proto3 zero values
// omitted). A test compares the two byte for byte.
func (s *State) AppendProto(dst []byte) []byte {
	dst = appendBytesField(dst, 4, s.RootKey[:])
	if s.PreviousCounter != 0 {
		dst = protowire.AppendTag(dst, 5, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(s.PreviousCounter))
	}
	if s.hasSender {
		var pub [33]byte
		var priv [32]byte
		dst = appendChain(dst, 6, s.SenderRatchet.Public.AppendBytes(pub[:0]),
			curve.AppendPrivate(priv[:0], s.SenderRatchet.Private), s.SenderChain, nil)
		clear(priv[:])
	}
	for i := range s.receivers {
		rc := &s.receivers[i]
		var pub [33]byte
		dst = appendChain(dst, 7, rc.ratchetKey.AppendBytes(pub[:0]), nil, rc.chain, rc.skipped)
	}
	return dst
}

func appendBytesField(dst []byte, num protowire.Number, b []byte) []byte {
	if len(b) == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendBytes(dst, b)
}

func appendUint32Field(dst []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.VarintType)
	return protowire.AppendVarint(dst, uint64(v))
}

// chainKeySize is the encoded size of a ChainKey message.
func chainKeySize(c ChainKey) int {
	n := 1 + 1 + 32 // key
	if c.Index != 0 {
		n += 1 + protowire.SizeVarint(uint64(c.Index))
	}
	return n
}

// messageKeySize is the encoded size of a MessageKey message.
func messageKeySize(k *skippedKey) int {
	n := 0
	if k.counter != 0 {
		n += 1 + protowire.SizeVarint(uint64(k.counter))
	}
	if k.keys != nil {
		return n + 3*2 + 32 + 32 + 16
	}
	return n + 2 + 32
}

// appendChain appends a Chain message as field num.
func appendChain(dst []byte, num protowire.Number, pub, priv []byte, ck ChainKey, skipped []skippedKey) []byte {
	size := 0
	if len(pub) > 0 {
		size += 1 + protowire.SizeVarint(uint64(len(pub))) + len(pub)
	}
	if len(priv) > 0 {
		size += 1 + protowire.SizeVarint(uint64(len(priv))) + len(priv)
	}
	cks := chainKeySize(ck)
	size += 1 + protowire.SizeVarint(uint64(cks)) + cks
	for i := range skipped {
		m := messageKeySize(&skipped[i])
		size += 1 + protowire.SizeVarint(uint64(m)) + m
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(size))
	dst = appendBytesField(dst, 1, pub)
	dst = appendBytesField(dst, 2, priv)
	dst = protowire.AppendTag(dst, 3, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(cks))
	dst = appendUint32Field(dst, 1, ck.Index)
	dst = appendBytesField(dst, 2, ck.Key[:])
	for i := range skipped {
		k := &skipped[i]
		dst = protowire.AppendTag(dst, 4, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(messageKeySize(k)))
		dst = appendUint32Field(dst, 1, k.counter)
		if sk := k.keys; sk != nil {
			dst = appendBytesField(dst, 2, sk.cipherKey[:])
			dst = appendBytesField(dst, 3, sk.macKey[:])
			dst = appendBytesField(dst, 4, sk.iv[:])
		} else {
			dst = appendBytesField(dst, 5, k.seed[:])
		}
	}
	return dst
}
