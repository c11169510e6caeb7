package erasure

import "slices"

// The serialized forms below are the fields of SPQR's PolynomialEncoder and
// PolynomialDecoder protobuf messages (src/proto/pq_ratchet.proto), so that
// stored SPQR states are portable.

// State returns the encoder's next index and either its per-lane points
// (big-endian y values at x = 0, 1, …) or, once interpolated, its per-lane
// polynomial coefficients (big-endian, lowest first).
func (e *Encoder) State() (idx uint32, pts, polys [][]byte) {
	enc := func(v []uint16) []byte {
		b := make([]byte, 0, 2*len(v))
		for _, x := range v {
			b = append(b, byte(x>>8), byte(x))
		}
		return b
	}
	if e.polys != nil {
		for _, p := range e.polys {
			polys = append(polys, enc(p))
		}
		return e.next, nil, polys
	}
	for _, p := range e.points {
		pts = append(pts, enc(p))
	}
	return e.next, pts, nil
}

func dec16(b []byte) ([]uint16, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
	v := make([]uint16, len(b)/2)
	for i := range v {
		v[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return v, true
}

// RestoreEncoder rebuilds the encoder of a size-byte message from State's
// output. Every lane must hold exactly the points of a size-byte message, or
// exactly as many polynomial coefficients (interpolating n points gives n),
// as both Interlock and SPQR write them: a stored encoder that claims more
// would make the first redundancy chunk cost O(n²) for n up to 65,536 per
// lane (issue #20 item 9), so the caller passes the size its protocol stage
// allows and anything else is ErrCorrupt. idx is any uint32 (SPQR's encoder
// index wraps).
func RestoreEncoder(size int, idx uint32, pts, polys [][]byte) (*Encoder, error) {
	if size < 0 || size%2 != 0 || size > MaxMessageSize {
		return nil, ErrCorrupt
	}
	e := &Encoder{next: idx}
	lanes := pts
	switch {
	case len(pts) == Lanes && len(polys) == 0:
	case len(pts) == 0 && len(polys) == Lanes:
		lanes, e.polys = polys, new([Lanes]poly)
	default:
		return nil, ErrCorrupt
	}
	for l, b := range lanes {
		if len(b) != 2*lanePoints(size, l) {
			return nil, ErrCorrupt
		}
		v, _ := dec16(b)
		if e.polys != nil {
			e.polys[l] = v
		} else {
			e.points[l] = v
		}
	}
	return e, nil
}

// State returns the decoder's message length in field elements, its
// per-lane points (x ‖ y, big-endian, sorted by x) and its completion flag.
func (d *Decoder) State() (ptsNeeded uint32, pts [][]byte, complete bool) {
	for _, lane := range d.points {
		b := make([]byte, 0, 4*len(lane))
		for _, p := range lane {
			b = append(b, byte(p.x>>8), byte(p.x), byte(p.y>>8), byte(p.y))
		}
		pts = append(pts, b)
	}
	return uint32(d.need), pts, d.done
}

// RestoreDecoder rebuilds a decoder from State's output.
func RestoreDecoder(ptsNeeded uint32, pts [][]byte, complete bool) (*Decoder, error) {
	if len(pts) != Lanes || ptsNeeded > MaxMessageSize/2 {
		return nil, ErrCorrupt
	}
	d := &Decoder{need: int(ptsNeeded), done: complete}
	for l, b := range pts {
		// Add keeps at most necessary points with x < necessary and at most
		// necessary others (taken only while the lane is short): 2·necessary.
		if len(b)%4 != 0 || len(b)/4 > 2*d.necessary(l) {
			return nil, ErrCorrupt
		}
		lane := make([]point, 0, len(b)/4)
		for i := 0; i < len(b); i += 4 {
			lane = append(lane, point{uint16(b[i])<<8 | uint16(b[i+1]), uint16(b[i+2])<<8 | uint16(b[i+3])})
		}
		slices.SortStableFunc(lane, func(a, b point) int { return int(a.x) - int(b.x) })
		d.points[l] = slices.CompactFunc(lane, func(a, b point) bool { return a.x == b.x })
	}
	return d, nil
}
