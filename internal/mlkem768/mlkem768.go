package mlkem768

import (
	"crypto/sha3"
	"crypto/subtle"
	"errors"
)

// Sizes in bytes (FIPS 203, Table 3, ML-KEM-768) and of the incremental split.
const (
	SeedSize                = 64               // d ‖ z
	EncapsulationKeySize    = 1184             // t̂ encoding ‖ ρ
	DecapsulationKeySize    = 2400             // dk_PKE ‖ ek ‖ H(ek) ‖ z
	CiphertextSize          = 1088             // c1 ‖ c2
	SharedKeySize           = 32               //
	HeaderSize              = 64               // ρ ‖ H(ek)
	VectorSize              = 384 * k          // ByteEncode12(t̂), 1152
	Ciphertext1Size         = 320 * k          // c1 = ByteEncode10(Compress10(u)), 960
	Ciphertext2Size         = 128              // c2 = ByteEncode4(Compress4(v))
	EncapsulationStateSize  = 2*n*k + 2*n + 32 // r̂ ‖ e2 ‖ m, 2080
	encapsulationRandomness = 32
	du, dv                  = 10, 4
)

// Errors. Every decoder returns one of these for bad lengths or encodings.
var (
	ErrLength         = errors.New("mlkem768: invalid length")
	ErrEncoding       = errors.New("mlkem768: non-canonical encoding")
	ErrHeaderMismatch = errors.New("mlkem768: encapsulation key does not match header")
)

// sampleNTT is FIPS 203, Algorithm 7: rejection sampling from SHAKE128(ρ ‖ j ‖ i).
func sampleNTT(rho []byte, j, i byte) ringElement {
	x := sha3.NewSHAKE128()
	x.Write(rho)
	x.Write([]byte{j, i})
	var f ringElement
	var buf [168]byte
	c := 0
	for c < n {
		x.Read(buf[:])
		for b := 0; b+3 <= len(buf) && c < n; b += 3 {
			d1 := uint16(buf[b]) | uint16(buf[b+1]&0x0f)<<8
			d2 := uint16(buf[b+1])>>4 | uint16(buf[b+2])<<4
			if d1 < q {
				f[c] = d1
				c++
			}
			if d2 < q && c < n {
				f[c] = d2
				c++
			}
		}
	}
	return f
}

// samplePolyCBD2 is FIPS 203, Algorithm 8 with η = 2, on PRF_2(s, b) =
// SHAKE256(s ‖ b) (FIPS 203, (4.3)).
func samplePolyCBD2(s []byte, b byte) ringElement {
	h := sha3.NewSHAKE256()
	h.Write(s)
	h.Write([]byte{b})
	var buf [128]byte
	h.Read(buf[:])
	var f ringElement
	for i := range n {
		bits := buf[i/2] >> (4 * (i % 2))
		x := bits&1 + bits>>1&1
		y := bits>>2&1 + bits>>3&1
		f[i] = fieldSub(fieldElement(x), fieldElement(y))
	}
	return f
}

// matrixEntry returns Â[i][j] = SampleNTT(ρ ‖ j ‖ i) (FIPS 203, Algorithm 13 line 6).
func matrixEntry(rho []byte, i, j int) ringElement {
	return sampleNTT(rho, byte(j), byte(i))
}

// KeyPair is an ML-KEM-768 key pair in the forms the Braid sends and stores.
type KeyPair struct {
	EncapsulationKey [EncapsulationKeySize]byte
	DecapsulationKey [DecapsulationKeySize]byte
}

// Header returns ρ ‖ H(ek), what the Braid sends first.
func (kp *KeyPair) Header() [HeaderSize]byte {
	var h [HeaderSize]byte
	copy(h[:32], kp.EncapsulationKey[VectorSize:])
	copy(h[32:], kp.DecapsulationKey[2*VectorSize+32:2*VectorSize+64])
	return h
}

// Vector returns ByteEncode12(t̂), the encapsulation key without ρ.
func (kp *KeyPair) Vector() [VectorSize]byte {
	var v [VectorSize]byte
	copy(v[:], kp.EncapsulationKey[:VectorSize])
	return v
}

// GenerateKey derives a key pair from seed = d ‖ z (FIPS 203, Algorithm 16
// ML-KEM.KeyGen_internal, with Algorithm 13 K-PKE.KeyGen).
func GenerateKey(seed []byte) (*KeyPair, error) {
	if len(seed) != SeedSize {
		return nil, ErrLength
	}
	d, z := seed[:32], seed[32:]
	g := sha3.Sum512(append(append(make([]byte, 0, 33), d...), k))
	rho, sigma := g[:32], g[32:]
	var s, e [k]ringElement
	for i := range k {
		s[i] = ntt(samplePolyCBD2(sigma, byte(i)))
	}
	for i := range k {
		e[i] = ntt(samplePolyCBD2(sigma, byte(k+i)))
	}
	kp := new(KeyPair)
	ek := kp.EncapsulationKey[:0]
	for i := range k {
		t := e[i]
		for j := range k {
			t = polyAdd(t, multiplyNTTs(matrixEntry(rho, i, j), s[j]))
		}
		ek = encode12(ek, &t)
	}
	ek = append(ek, rho...)
	dk := kp.DecapsulationKey[:0]
	for i := range k {
		dk = encode12(dk, &s[i])
	}
	dk = append(dk, ek...)
	h := sha3.Sum256(ek)
	dk = append(dk, h[:]...)
	copy(kp.DecapsulationKey[len(dk):], z) // the last 32 bytes: z
	clear(g[:])
	return kp, nil
}

// EncapsulationState is what the encapsulator keeps between Encapsulate1 and
// Encapsulate2: r̂ = NTT(y), e2 and the message m. Its serialization (Bytes,
// ParseEncapsulationState) is libcrux's EncapsState layout as SPQR stores it:
// r̂ as 3·256 little-endian int16, e2 as 256 little-endian int16, then m.
type EncapsulationState struct {
	rHat [k]ringElement
	e2   ringElement
	m    [32]byte
}

// Encapsulate1 is the first half of ML-KEM.Encaps_internal (FIPS 203,
// Algorithm 17, with K-PKE.Encrypt, Algorithm 14, lines 1–4 and 9–19 for u
// and c1) from the 64-byte header ρ ‖ H(ek) alone. m is the 32 bytes of
// encapsulation randomness. It returns c1, the state and the shared key K,
// which equals ML-KEM.Encaps's for the full key once Encapsulate2 runs.
func Encapsulate1(header, m []byte) (ct1 []byte, st *EncapsulationState, key []byte, err error) {
	if len(header) != HeaderSize || len(m) != encapsulationRandomness {
		return nil, nil, nil, ErrLength
	}
	rho, h := header[:32], header[32:]
	g := sha3.Sum512(append(append(make([]byte, 0, 64), m...), h...))
	key = append([]byte(nil), g[:32]...)
	r := g[32:]
	st = new(EncapsulationState)
	copy(st.m[:], m)
	var y [k]ringElement
	for i := range k {
		y[i] = samplePolyCBD2(r, byte(i))
		st.rHat[i] = ntt(y[i])
	}
	ct1 = make([]byte, 0, Ciphertext1Size)
	for i := range k {
		e1 := samplePolyCBD2(r, byte(k+i))
		var acc ringElement
		for j := range k {
			acc = polyAdd(acc, multiplyNTTs(matrixEntry(rho, j, i), st.rHat[j]))
		}
		u := polyAdd(inverseNTT(acc), e1)
		var c [n]uint16
		for x := range u {
			c[x] = compress(u[x], du)
		}
		ct1 = byteEncode(ct1, &c, du)
	}
	st.e2 = samplePolyCBD2(r, byte(2*k))
	clear(g[:])
	return ct1, st, key, nil
}

// Encapsulate2 finishes the encapsulation with the encapsulation-key vector
// ByteEncode12(t̂) (FIPS 203, Algorithm 14, lines 20–23): c2. vector must be
// canonical (every coefficient < q, FIPS 203 Section 7.2).
func (st *EncapsulationState) Encapsulate2(vector []byte) ([]byte, error) {
	if len(vector) != VectorSize {
		return nil, ErrLength
	}
	var acc ringElement
	for i := range k {
		t, ok := decode12(vector[384*i : 384*(i+1)])
		if !ok {
			return nil, ErrEncoding
		}
		acc = polyAdd(acc, multiplyNTTs(t, st.rHat[i]))
	}
	v := polyAdd(inverseNTT(acc), st.e2)
	mu := byteDecode(st.m[:], 1)
	var c [n]uint16
	for i := range v {
		c[i] = compress(fieldAdd(v[i], decompress(mu[i], 1)), dv)
	}
	return byteEncode(make([]byte, 0, Ciphertext2Size), &c, dv), nil
}

// Bytes serializes the state (see EncapsulationState).
func (st *EncapsulationState) Bytes() []byte {
	out := make([]byte, 0, EncapsulationStateSize)
	put := func(v int16) { out = append(out, byte(v), byte(uint16(v)>>8)) }
	for i := range k {
		for _, c := range st.rHat[i] {
			put(int16(c))
		}
	}
	for _, c := range st.e2 {
		s := int16(c)
		if c > q/2 {
			s = int16(c) - q // e2 is small and signed, as libcrux keeps it
		}
		put(s)
	}
	return append(out, st.m[:]...)
}

// ParseEncapsulationState reads a serialized state. Coefficients may be any
// int16 representative (libcrux keeps unreduced ones); they are reduced mod q.
// A state whose e2 was written byte-swapped (libcrux issue 1275, which SPQR
// repairs the same way) is detected from e2's range and repaired.
func ParseEncapsulationState(b []byte) (*EncapsulationState, error) {
	if len(b) != EncapsulationStateSize {
		return nil, ErrLength
	}
	le := func(i int) int16 { return int16(uint16(b[i]) | uint16(b[i+1])<<8) }
	be := func(i int) int16 { return int16(uint16(b[i])<<8 | uint16(b[i+1])) }
	get := le
	small := func(f func(int) int16) bool {
		for i := 2 * n * k; i < 2*n*k+2*n; i += 2 {
			if v := f(i); v < -2 || v > 2 {
				return false
			}
		}
		return true
	}
	if !small(le) {
		if !small(be) {
			return nil, ErrEncoding
		}
		get = be
	}
	red := func(v int16) fieldElement {
		x := int32(v) % q
		if x < 0 {
			x += q
		}
		return fieldElement(x)
	}
	st := new(EncapsulationState)
	for i := range k {
		for j := range n {
			st.rHat[i][j] = red(get(2 * (n*i + j)))
		}
	}
	for j := range n {
		st.e2[j] = red(get(2*n*k + 2*j))
	}
	copy(st.m[:], b[2*n*k+2*n:])
	return st, nil
}

// CheckHeader reports whether vector ‖ ρ is a canonical encapsulation key
// whose hash is the header's H(ek) (what the Braid checks before Encapsulate2).
func CheckHeader(header, vector []byte) error {
	if len(header) != HeaderSize || len(vector) != VectorSize {
		return ErrLength
	}
	for i := range k {
		if _, ok := decode12(vector[384*i : 384*(i+1)]); !ok {
			return ErrEncoding
		}
	}
	h := sha3.New256()
	h.Write(vector)
	h.Write(header[:32])
	if subtle.ConstantTimeCompare(h.Sum(nil), header[32:]) != 1 {
		return ErrHeaderMismatch
	}
	return nil
}

// Decapsulate is ML-KEM.Decaps_internal (FIPS 203, Algorithm 18, with
// K-PKE.Decrypt, Algorithm 15) on the 2400-byte decapsulation key and the
// ciphertext c1 ‖ c2, with implicit rejection. It checks the key as FIPS 203
// Section 7.3 asks (the hash check H(ek)).
func Decapsulate(dk, ct1, ct2 []byte) ([]byte, error) {
	if len(dk) != DecapsulationKeySize || len(ct1) != Ciphertext1Size || len(ct2) != Ciphertext2Size {
		return nil, ErrLength
	}
	ek := dk[VectorSize : 2*VectorSize+32]
	h := dk[2*VectorSize+32 : 2*VectorSize+64]
	z := dk[2*VectorSize+64:]
	if hh := sha3.Sum256(ek); subtle.ConstantTimeCompare(hh[:], h) != 1 {
		return nil, ErrEncoding
	}
	// K-PKE.Decrypt.
	var acc ringElement
	for i := range k {
		s, _ := decode12(dk[384*i : 384*(i+1)])
		raw := byteDecode(ct1[320*i:320*(i+1)], du)
		var u ringElement
		for j := range u {
			u[j] = decompress(raw[j], du)
		}
		acc = polyAdd(acc, multiplyNTTs(s, ntt(u)))
	}
	rawV := byteDecode(ct2, dv)
	var v ringElement
	for j := range v {
		v[j] = decompress(rawV[j], dv)
	}
	w := polySub(v, inverseNTT(acc))
	var mBits [n]uint16
	for j := range w {
		mBits[j] = compress(w[j], 1)
	}
	m := byteEncode(make([]byte, 0, 32), &mBits, 1)
	// Re-encrypt and compare.
	c1, st, key, err := Encapsulate1(append(append(make([]byte, 0, 64), ek[VectorSize:]...), h...), m)
	if err != nil {
		return nil, err
	}
	c2, err := st.Encapsulate2(ek[:VectorSize])
	if err != nil {
		return nil, ErrEncoding
	}
	j := sha3.NewSHAKE256()
	j.Write(z)
	j.Write(ct1)
	j.Write(ct2)
	reject := make([]byte, SharedKeySize)
	j.Read(reject)
	eq := subtle.ConstantTimeCompare(c1, ct1) & subtle.ConstantTimeCompare(c2, ct2)
	subtle.ConstantTimeCopy(1-eq, key, reject)
	clear(m)
	return key, nil
}
