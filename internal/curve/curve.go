package curve

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// KeyType is the type byte that prefixes a serialized Curve25519 public key
// ("DJB" type in libsignal).
const KeyType byte = 0x05

const (
	// PublicKeySize is the size of a serialized public key, type byte included.
	PublicKeySize = 33
	// PrivateKeySize is the size of a private key (a clamped X25519 scalar).
	PrivateKeySize = 32
	// SignatureSize is the size of an XEdDSA signature.
	SignatureSize = 64
)

var (
	// ErrInvalidKey is returned (possibly wrapped with detail) for a malformed key.
	ErrInvalidKey = errors.New("curve: invalid key")
	// ErrInvalidSignature is returned for a malformed or unverifiable signature.
	ErrInvalidSignature = errors.New("curve: invalid signature")
	// ErrLowOrder is returned by ECDH when the result is all zero, i.e. the
	// peer's public key is a low-order point (RFC 7748, Section 6.1).
	ErrLowOrder = errors.New("curve: low-order public key")
)

// PublicKey is a Curve25519 (X25519) public key: a Montgomery u-coordinate.
//
// The zero value is not a usable key (see IsZero). PublicKey is immutable and
// cheap to copy (32 bytes and a pointer).
type PublicKey struct {
	u   [32]byte
	set bool
}

// NewPublicKey parses a serialized public key: KeyType (0x05) followed by the
// 32-byte u-coordinate, exactly 33 bytes. Unlike libsignal, trailing bytes are
// rejected.
func NewPublicKey(serialized []byte) (PublicKey, error) {
	if len(serialized) != PublicKeySize {
		return PublicKey{}, fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalidKey, len(serialized), PublicKeySize)
	}
	if serialized[0] != KeyType {
		return PublicKey{}, fmt.Errorf("%w: unknown key type 0x%02x", ErrInvalidKey, serialized[0])
	}
	return NewPublicKeyRaw(serialized[1:])
}

// NewPublicKeyRaw builds a public key from a bare 32-byte u-coordinate
// (RFC 7748, Section 5). Any 32 bytes are accepted, as X25519 does; use
// IsCanonical and IsTorsionFree for stricter checks.
func NewPublicKeyRaw(u []byte) (PublicKey, error) {
	if len(u) != 32 {
		return PublicKey{}, fmt.Errorf("%w: raw public key is %d bytes, want 32", ErrInvalidKey, len(u))
	}
	pk := PublicKey{set: true}
	copy(pk.u[:], u)
	return pk, nil
}

// Bytes returns a fresh 33-byte serialization: KeyType ‖ u.
func (k PublicKey) Bytes() []byte {
	return k.AppendBytes(make([]byte, 0, PublicKeySize))
}

// AppendBytes appends the 33-byte serialization of k to dst.
func (k PublicKey) AppendBytes(dst []byte) []byte {
	dst = append(dst, KeyType)
	return append(dst, k.u[:]...)
}

// Raw returns the 32-byte u-coordinate.
func (k PublicKey) Raw() [32]byte { return k.u }

// IsZero reports whether k is the zero value (never set).
func (k PublicKey) IsZero() bool { return !k.set }

// Equal reports whether k and o hold the same u-coordinate, in constant time.
// Two zero values are equal; a zero value never equals a set key.
func (k PublicKey) Equal(o PublicKey) bool {
	if k.IsZero() != o.IsZero() {
		return false
	}
	return subtle.ConstantTimeCompare(k.u[:], o.u[:]) == 1
}

// IsCanonical reports whether the u-coordinate, read as a 256-bit
// little-endian integer, is less than p = 2^255 - 19 (so in particular its
// top bit is clear). This is libsignal's "scalar_is_in_range" check.
func (k PublicKey) IsCanonical() bool {
	return !k.IsZero() && isCanonicalU(&k.u)
}

func isCanonicalU(u *[32]byte) bool {
	if u[31]&0x80 != 0 {
		return false
	}
	if u[31] != 0x7f || u[0] < 0xed {
		return true
	}
	for _, b := range u[1:31] {
		if b != 0xff {
			return true
		}
	}
	return false
}

// String returns "curve.PublicKey(<hex of the 32-byte u-coordinate>)".
func (k PublicKey) String() string {
	if k.IsZero() {
		return "curve.PublicKey(zero)"
	}
	return "curve.PublicKey(" + hex.EncodeToString(k.u[:]) + ")"
}

// PrivateKey is a Curve25519 private key: a clamped 32-byte X25519 scalar.
//
// The key material lives behind a pointer, so copying a PrivateKey is cheap,
// and printing a struct that contains one (even through an unexported field)
// shows an address, never key bytes. PrivateKey is immutable.
type PrivateKey struct {
	p *privateKey
}

// privateKey holds the clamped scalar two pointers away from PrivateKey:
// fmt dereferences at most one pointer level (even for a bad verb such as %s
// on a struct), so no format of any value that contains a PrivateKey reaches
// the key bytes.
//
// X25519 is crypto/ecdh's. Building an *ecdh.PrivateKey always computes its
// public key (a scalar multiplication), so a key pair loaded from storage
// with its public key (NewStoredKeyPair) builds it only when ECDH first
// needs it: loading a session record costs no multiplication, and a message
// that needs no DH step never pays for one.
type privateKey struct {
	s    *[32]byte // the clamped scalar
	pub  PublicKey
	once sync.Once
	key  *ecdh.PrivateKey
	err  error
}

// clamp copies b (32 bytes) into a new privateKey and clamps it
// (RFC 7748, Section 5).
func clamp(b []byte) *privateKey {
	// The key and its scalar in one allocation.
	kb := new(struct {
		p privateKey
		s [32]byte
	})
	p := &kb.p
	p.s = &kb.s
	copy(p.s[:], b)
	p.s[0] &= 248
	p.s[31] &= 127
	p.s[31] |= 64
	return p
}

// ecdhKey returns the crypto/ecdh key, building it on first use.
func (p *privateKey) ecdhKey() (*ecdh.PrivateKey, error) {
	p.once.Do(func() {
		p.key, p.err = ecdh.X25519().NewPrivateKey(p.s[:])
	})
	return p.key, p.err
}

// NewPrivateKey loads a 32-byte private key, clamping it
// (b[0] &= 248, b[31] &= 127, b[31] |= 64; RFC 7748, Section 5) as libsignal
// does. The input is copied, not modified.
func NewPrivateKey(b []byte) (PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return PrivateKey{}, fmt.Errorf("%w: private key is %d bytes, want %d", ErrInvalidKey, len(b), PrivateKeySize)
	}
	p := clamp(b)
	key, err := p.ecdhKey()
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	p.pub = PublicKey{set: true}
	copy(p.pub.u[:], key.PublicKey().Bytes()) // X25519(k, 9)
	return PrivateKey{p: p}, nil
}

// NewStoredKeyPair loads a key pair from storage that recorded both halves
// (session records, prekey records) without the base-point multiplication
// that NewPrivateKey performs: the public key is taken as stored. Use it only
// for bytes this process wrote itself; a mismatched pair cannot leak the
// private key, it only makes the peer's MAC checks fail.
func NewStoredKeyPair(private, public []byte) (KeyPair, error) {
	if len(private) != PrivateKeySize {
		return KeyPair{}, fmt.Errorf("%w: private key is %d bytes, want %d", ErrInvalidKey, len(private), PrivateKeySize)
	}
	pub, err := NewPublicKey(public)
	if err != nil {
		return KeyPair{}, err
	}
	p := clamp(private)
	p.pub = pub
	return KeyPair{Private: PrivateKey{p: p}, Public: pub}, nil
}

// GeneratePrivateKey reads 32 bytes from rand and loads them with
// NewPrivateKey, so the result is deterministic given rand. A nil rand means
// crypto/rand.Reader.
func GeneratePrivateKey(rand io.Reader) (PrivateKey, error) {
	var b [32]byte
	if _, err := io.ReadFull(orDefault(rand), b[:]); err != nil {
		return PrivateKey{}, fmt.Errorf("curve: reading randomness: %w", err)
	}
	k, err := NewPrivateKey(b[:])
	clear(b[:])
	return k, err
}

func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// Bytes returns a copy of the clamped 32-byte private key.
func (k PrivateKey) Bytes() []byte {
	if k.p == nil {
		return nil
	}
	return append([]byte(nil), k.p.s[:]...)
}

// AppendPrivate appends the 32-byte private key k to dst (nothing for the
// zero PrivateKey, whose Bytes is nil). A function, not a method: the
// PrivateKey type is public through package prekey.
func AppendPrivate(dst []byte, k PrivateKey) []byte {
	if k.p == nil {
		return dst
	}
	return append(dst, k.p.s[:]...)
}

// IsZero reports whether k is the zero value (never set).
func (k PrivateKey) IsZero() bool { return k.p == nil }

// PublicKey returns the matching public key, X25519(k, 9). It is computed
// once, when the private key is loaded.
func (k PrivateKey) PublicKey() PublicKey {
	if k.p == nil {
		return PublicKey{}
	}
	return k.p.pub
}

// ECDH computes X25519(k, pub) (RFC 7748, Section 6.1). An all-zero result,
// which a low-order pub produces, returns ErrLowOrder.
func (k PrivateKey) ECDH(pub PublicKey) ([32]byte, error) {
	var out [32]byte
	if k.p == nil {
		return out, fmt.Errorf("%w: zero private key", ErrInvalidKey)
	}
	if !pub.set {
		return out, fmt.Errorf("%w: zero public key", ErrInvalidKey)
	}
	key, err := k.p.ecdhKey()
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	remote, err := ecdh.X25519().NewPublicKey(pub.u[:])
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	sh, err := key.ECDH(remote)
	if err != nil {
		// crypto/ecdh fails X25519 only on an all-zero output (a low-order pub).
		if mutant.On(mutant.LowOrderAccepted) {
			return out, nil // mutant: the all-zero secret used
		}
		return out, ErrLowOrder
	}
	copy(out[:], sh)
	clear(sh)
	return out, nil
}

const redacted = "curve.PrivateKey(REDACTED)"

// String returns "curve.PrivateKey(REDACTED)"; key bytes are never printed.
func (k PrivateKey) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the key.
func (k PrivateKey) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %x, %s…)
// prints the redacted form.
func (k PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// KeyPair is a private key and its public key.
type KeyPair struct {
	Private PrivateKey
	Public  PublicKey
}

// GenerateKeyPair generates a key pair from 32 bytes of rand (nil means
// crypto/rand.Reader).
func GenerateKeyPair(rand io.Reader) (KeyPair, error) {
	priv, err := GeneratePrivateKey(rand)
	if err != nil {
		return KeyPair{}, err
	}
	return NewKeyPair(priv), nil
}

// NewKeyPair returns the key pair of priv.
func NewKeyPair(priv PrivateKey) KeyPair {
	return KeyPair{Private: priv, Public: priv.PublicKey()}
}
