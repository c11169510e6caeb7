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

// RestoreEncoder rebuilds an encoder from State's output.
func RestoreEncoder(idx uint32, pts, polys [][]byte) (*Encoder, error) {
	e := &Encoder{next: idx}
	switch {
	case len(pts) > 0 && len(polys) == 0 && len(pts) == Lanes:
		for l, b := range pts {
			v, ok := dec16(b)
			if !ok || len(v) > 1<<16 {
				return nil, ErrCorrupt
			}
			e.points[l] = v
		}
	case len(pts) == 0 && len(polys) == Lanes:
		e.polys = new([Lanes]poly)
		for l, b := range polys {
			v, ok := dec16(b)
			if !ok || len(v) == 0 || len(v) > 1<<16 {
				return nil, ErrCorrupt
			}
			e.polys[l] = v
		}
	default:
		return nil, ErrCorrupt
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
		if len(b)%4 != 0 || len(b)/4 > 2*d.necessary(l)+1 {
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
