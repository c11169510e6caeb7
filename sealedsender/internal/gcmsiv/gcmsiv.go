package gcmsiv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unsafe"
)

const (
	// NonceSize is the nonce length (RFC 8452, Section 4).
	NonceSize = 12
	// TagSize is the authentication tag length.
	TagSize = 16
	// maxLength is the longest plaintext or additional data, 2^36 bytes
	// (RFC 8452, Section 6).
	maxLength = 1 << 36
)

// ErrOpen is returned by Open when the ciphertext does not authenticate.
var ErrOpen = errors.New("gcmsiv: message authentication failed")

type aead struct {
	block  cipher.Block // keyed with the key-generating key
	keyLen int
}

var _ cipher.AEAD = (*aead)(nil)

// New returns AEAD_AES_128_GCM_SIV (16-byte key) or AEAD_AES_256_GCM_SIV
// (32-byte key).
func New(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 && len(key) != 32 {
		return nil, fmt.Errorf("gcmsiv: key is %d bytes, want 16 or 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gcmsiv: %w", err)
	}
	return &aead{block: b, keyLen: len(key)}, nil
}

func (a *aead) NonceSize() int { return NonceSize }
func (a *aead) Overhead() int  { return TagSize }

// deriveKeys is RFC 8452, Section 4: the record authentication key and the
// record encryption key, each from the first halves of AES(K, LE32(i) ‖ N).
func (a *aead) deriveKeys(nonce []byte) (authKey [16]byte, enc cipher.Block) {
	var in, out [16]byte
	copy(in[4:], nonce)
	var encKey [32]byte
	n := 2 + a.keyLen/8
	for i := range n {
		binary.LittleEndian.PutUint32(in[:4], uint32(i))
		a.block.Encrypt(out[:], in[:])
		if i < 2 {
			copy(authKey[i*8:], out[:8])
		} else {
			copy(encKey[(i-2)*8:], out[:8])
		}
	}
	enc, err := aes.NewCipher(encKey[:a.keyLen])
	clear(encKey[:])
	clear(out[:])
	if err != nil {
		panic("gcmsiv: derived key has an invalid length") // unreachable: 16 or 32
	}
	return authKey, enc
}

// tag computes the tag over plaintext and additional data (RFC 8452,
// Section 4, steps after key derivation).
func tag(authKey *[16]byte, enc cipher.Block, nonce, plaintext, additionalData []byte) [16]byte {
	var p polyval
	p.init(authKey)
	p.update(additionalData)
	p.update(plaintext)
	var lengths [16]byte
	binary.LittleEndian.PutUint64(lengths[:8], uint64(len(additionalData))*8)
	binary.LittleEndian.PutUint64(lengths[8:], uint64(len(plaintext))*8)
	p.update(lengths[:])
	s := p.sum()
	for i := range NonceSize {
		s[i] ^= nonce[i]
	}
	s[15] &= 0x7f
	var t [16]byte
	enc.Encrypt(t[:], s[:])
	return t
}

// ctr is AES-CTR with the tag as initial counter (top bit set) and a 32-bit
// little-endian counter in the first four bytes that wraps (RFC 8452,
// Section 4).
func ctr(enc cipher.Block, t *[16]byte, dst, src []byte) {
	var counter, ks [16]byte
	counter = *t
	counter[15] |= 0x80
	c := binary.LittleEndian.Uint32(counter[:4])
	for len(src) > 0 {
		binary.LittleEndian.PutUint32(counter[:4], c)
		enc.Encrypt(ks[:], counter[:])
		n := subtle.XORBytes(dst, src, ks[:])
		dst, src = dst[n:], src[n:]
		c++
	}
	clear(ks[:])
}

func (a *aead) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != NonceSize {
		panic("gcmsiv: incorrect nonce length given to Seal")
	}
	if uint64(len(plaintext)) > maxLength || uint64(len(additionalData)) > maxLength {
		panic("gcmsiv: message too large for Seal")
	}
	authKey, enc := a.deriveKeys(nonce)
	t := tag(&authKey, enc, nonce, plaintext, additionalData)
	clear(authKey[:])
	ret, out := sliceForAppend(dst, len(plaintext)+TagSize)
	if inexactOverlap(out, plaintext) {
		panic("gcmsiv: invalid buffer overlap")
	}
	ctr(enc, &t, out[:len(plaintext)], plaintext)
	copy(out[len(plaintext):], t[:])
	return ret
}

func (a *aead) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		panic("gcmsiv: incorrect nonce length given to Open")
	}
	if len(ciphertext) < TagSize || uint64(len(ciphertext)) > maxLength+TagSize || uint64(len(additionalData)) > maxLength {
		return nil, ErrOpen
	}
	var t [16]byte
	copy(t[:], ciphertext[len(ciphertext)-TagSize:])
	ciphertext = ciphertext[:len(ciphertext)-TagSize]
	authKey, enc := a.deriveKeys(nonce)
	ret, out := sliceForAppend(dst, len(ciphertext))
	if inexactOverlap(out, ciphertext) {
		panic("gcmsiv: invalid buffer overlap")
	}
	ctr(enc, &t, out, ciphertext)
	want := tag(&authKey, enc, nonce, out, additionalData)
	clear(authKey[:])
	if subtle.ConstantTimeCompare(want[:], t[:]) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes, returning the whole slice and the
// new tail.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// inexactOverlap reports whether x and y share memory at different offsets.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	return uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}

// polyval is the POLYVAL universal hash (RFC 8452, Section 3) over
// GF(2^128) with the polynomial x^128 + x^127 + x^126 + x^121 + 1. A field
// element is 16 bytes read little-endian: lo holds x^0..x^63, hi x^64..x^127.
type polyval struct {
	h, s fieldElement
}

type fieldElement struct{ lo, hi uint64 }

func load(b []byte) fieldElement {
	return fieldElement{binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:16])}
}

func (p *polyval) init(key *[16]byte) {
	p.h = load(key[:])
	p.s = fieldElement{}
}

// update absorbs b, zero-padded to a multiple of 16 bytes.
func (p *polyval) update(b []byte) {
	for len(b) >= 16 {
		x := load(b)
		p.s = dot(fieldElement{p.s.lo ^ x.lo, p.s.hi ^ x.hi}, p.h)
		b = b[16:]
	}
	if len(b) > 0 {
		var last [16]byte
		copy(last[:], b)
		x := load(last[:])
		p.s = dot(fieldElement{p.s.lo ^ x.lo, p.s.hi ^ x.hi}, p.h)
	}
}

func (p *polyval) sum() [16]byte {
	var out [16]byte
	binary.LittleEndian.PutUint64(out[:8], p.s.lo)
	binary.LittleEndian.PutUint64(out[8:], p.s.hi)
	return out
}

// dot is RFC 8452's dot(a, b) = a · b · x^-128 in POLYVAL's field: the
// 256-bit carry-less product followed by a Montgomery reduction by x^128.
//
// With P = x^128 + p0, p0 = 1 + x^121 + x^126 + x^127, and the product split
// as H·x^128 + L: q = L · p0^-1 mod x^128 (p0 is its own inverse mod x^128,
// since (x^121 + x^126 + x^127)^2 ≡ 0), and (product + q·P) / x^128 =
// H + q + ⌊q·p0 / x^128⌋ = H ⊕ q ⊕ q≫1 ⊕ q≫2 ⊕ q≫7.
func dot(a, b fieldElement) fieldElement {
	// Karatsuba over 64-bit halves.
	l0, l1 := clmul(a.lo, b.lo)
	h0, h1 := clmul(a.hi, b.hi)
	m0, m1 := clmul(a.lo^a.hi, b.lo^b.hi)
	m0 ^= l0 ^ h0
	m1 ^= l1 ^ h1
	d0, d1, d2, d3 := l0, l1^m0, h0^m1, h1

	// q = L ⊕ L≪121 ⊕ L≪126 ⊕ L≪127 (mod 2^128).
	q0 := d0
	q1 := d1 ^ d0<<57 ^ d0<<62 ^ d0<<63
	return fieldElement{
		lo: d2 ^ q0 ^ (q0>>1 | q1<<63) ^ (q0>>2 | q1<<62) ^ (q0>>7 | q1<<57),
		hi: d3 ^ q1 ^ q1>>1 ^ q1>>2 ^ q1>>7,
	}
}

// clmul returns the 128-bit carry-less product of x and y.
func clmul(x, y uint64) (lo, hi uint64) {
	lo = bmul64(x, y)
	// The high half is the bit reversal of the low half of the reversed
	// operands' product, shifted by one (the product has degree ≤ 126).
	hi = bits.Reverse64(bmul64(bits.Reverse64(x), bits.Reverse64(y))) >> 1
	return lo, hi
}

// bmul64 returns the low 64 bits of the carry-less product of x and y in
// constant time: each operand is split into four interleaved bit classes
// (every fourth bit) so that the carries of the integer multiplications land
// in the holes between the bits that are kept. A position keeps at most 15
// terms below bit 64 (16 only at bits 60–63, whose carry leaves the word).
func bmul64(x, y uint64) uint64 {
	const (
		m0 = 0x1111111111111111
		m1 = 0x2222222222222222
		m2 = 0x4444444444444444
		m3 = 0x8888888888888888
	)
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := x0*y0 ^ x1*y3 ^ x2*y2 ^ x3*y1
	z1 := x0*y1 ^ x1*y0 ^ x2*y3 ^ x3*y2
	z2 := x0*y2 ^ x1*y1 ^ x2*y0 ^ x3*y3
	z3 := x0*y3 ^ x1*y2 ^ x2*y1 ^ x3*y0
	return z0&m0 | z1&m1 | z2&m2 | z3&m3
}
