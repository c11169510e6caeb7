package kdf

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// MaxLength is the longest output HKDF-SHA256 can produce: 255 · HashLen
// (RFC 5869, Section 2.3).
const MaxLength = 255 * sha256.Size

// ErrLength is returned for a negative output length or one above MaxLength.
var ErrLength = errors.New("kdf: invalid HKDF output length")

const (
	blockSize = sha256.BlockSize // B in RFC 2104
	hashLen   = sha256.Size      // HashLen in RFC 5869

	// stackMsg is the largest HMAC message hashed from a stack buffer; a
	// longer one (an IKM above 224 bytes or an info above 191, which no
	// ratchet derivation uses) takes one heap buffer of its exact size.
	stackMsg = 224
)

// HKDF derives length bytes with HKDF-SHA256 (RFC 5869, Section 2):
// PRK = HKDF-Extract(salt, secret), OKM = HKDF-Expand(PRK, info, length).
// A nil or empty salt means "not provided", i.e. HashLen zero bytes
// (Section 2.2). length must be in [0, 255·32].
func HKDF(secret, salt, info []byte, length int) ([]byte, error) {
	if length < 0 || length > MaxLength {
		return nil, fmt.Errorf("%w: %d", ErrLength, length)
	}
	out := make([]byte, length)
	derive(out, secret, salt, info)
	return out, nil
}

// HKDFInto fills dst with HKDF-SHA256(secret, salt, info), len(dst) bytes.
// It does not allocate when secret is at most 224 bytes and info at most
// 191 (every derivation of X3DH, PQXDH, the Double Ratchet and SPQR); salt
// may have any length.
func HKDFInto(dst, secret, salt, info []byte) error {
	if len(dst) > MaxLength {
		return fmt.Errorf("%w: %d", ErrLength, len(dst))
	}
	derive(dst, secret, salt, info)
	return nil
}

// HMAC returns HMAC-SHA256(key, msg) (RFC 2104), without allocating for a
// message of up to 224 bytes.
func HMAC(key, msg []byte) [32]byte {
	var pads pads
	pads.init(key)
	var out [32]byte
	pads.mac(&out, msg, nil, nil)
	pads.clear()
	return out
}

// HMAC2 returns HMAC-SHA256(key, m1) and HMAC-SHA256(key, m2) with one key
// schedule (the chain step's seed and next chain key).
func HMAC2(key, m1, m2 []byte) (a, b [32]byte) {
	var pads pads
	pads.init(key)
	pads.mac(&a, m1, nil, nil)
	pads.mac(&b, m2, nil, nil)
	pads.clear()
	return a, b
}

// HMACConcat returns HMAC-SHA256(key, a ‖ b) for a message of any length
// (a SignalMessage's MAC over both identity keys and the message). A long
// message is hashed by a pooled SHA-256, so the steady state does not
// allocate; a and b are handed to it, so they must not be stack arrays the
// caller wants kept off the heap.
func HMACConcat(key, a, b []byte) [32]byte {
	if len(a)+len(b) <= stackMsg {
		var p pads
		p.init(key)
		var out [32]byte
		p.mac(&out, a, b, nil)
		p.clear()
		return out
	}
	s := macPool.Get().(*macState)
	s.pads.init(key)
	s.h.Reset()
	s.h.Write(s.pads.ipad[:])
	s.h.Write(a)
	s.h.Write(b)
	s.h.Sum(s.sum[:0])
	s.h.Reset()
	s.h.Write(s.pads.opad[:])
	s.h.Write(s.sum[:])
	s.h.Sum(s.sum[:0])
	out := s.sum
	s.pads.clear()
	clear(s.sum[:])
	s.h.Reset()
	macPool.Put(s)
	return out
}

// macState is HMACConcat's pooled hash and buffers (everything handed to a
// hash.Hash escapes, so it all lives in one pooled object).
type macState struct {
	h    hash.Hash
	pads pads
	sum  [hashLen]byte
}

var macPool = sync.Pool{New: func() any { return &macState{h: sha256.New()} }}

// derive is RFC 5869, Section 2.2 and 2.3, for len(dst) ≤ MaxLength.
func derive(dst, secret, salt, info []byte) {
	if len(dst) == 0 {
		return
	}
	var pads pads
	// Extract: PRK = HMAC-Hash(salt, IKM); a missing salt is HashLen
	// zeros, which HMAC pads exactly like an empty key.
	pads.init(salt)
	var prk [hashLen]byte
	pads.mac(&prk, secret, nil, nil)
	// Expand: T(i) = HMAC-Hash(PRK, T(i-1) ‖ info ‖ i), T(0) empty.
	pads.init(prk[:])
	clear(prk[:])
	var t [hashLen]byte
	var ctr [1]byte
	prev := t[:0]
	for i := 0; len(dst) > 0; i++ {
		ctr[0] = byte(i + 1)
		pads.mac(&t, prev, info, ctr[:])
		n := copy(dst, t[:])
		dst = dst[n:]
		prev = t[:]
	}
	clear(t[:])
	pads.clear()
}

// pads holds K ⊕ ipad and K ⊕ opad for one HMAC key (RFC 2104, Section 2).
type pads struct {
	ipad, opad [blockSize]byte
}

func (p *pads) init(key []byte) {
	var k [hashLen]byte
	if len(key) > blockSize {
		k = sha256.Sum256(key)
		key = k[:]
	}
	clear(p.ipad[:])
	copy(p.ipad[:], key)
	clear(k[:])
	for i := range p.ipad {
		p.opad[i] = p.ipad[i] ^ 0x5c
		p.ipad[i] ^= 0x36
	}
}

func (p *pads) clear() {
	clear(p.ipad[:])
	clear(p.opad[:])
}

// mac writes HMAC(K, a ‖ b ‖ c) to out: H(K⊕opad ‖ H(K⊕ipad ‖ a ‖ b ‖ c)).
// The keyed blocks are hashed in one call from one buffer, on the stack
// when the message fits.
func (p *pads) mac(out *[hashLen]byte, a, b, c []byte) {
	n := len(a) + len(b) + len(c)
	var stack [blockSize + stackMsg]byte
	var buf []byte
	if n <= stackMsg {
		buf = stack[:blockSize+n]
	} else {
		buf = make([]byte, blockSize+n)
	}
	copy(buf, p.ipad[:])
	off := blockSize + copy(buf[blockSize:], a)
	off += copy(buf[off:], b)
	copy(buf[off:], c)
	inner := sha256.Sum256(buf)
	clear(buf)
	copy(stack[:], p.opad[:])
	copy(stack[blockSize:], inner[:])
	*out = sha256.Sum256(stack[:blockSize+hashLen])
	clear(stack[:blockSize+hashLen])
	clear(inner[:])
}
