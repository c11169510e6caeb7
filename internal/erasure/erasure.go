package erasure

import (
	"errors"
	"slices"
)

// ChunkSize is the size of one chunk: 16 field elements of GF(2^16).
const ChunkSize = 32

// Lanes is the number of parallel polynomials, one per 2-byte lane of a chunk.
const Lanes = ChunkSize / 2

// MaxMessageSize is the longest message an Encoder accepts: every lane's
// points must have distinct 16-bit x values.
const MaxMessageSize = 1 << 16 * Lanes

var (
	// ErrOddLength: messages are sequences of 16-bit field elements.
	ErrOddLength = errors.New("erasure: message length must be even")
	// ErrTooLong: the message exceeds MaxMessageSize.
	ErrTooLong = errors.New("erasure: message too long")
	// ErrCorrupt: a serialized encoder or decoder does not parse.
	ErrCorrupt = errors.New("erasure: corrupt serialized state")
)

// poly is a polynomial over GF(2^16), lowest coefficient first.
type poly []uint16

// eval computes p(x) by Horner's rule.
func (p poly) eval(x uint16) uint16 {
	var y uint16
	for i := len(p) - 1; i >= 0; i-- {
		y = gfMul(y, x) ^ p[i]
	}
	return y
}

// interpolate returns the unique polynomial of degree < len(xs) through the
// points (xs[i], ys[i]) (Lagrange interpolation). The xs must be distinct.
func interpolate(xs, ys []uint16) poly {
	m := len(xs)
	out := make(poly, m)
	if m == 0 {
		return out
	}
	// master(x) = Π (x − xs[j]), degree m; subtraction is XOR.
	master := make(poly, m+1)
	master[0] = 1
	for j, xj := range xs {
		for i := j + 1; i > 0; i-- {
			master[i] = master[i-1] ^ gfMul(master[i], xj)
		}
		master[0] = gfMul(master[0], xj)
	}
	q := make(poly, m)
	for i, xi := range xs {
		// q = master / (x − xi) by synthetic division.
		var carry uint16
		for d := m; d >= 1; d-- {
			carry = master[d] ^ gfMul(carry, xi)
			q[d-1] = carry
		}
		scale := gfDiv(ys[i], q.eval(xi))
		for d := range q {
			out[d] ^= gfMul(q[d], scale)
		}
	}
	return out
}

// laneOf places message element i (a big-endian 16-bit value) on lane i mod
// 16 at x = ⌊i/16⌋; chunk c carries each lane's value at x = c.

// Encoder produces the chunks of one message: chunk c holds, for each lane
// l, P_l(c) as 2 big-endian bytes, where P_l is the polynomial through the
// lane's message elements. Chunks 0 … ⌈len/32⌉−1 are the message itself
// (systematic); every further chunk is redundancy, and any ⌈len/32⌉ distinct
// chunks recover the message (for lengths that are multiples of 32).
type Encoder struct {
	next   uint32
	points [Lanes][]uint16 // the lane's values at x = 0, 1, …
	polys  *[Lanes]poly    // interpolated once a chunk beyond the data is asked for
}

// NewEncoder returns an encoder for msg.
func NewEncoder(msg []byte) (*Encoder, error) {
	if len(msg)%2 != 0 {
		return nil, ErrOddLength
	}
	if len(msg) > MaxMessageSize {
		return nil, ErrTooLong
	}
	e := &Encoder{}
	for i := 0; i < len(msg); i += 2 {
		l := (i / 2) % Lanes
		e.points[l] = append(e.points[l], uint16(msg[i])<<8|uint16(msg[i+1]))
	}
	return e, nil
}

// Len returns the length in bytes of the message the encoder encodes.
func (e *Encoder) Len() int {
	n := 0
	for l := range Lanes {
		if e.polys != nil {
			n += len(e.polys[l])
		} else {
			n += len(e.points[l])
		}
	}
	return 2 * n
}

// Chunk returns chunk number idx.
func (e *Encoder) Chunk(idx uint16) [ChunkSize]byte {
	var out [ChunkSize]byte
	for l := range Lanes {
		var y uint16
		if e.polys == nil && int(idx) < len(e.points[l]) {
			y = e.points[l][idx]
		} else {
			y = e.lanePoly(l).eval(idx)
		}
		out[2*l], out[2*l+1] = byte(y>>8), byte(y)
	}
	return out
}

func (e *Encoder) lanePoly(l int) poly {
	if e.polys == nil {
		e.polys = new([Lanes]poly)
		for i := range Lanes {
			xs := make([]uint16, len(e.points[i]))
			for x := range xs {
				xs[x] = uint16(x)
			}
			e.polys[i] = interpolate(xs, e.points[i])
		}
		e.points = [Lanes][]uint16{}
	}
	return e.polys[l]
}

// Next returns the next chunk in sequence and its index (0, 1, 2, …;
// wrapping after 65,535 as SPQR's encoder does).
func (e *Encoder) Next() (uint16, [ChunkSize]byte) {
	idx := uint16(e.next)
	e.next++
	return idx, e.Chunk(idx)
}

// Decoder collects chunks of a message of known length until it can
// reconstruct it.
type Decoder struct {
	need   int            // field elements in the message
	points [Lanes][]point // per lane, sorted by x, distinct x
	done   bool           // SPQR's is_complete flag (kept for storage)
}

type point struct{ x, y uint16 }

// NewDecoder returns a decoder for a message of length bytes.
func NewDecoder(length int) (*Decoder, error) {
	if length%2 != 0 {
		return nil, ErrOddLength
	}
	if length > MaxMessageSize {
		return nil, ErrTooLong
	}
	return &Decoder{need: length / 2}, nil
}

// Len returns the message length in bytes.
func (d *Decoder) Len() int { return 2 * d.need }

func (d *Decoder) necessary(lane int) int { return lanePoints(2*d.need, lane) }

// lanePoints is the number of a size-byte message's field elements on lane
// l: element i lies on lane i mod 16.
func lanePoints(size, l int) int {
	n := size / 2
	k := n / Lanes
	if l < n%Lanes {
		k++
	}
	return k
}

// Add records chunk idx. A point is kept if its x is one of the systematic
// positions or the lane still lacks points; a repeated x keeps the first
// value. At most 2·⌈need/16⌉ points are held per lane.
func (d *Decoder) Add(idx uint16, data [ChunkSize]byte) {
	for l := range Lanes {
		y := uint16(data[2*l])<<8 | uint16(data[2*l+1])
		nec := d.necessary(l)
		if int(idx) < nec || len(d.points[l]) < nec {
			d.insert(l, point{idx, y})
		}
	}
}

func (d *Decoder) insert(l int, p point) {
	pts := d.points[l]
	i, found := slices.BinarySearchFunc(pts, p.x, func(a point, x uint16) int { return int(a.x) - int(x) })
	if found {
		return
	}
	d.points[l] = slices.Insert(pts, i, p)
}

// Decoded returns the message once every lane has enough points.
func (d *Decoder) Decoded() ([]byte, bool) {
	if d.done {
		return nil, false
	}
	for l := range Lanes {
		if len(d.points[l]) < d.necessary(l) {
			return nil, false
		}
	}
	var polys [Lanes]poly
	out := make([]byte, 0, 2*d.need)
	for i := range d.need {
		l, x := i%Lanes, uint16(i/Lanes)
		pts := d.points[l][:d.necessary(l)]
		var y uint16
		if j, ok := slices.BinarySearchFunc(pts, x, func(a point, x uint16) int { return int(a.x) - int(x) }); ok {
			y = pts[j].y
		} else {
			if polys[l] == nil {
				xs, ys := make([]uint16, len(pts)), make([]uint16, len(pts))
				for j, p := range pts {
					xs[j], ys[j] = p.x, p.y
				}
				polys[l] = interpolate(xs, ys)
			}
			y = polys[l].eval(x)
		}
		out = append(out, byte(y>>8), byte(y))
	}
	return out, true
}

// Clone returns an independent copy of e. An encoder's points and
// polynomials are never modified in place once built (lanePoly replaces
// them), so the copy shares them: cloning costs one small allocation.
func (e *Encoder) Clone() *Encoder {
	c := *e
	return &c
}

// Clone returns an independent copy of d: its points are copied into one
// backing array, each lane a full slice (length = capacity), so that an Add
// on either decoder never writes into storage the other uses.
func (d *Decoder) Clone() *Decoder {
	c := &Decoder{need: d.need, done: d.done}
	n := 0
	for _, lane := range d.points {
		n += len(lane)
	}
	all := make([]point, n)
	for l, lane := range d.points {
		k := copy(all, lane)
		c.points[l], all = all[:k:k], all[k:]
	}
	return c
}
