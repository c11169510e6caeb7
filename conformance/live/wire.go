package live

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// pbField is one top-level protobuf field found in a message.
type pbField struct {
	Num, Wire       int
	Start, ValStart int // tag start, value start (after any length prefix)
	End             int
	Varint          uint64
}

var errProto = errors.New("live: malformed protobuf")

func readVarint(b []byte, off int) (uint64, int, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if off+i >= len(b) {
			return 0, 0, errProto
		}
		c := b[off+i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, off + i + 1, nil
		}
	}
	return 0, 0, errProto
}

// parseProto splits b into its top-level fields.
func parseProto(b []byte) ([]pbField, error) {
	var fs []pbField
	off := 0
	for off < len(b) {
		start := off
		tag, n, err := readVarint(b, off)
		if err != nil {
			return nil, err
		}
		off = n
		f := pbField{Num: int(tag >> 3), Wire: int(tag & 7), Start: start}
		switch f.Wire {
		case 0:
			f.ValStart = off
			f.Varint, off, err = readVarint(b, off)
		case 1:
			f.ValStart, off = off, off+8
		case 2:
			var l uint64
			l, off, err = readVarint(b, off)
			if err == nil && l > uint64(len(b)-off) {
				err = errProto
			}
			f.ValStart = off
			off += int(l)
		case 5:
			f.ValStart, off = off, off+4
		default:
			err = errProto
		}
		if err != nil || off > len(b) || f.Num == 0 {
			return nil, errProto
		}
		f.End = off
		fs = append(fs, f)
	}
	return fs, nil
}

// fieldBytes returns the value of the first length-delimited field num.
func fieldBytes(b []byte, num int) ([]byte, bool) {
	fs, err := parseProto(b)
	if err != nil {
		return nil, false
	}
	for _, f := range fs {
		if f.Num == num && f.Wire == 2 {
			return b[f.ValStart:f.End], true
		}
	}
	return nil, false
}

func fieldVarint(b []byte, num int) (uint64, bool) {
	fs, err := parseProto(b)
	if err != nil {
		return 0, false
	}
	for _, f := range fs {
		if f.Num == num && f.Wire == 0 {
			return f.Varint, true
		}
	}
	return 0, false
}

// A mutation flips bits of one byte of a message.
type mutation struct {
	Name string
	Off  int
	Mask byte
	// Lenient mutations touch bytes that a receiver may legitimately ignore
	// (unauthenticated fields, framing that re-encoding receivers rebuild):
	// they must be rejected or decrypt to the unchanged plaintext.
	Lenient bool
}

func (m mutation) apply(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[m.Off] ^= m.Mask
	return c
}

var signalFieldNames = map[int]string{1: "ratchet_key", 2: "counter", 3: "previous_counter", 4: "ciphertext", 5: "pq_ratchet", 6: "addresses"}
var preKeyFieldNames = map[int]string{1: "pre_key_id", 2: "base_key", 3: "identity_key", 4: "message", 5: "registration_id", 6: "signed_pre_key_id", 7: "kyber_pre_key_id", 8: "kyber_ciphertext"}

func fieldName(names map[int]string, num int) string {
	if n, ok := names[num]; ok {
		return n
	}
	return fmt.Sprintf("field%d", num)
}

// valueMutations flips the low bit of the first and last byte of a value.
func valueMutations(name string, start, end int, lenient bool) []mutation {
	ms := []mutation{{Name: name + "[first]", Off: start, Mask: 0x01, Lenient: lenient}}
	if end-start > 1 {
		ms = append(ms, mutation{Name: name + "[last]", Off: end - 1, Mask: 0x01, Lenient: lenient})
	}
	return ms
}

// signalMessageMutations covers every byte region of a SignalMessage
// (version ‖ protobuf ‖ MAC(8)) found at base within a larger buffer.
func signalMessageMutations(msg []byte, base int, prefix string) ([]mutation, error) {
	if len(msg) < 1+8+1 {
		return nil, fmt.Errorf("live: SignalMessage of %d bytes is too short", len(msg))
	}
	fs, err := parseProto(msg[1 : len(msg)-8])
	if err != nil {
		return nil, fmt.Errorf("live: SignalMessage body does not parse as protobuf")
	}
	ms := []mutation{
		{Name: prefix + "version(high nibble)", Off: base, Mask: 0xF0},
		// MAC-covered in libsignal, rebuilt as '3' by go.mau.fi.
		{Name: prefix + "version(low nibble)", Off: base, Mask: 0x01, Lenient: true},
	}
	for _, f := range fs {
		name := prefix + fieldName(signalFieldNames, f.Num)
		ms = append(ms, mutation{Name: name + ".header", Off: base + 1 + f.ValStart - 1, Mask: 0x01, Lenient: true})
		if f.End > f.ValStart {
			ms = append(ms, valueMutations(name, base+1+f.ValStart, base+1+f.End, false)...)
		}
	}
	ms = append(ms, valueMutations(prefix+"mac", base+len(msg)-8, base+len(msg), false)...)
	return ms, nil
}

// preKeyMessageMutations covers a PreKeySignalMessage (version ‖ protobuf),
// including the SignalMessage it carries.
func preKeyMessageMutations(msg []byte) ([]mutation, error) {
	if len(msg) < 2 {
		return nil, fmt.Errorf("live: PreKeySignalMessage of %d bytes is too short", len(msg))
	}
	fs, err := parseProto(msg[1:])
	if err != nil {
		return nil, fmt.Errorf("live: PreKeySignalMessage body does not parse as protobuf")
	}
	ms := []mutation{{Name: "version(high nibble)", Off: 0, Mask: 0xF0}}
	// Lenient mutations go last, those a receiver most likely accepts at the
	// very end, so that the others still meet a receiver without a session.
	var lenient, last []mutation
	for _, f := range fs {
		name := fieldName(preKeyFieldNames, f.Num)
		lenient = append(lenient, mutation{Name: name + ".header", Off: 1 + f.ValStart - 1, Mask: 0x01, Lenient: true})
		switch {
		case f.Num == 4 && f.Wire == 2:
			inner, err := signalMessageMutations(msg[1+f.ValStart:1+f.End], 1+f.ValStart, "message.")
			if err != nil {
				return nil, err
			}
			for _, m := range inner {
				if m.Lenient {
					lenient = append(lenient, m)
				} else {
					ms = append(ms, m)
				}
			}
		case f.Num == 5:
			// registration_id is not authenticated by the protocol.
			last = append(last, valueMutations(name, 1+f.ValStart, 1+f.End, true)...)
		case f.End > f.ValStart:
			ms = append(ms, valueMutations(name, 1+f.ValStart, 1+f.End, false)...)
		}
	}
	last = append(last, mutation{Name: "version(low nibble)", Off: 0, Mask: 0x01, Lenient: true})
	return append(append(ms, lenient...), last...), nil
}

// scannableSides parses a CombinedFingerprints message.
func scannableSides(b []byte) (version uint64, local, remote []byte, err error) {
	v, ok := fieldVarint(b, 1)
	l, ok2 := fieldBytes(b, 2)
	r, ok3 := fieldBytes(b, 3)
	if !ok || !ok2 || !ok3 {
		return 0, nil, nil, errors.New("live: scannable fingerprint is not a CombinedFingerprints message")
	}
	lc, ok := fieldBytes(l, 1)
	rc, ok2 := fieldBytes(r, 1)
	if !ok || !ok2 {
		return 0, nil, nil, errors.New("live: scannable fingerprint lacks content")
	}
	return v, lc, rc, nil
}

// rng is a deterministic stream (SHA-256 in counter mode) so that a run can
// be repeated with -seed. It is for choosing test cases, not for secrets.
type rng struct {
	seed [32]byte
	ctr  uint64
	buf  []byte
}

func newRNG(seed uint64) *rng {
	r := &rng{}
	binary.BigEndian.PutUint64(r.seed[:], seed)
	r.seed = sha256.Sum256(r.seed[:])
	return r
}

func (r *rng) Read(p []byte) (int, error) {
	for i := range p {
		if len(r.buf) == 0 {
			var blk [40]byte
			copy(blk[:], r.seed[:])
			binary.BigEndian.PutUint64(blk[32:], r.ctr)
			r.ctr++
			h := sha256.Sum256(blk[:])
			r.buf = h[:]
		}
		p[i] = r.buf[0]
		r.buf = r.buf[1:]
	}
	return len(p), nil
}

func (r *rng) bytes(n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

// Intn returns a number in [0, n).
func (r *rng) Intn(n int) int {
	var b [8]byte
	r.Read(b[:])
	return int(binary.BigEndian.Uint64(b[:]) % uint64(n))
}

func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// newUUID returns a random lowercase version-4 UUID string.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
