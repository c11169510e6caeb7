package mlkem768

// Arithmetic in R_q = Z_q[X]/(X^256 + 1), q = 3329, and its NTT domain
// (FIPS 203, Section 4.3). Coefficients are kept reduced in [0, q).

const (
	n = 256
	q = 3329
	k = 3 // module rank of ML-KEM-768 (FIPS 203, Table 2)
)

type fieldElement = uint16

// ringElement is a polynomial f = Σ f[i]·X^i, or its NTT representation.
type ringElement [n]fieldElement

func fieldAdd(a, b fieldElement) fieldElement {
	x := uint32(a) + uint32(b)
	return fieldElement(x % q)
}

func fieldSub(a, b fieldElement) fieldElement {
	x := uint32(a) + q - uint32(b)
	return fieldElement(x % q)
}

func fieldMul(a, b fieldElement) fieldElement {
	return fieldElement(uint32(a) * uint32(b) % q)
}

// zetas[i] = 17^BitRev7(i) mod q and gammas[i] = 17^(2·BitRev7(i)+1) mod q
// (FIPS 203, Appendix A), computed once from their definitions.
var zetas, gammas = func() (z, g [128]fieldElement) {
	pow := func(e int) fieldElement {
		r := fieldElement(1)
		for range e {
			r = fieldMul(r, 17)
		}
		return r
	}
	for i := range 128 {
		br := 0
		for b := range 7 {
			br |= (i >> b & 1) << (6 - b)
		}
		z[i] = pow(br)
		g[i] = pow(2*br + 1)
	}
	return
}()

// ntt is FIPS 203, Algorithm 9.
func ntt(f ringElement) ringElement {
	i := 1
	for length := 128; length >= 2; length /= 2 {
		for start := 0; start < n; start += 2 * length {
			zeta := zetas[i]
			i++
			for j := start; j < start+length; j++ {
				t := fieldMul(zeta, f[j+length])
				f[j+length] = fieldSub(f[j], t)
				f[j] = fieldAdd(f[j], t)
			}
		}
	}
	return f
}

// inverseNTT is FIPS 203, Algorithm 10.
func inverseNTT(f ringElement) ringElement {
	i := 127
	for length := 2; length <= 128; length *= 2 {
		for start := 0; start < n; start += 2 * length {
			zeta := zetas[i]
			i--
			for j := start; j < start+length; j++ {
				t := f[j]
				f[j] = fieldAdd(t, f[j+length])
				f[j+length] = fieldMul(zeta, fieldSub(f[j+length], t))
			}
		}
	}
	for j := range f {
		f[j] = fieldMul(f[j], 3303) // 128^-1 mod q
	}
	return f
}

// multiplyNTTs is FIPS 203, Algorithms 11 and 12.
func multiplyNTTs(f, g ringElement) ringElement {
	var h ringElement
	for i := range 128 {
		a0, a1, b0, b1 := f[2*i], f[2*i+1], g[2*i], g[2*i+1]
		h[2*i] = fieldAdd(fieldMul(a0, b0), fieldMul(fieldMul(a1, b1), gammas[i]))
		h[2*i+1] = fieldAdd(fieldMul(a0, b1), fieldMul(a1, b0))
	}
	return h
}

func polyAdd(f, g ringElement) ringElement {
	for i := range f {
		f[i] = fieldAdd(f[i], g[i])
	}
	return f
}

func polySub(f, g ringElement) ringElement {
	for i := range f {
		f[i] = fieldSub(f[i], g[i])
	}
	return f
}

// compress is Compress_d (FIPS 203, (4.7)): round(2^d/q · x) mod 2^d.
func compress(x fieldElement, d uint) uint16 {
	return uint16(((uint32(x)<<d)+q/2)/q) & (1<<d - 1)
}

// decompress is Decompress_d (FIPS 203, (4.8)): round(q/2^d · y).
func decompress(y uint16, d uint) fieldElement {
	return fieldElement((uint32(y)*q + 1<<(d-1)) >> d)
}

// byteEncode is ByteEncode_d (FIPS 203, Algorithm 5) of 256 d-bit values.
func byteEncode(dst []byte, f *[n]uint16, d uint) []byte {
	var acc uint32
	var bits uint
	for _, v := range f {
		acc |= uint32(v) << bits
		bits += d
		for bits >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			bits -= 8
		}
	}
	return dst
}

// byteDecode is ByteDecode_d (FIPS 203, Algorithm 6) without the final
// reduction: it returns the raw d-bit values. b must be 32·d bytes.
func byteDecode(b []byte, d uint) [n]uint16 {
	var f [n]uint16
	var acc uint32
	var bits uint
	i := 0
	for _, x := range b {
		acc |= uint32(x) << bits
		bits += 8
		for bits >= d && i < n {
			f[i] = uint16(acc & (1<<d - 1))
			acc >>= d
			bits -= d
			i++
		}
	}
	return f
}

// decode12 is ByteDecode_12 with the modulus check of FIPS 203, Section 7.2
// (every value < q); ok is false for a non-canonical encoding.
func decode12(b []byte) (ringElement, bool) {
	raw := byteDecode(b, 12)
	ok := true
	var f ringElement
	for i, v := range raw {
		if v >= q {
			ok = false
			v %= q
		}
		f[i] = v
	}
	return f, ok
}

func encode12(dst []byte, f *ringElement) []byte {
	return byteEncode(dst, (*[n]uint16)(f), 12)
}
