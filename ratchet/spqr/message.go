package spqr

import (
	"encoding/binary"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/erasure"
)

// MessageType is the Braid payload a message carries (SPQR
// src/v1/chunked/states/serialize.rs, MessageType).
type MessageType uint8

const (
	TypeNone     MessageType = 0 // no payload
	TypeHdr      MessageType = 1 // a chunk of header ‖ MAC
	TypeEk       MessageType = 2 // a chunk of the encapsulation-key vector
	TypeEkCt1Ack MessageType = 3 // an ek chunk, and "all of ct1 received"
	TypeCt1Ack   MessageType = 4 // "all of ct1 received", no chunk
	TypeCt1      MessageType = 5 // a chunk of ct1
	TypeCt2      MessageType = 6 // a chunk of ct2 ‖ MAC
)

func (t MessageType) hasChunk() bool {
	return t == TypeHdr || t == TypeEk || t == TypeEkCt1Ack || t == TypeCt1 || t == TypeCt2
}

// Message is a parsed pq_ratchet field: version 1 ‖ varint epoch (≥ 1) ‖
// varint index ‖ type ‖ [varint chunk index (≤ 65535) ‖ 32 bytes].
// Trailing bytes are allowed and ignored (room for later versions).
type Message struct {
	Epoch      uint64
	Index      uint32 // the symmetric chain index; 0 = no key
	Type       MessageType
	ChunkIndex uint16
	Chunk      [erasure.ChunkSize]byte
}

// Append encodes m after dst.
func (m *Message) Append(dst []byte) []byte {
	dst = append(dst, byte(V1))
	dst = binary.AppendUvarint(dst, m.Epoch)
	dst = binary.AppendUvarint(dst, uint64(m.Index))
	dst = append(dst, byte(m.Type))
	if m.Type.hasChunk() {
		dst = binary.AppendUvarint(dst, uint64(m.ChunkIndex))
		dst = append(dst, m.Chunk[:]...)
	}
	return dst
}

// varint reads a base-128 varint of at most 10 bytes. Unlike
// binary.Uvarint it accepts what SPQR accepts: non-minimal encodings, and
// bits beyond 64 in the tenth byte are dropped.
func varint(b []byte) (uint64, int, bool) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, true
		}
	}
	return 0, 0, false
}

// ParseMessage parses a non-empty pq_ratchet field of version 1.
func ParseMessage(b []byte) (*Message, error) {
	if len(b) == 0 || b[0] != byte(V1) {
		return nil, fmt.Errorf("%w: not a version 1 message", ErrMessage)
	}
	at := 1
	epoch, n, ok := varint(b[at:])
	if !ok || epoch == 0 {
		return nil, fmt.Errorf("%w: epoch", ErrMessage)
	}
	at += n
	index, n, ok := varint(b[at:])
	if !ok || index > 0xffffffff {
		return nil, fmt.Errorf("%w: index", ErrMessage)
	}
	at += n
	if at >= len(b) || b[at] > byte(TypeCt2) {
		return nil, fmt.Errorf("%w: type", ErrMessage)
	}
	m := &Message{Epoch: epoch, Index: uint32(index), Type: MessageType(b[at])}
	at++
	if m.Type.hasChunk() {
		ci, n, ok := varint(b[at:])
		if !ok || ci > 0xffff || len(b)-at-n < erasure.ChunkSize {
			return nil, fmt.Errorf("%w: chunk", ErrMessage)
		}
		at += n
		m.ChunkIndex = uint16(ci)
		copy(m.Chunk[:], b[at:])
	}
	return m, nil
}
