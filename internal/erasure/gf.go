package erasure

// GF(2^16) with the reduction polynomial x^16 + x^12 + x^3 + x + 1 (0x1100B),
// SPQR's field (src/encoding/gf.rs, POLY = 0x1100b). Addition is XOR.
const gfPoly = 0x1100b

// gfMul multiplies by carry-less multiplication and reduction.
func gfMul(a, b uint16) uint16 {
	var p uint32
	x := uint32(a)
	for i := range 16 {
		p ^= x * uint32(b>>i&1)
		x <<= 1
	}
	for i := 31; i >= 16; i-- {
		p ^= (p >> i & 1) * (gfPoly << (i - 16))
	}
	return uint16(p)
}

// gfInv returns a^(2^16−2), the inverse of a ≠ 0 (and 0 for 0).
func gfInv(a uint16) uint16 {
	r := uint16(1)
	base := a
	for e := uint32(1<<16 - 2); e > 0; e >>= 1 {
		if e&1 == 1 {
			r = gfMul(r, base)
		}
		base = gfMul(base, base)
	}
	return r
}

func gfDiv(a, b uint16) uint16 { return gfMul(a, gfInv(b)) }
