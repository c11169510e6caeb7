package kem

import (
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha3"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"
)

// Type is the type byte that prefixes every serialized KEM key and
// ciphertext.
type Type byte

const (
	// Kyber1024 is CRYSTALS-Kyber-1024 as submitted to round 3 of the NIST
	// PQC process: the only KEM libsignal-client accepts by default.
	Kyber1024 Type = 0x08
	// MLKEM1024 is ML-KEM-1024 (FIPS 203).
	MLKEM1024 Type = 0x0A
)

// Sizes, without the type byte. ML-KEM-1024 has the same public key and
// ciphertext sizes as Kyber-1024.
const (
	Kyber1024PublicKeySize  = 1568
	Kyber1024CiphertextSize = 1568
	Kyber1024SecretKeySize  = 3168
	MLKEM1024SeedSize       = mlkem.SeedSize // 64
	SharedSecretSize        = 32
)

var (
	// ErrInvalidKey is returned (wrapped with detail) for a malformed key.
	ErrInvalidKey = errors.New("kem: invalid key")
	// ErrInvalidCiphertext is returned for a ciphertext of the wrong length
	// or type.
	ErrInvalidCiphertext = errors.New("kem: invalid ciphertext")
	// ErrUnknownType is returned for an unknown or missing type byte.
	ErrUnknownType = errors.New("kem: unknown key type")
)

// String returns the name of t.
func (t Type) String() string {
	switch t {
	case Kyber1024:
		return "Kyber1024"
	case MLKEM1024:
		return "MLKEM1024"
	}
	return fmt.Sprintf("kem.Type(0x%02x)", byte(t))
}

func checkType(t Type) error {
	if t != Kyber1024 && t != MLKEM1024 {
		return fmt.Errorf("%w: 0x%02x", ErrUnknownType, byte(t))
	}
	return nil
}

// PublicKey is a KEM public (encapsulation) key. It is immutable and cheap
// to copy; the zero value is not a usable key (see IsZero).
type PublicKey struct {
	p *publicKey
}

type publicKey struct {
	ser   []byte // type byte ‖ key, never exposed
	kyber *kyber1024.PublicKey
	mlkem *mlkem.EncapsulationKey1024
}

// NewPublicKey parses type byte ‖ key. An unknown type returns
// ErrUnknownType; a wrong length, or for ML-KEM-1024 an encoding that fails
// the FIPS 203 modulus check, returns ErrInvalidKey. Kyber-1024 keys are not
// modulus-checked, as in the round-3 reference implementation and libsignal.
func NewPublicKey(serialized []byte) (PublicKey, error) {
	if len(serialized) == 0 {
		return PublicKey{}, fmt.Errorf("%w: empty public key", ErrUnknownType)
	}
	t := Type(serialized[0])
	if err := checkType(t); err != nil {
		return PublicKey{}, err
	}
	key := serialized[1:]
	if len(key) != Kyber1024PublicKeySize {
		return PublicKey{}, fmt.Errorf("%w: %v public key is %d bytes, want %d", ErrInvalidKey, t, len(key), Kyber1024PublicKeySize)
	}
	p := &publicKey{ser: append([]byte(nil), serialized...)}
	switch t {
	case Kyber1024:
		p.kyber = new(kyber1024.PublicKey)
		p.kyber.Unpack(p.ser[1:])
		cleanUpper()
	case MLKEM1024:
		ek, err := mlkem.NewEncapsulationKey1024(key)
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		p.mlkem = ek
	}
	return PublicKey{p: p}, nil
}

// Bytes returns a fresh copy of type byte ‖ key.
func (k PublicKey) Bytes() []byte {
	if k.p == nil {
		return nil
	}
	return append([]byte(nil), k.p.ser...)
}

// Type returns the key's KEM type (0 for the zero value).
func (k PublicKey) Type() Type {
	if k.p == nil {
		return 0
	}
	return Type(k.p.ser[0])
}

// IsZero reports whether k is the zero value.
func (k PublicKey) IsZero() bool { return k.p == nil }

// Equal reports whether k and o have the same type and key, in constant time
// (for keys of equal length). Two zero values are equal.
func (k PublicKey) Equal(o PublicKey) bool {
	if k.p == nil || o.p == nil {
		return k.p == nil && o.p == nil
	}
	return subtle.ConstantTimeCompare(k.p.ser, o.p.ser) == 1
}

// String returns the type and a short fingerprint-free description.
func (k PublicKey) String() string {
	if k.p == nil {
		return "kem.PublicKey(zero)"
	}
	return "kem.PublicKey(" + k.Type().String() + ")"
}

// Encapsulate generates a shared secret and its encapsulation to k. It
// returns the ciphertext serialized with k's type byte in front, and the
// 32-byte shared secret.
//
// For Kyber-1024 the 32-byte encapsulation seed m is read from rand (nil
// means crypto/rand.Reader), so the result is deterministic given rand
// (round-3 Kyber.CCAKEM.Enc, Algorithm 8, with m = H(seed)). For ML-KEM-1024,
// crypto/mlkem draws its own randomness and rand is ignored: the standard
// library offers derandomized encapsulation only in crypto/mlkem/mlkemtest,
// which is for known-answer tests.
func (k PublicKey) Encapsulate(rand io.Reader) (ciphertext []byte, sharedSecret []byte, err error) {
	if k.p == nil {
		return nil, nil, fmt.Errorf("%w: zero public key", ErrInvalidKey)
	}
	switch {
	case k.p.kyber != nil:
		var seed [kyber1024.EncapsulationSeedSize]byte
		if _, err := io.ReadFull(orDefault(rand), seed[:]); err != nil {
			return nil, nil, fmt.Errorf("kem: reading randomness: %w", err)
		}
		ct := make([]byte, 1+Kyber1024CiphertextSize)
		ct[0] = byte(Kyber1024)
		ss := make([]byte, SharedSecretSize)
		k.p.kyber.EncapsulateTo(ct[1:], ss, seed[:])
		cleanUpper()
		clear(seed[:])
		return ct, ss, nil
	default:
		ss, c := k.p.mlkem.Encapsulate()
		ct := make([]byte, 0, 1+len(c))
		ct = append(ct, byte(MLKEM1024))
		ct = append(ct, c...)
		return ct, ss, nil
	}
}

func orDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// SecretKey is a KEM secret (decapsulation) key. Its material is behind a
// pointer: copying is cheap and fmt never prints key bytes.
type SecretKey struct {
	p *secretKey
}

type secretKey struct {
	// The serialized form lives behind one more pointer so that no fmt verb
	// applied to a struct containing a SecretKey can reach it.
	ser   *[]byte
	kyber *kyber1024.PrivateKey
	mlkem *mlkem.DecapsulationKey1024
	pub   PublicKey
}

// NewSecretKey parses type byte ‖ key:
//   - Kyber1024: 0x08 ‖ the 3168-byte round-3 secret key
//     (s ‖ pk ‖ H(pk) ‖ z, as libsignal and the reference code serialize
//     it). H(pk) must match the embedded pk, else ErrInvalidKey.
//   - MLKEM1024: 0x0A ‖ the 64-byte seed (d ‖ z) of FIPS 203: crypto/mlkem
//     loads decapsulation keys only from seeds, so the expanded 3168-byte
//     ML-KEM form is not accepted.
func NewSecretKey(serialized []byte) (SecretKey, error) {
	if len(serialized) == 0 {
		return SecretKey{}, fmt.Errorf("%w: empty secret key", ErrUnknownType)
	}
	t := Type(serialized[0])
	if err := checkType(t); err != nil {
		return SecretKey{}, err
	}
	key := serialized[1:]
	ser := append([]byte(nil), serialized...)
	p := &secretKey{ser: &ser}
	switch t {
	case Kyber1024:
		if len(key) != Kyber1024SecretKeySize {
			return SecretKey{}, fmt.Errorf("%w: Kyber1024 secret key is %d bytes, want %d", ErrInvalidKey, len(key), Kyber1024SecretKeySize)
		}
		// Layout: s (1536) ‖ pk (1568) ‖ H(pk) (32) ‖ z (32).
		const sLen = Kyber1024SecretKeySize - Kyber1024PublicKeySize - 64
		pk := key[sLen : sLen+Kyber1024PublicKeySize]
		hpk := key[sLen+Kyber1024PublicKeySize : sLen+Kyber1024PublicKeySize+32]
		if h := sha3.Sum256(pk); subtle.ConstantTimeCompare(h[:], hpk) != 1 {
			return SecretKey{}, fmt.Errorf("%w: Kyber1024 secret key has a wrong H(pk)", ErrInvalidKey)
		}
		p.kyber = new(kyber1024.PrivateKey)
		p.kyber.Unpack(ser[1:])
		cleanUpper()
		pub, err := NewPublicKey(append([]byte{byte(Kyber1024)}, pk...))
		if err != nil {
			return SecretKey{}, err
		}
		p.pub = pub
	case MLKEM1024:
		if len(key) != MLKEM1024SeedSize {
			return SecretKey{}, fmt.Errorf("%w: MLKEM1024 secret key (seed) is %d bytes, want %d", ErrInvalidKey, len(key), MLKEM1024SeedSize)
		}
		dk, err := mlkem.NewDecapsulationKey1024(key)
		if err != nil {
			return SecretKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		p.mlkem = dk
		ek := dk.EncapsulationKey()
		p.pub = PublicKey{p: &publicKey{ser: append([]byte{byte(MLKEM1024)}, ek.Bytes()...), mlkem: ek}}
	}
	return SecretKey{p: p}, nil
}

// Bytes returns a fresh copy of type byte ‖ key, in the form NewSecretKey
// takes.
func (k SecretKey) Bytes() []byte {
	if k.p == nil {
		return nil
	}
	return append([]byte(nil), (*k.p.ser)...)
}

// Type returns the key's KEM type (0 for the zero value).
func (k SecretKey) Type() Type {
	if k.p == nil {
		return 0
	}
	return Type((*k.p.ser)[0])
}

// IsZero reports whether k is the zero value.
func (k SecretKey) IsZero() bool { return k.p == nil }

// PublicKey returns the matching public key.
func (k SecretKey) PublicKey() PublicKey {
	if k.p == nil {
		return PublicKey{}
	}
	return k.p.pub
}

// Decapsulate recovers the 32-byte shared secret from a ciphertext serialized
// with its type byte, which must match the key's type. A ciphertext of the
// wrong length or type returns ErrInvalidCiphertext; a well-formed but
// corrupted ciphertext yields a pseudorandom secret (implicit rejection).
func (k SecretKey) Decapsulate(ciphertext []byte) ([]byte, error) {
	if k.p == nil {
		return nil, fmt.Errorf("%w: zero secret key", ErrInvalidKey)
	}
	if len(ciphertext) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidCiphertext)
	}
	if t := Type(ciphertext[0]); t != k.Type() {
		return nil, fmt.Errorf("%w: type %v for a %v key", ErrInvalidCiphertext, t, k.Type())
	}
	ct := ciphertext[1:]
	if len(ct) != Kyber1024CiphertextSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidCiphertext, len(ct), Kyber1024CiphertextSize)
	}
	if k.p.kyber != nil {
		ss := make([]byte, SharedSecretSize)
		k.p.kyber.DecapsulateTo(ss, ct)
		cleanUpper()
		return ss, nil
	}
	ss, err := k.p.mlkem.Decapsulate(ct)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCiphertext, err)
	}
	return ss, nil
}

// String returns "kem.SecretKey(<type>, REDACTED)".
func (k SecretKey) String() string {
	if k.p == nil {
		return "kem.SecretKey(zero)"
	}
	return "kem.SecretKey(" + k.Type().String() + ", REDACTED)"
}

// GoString implements fmt.GoStringer without revealing the key.
func (k SecretKey) GoString() string { return k.String() }

// Format implements fmt.Formatter: every verb prints String.
func (k SecretKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// KeyPair is a KEM key pair.
type KeyPair struct {
	Public PublicKey
	Secret SecretKey
}

// GenerateKeyPair generates a key pair of type t from a 64-byte seed read
// from rand (nil means crypto/rand.Reader), so the result is deterministic
// given rand. For Kyber-1024 the seed is d ‖ z of round-3 Kyber key
// generation (circl's NewKeyFromSeed); for ML-KEM-1024 it is the FIPS 203
// seed d ‖ z.
func GenerateKeyPair(t Type, rand io.Reader) (KeyPair, error) {
	if err := checkType(t); err != nil {
		return KeyPair{}, err
	}
	var seed [64]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(orDefault(rand), seed[:]); err != nil {
		return KeyPair{}, fmt.Errorf("kem: reading randomness: %w", err)
	}
	if t == Kyber1024 {
		// circl returns both keys expanded: keep them rather than packing
		// the secret key and parsing it again, which would redo the
		// expansion of the public matrix and a SHA3 of the public key.
		pk, sk := kyber1024.NewKeyFromSeed(seed[:])
		ser := make([]byte, 1+Kyber1024SecretKeySize)
		ser[0] = byte(Kyber1024)
		sk.Pack(ser[1:])
		cleanUpper()
		// Layout: s (1536) ‖ pk (1568) ‖ H(pk) (32) ‖ z (32).
		const sLen = Kyber1024SecretKeySize - Kyber1024PublicKeySize - 64
		pub := make([]byte, 1+Kyber1024PublicKeySize)
		pub[0] = byte(Kyber1024)
		copy(pub[1:], ser[1+sLen:])
		p := &secretKey{ser: &ser, kyber: sk, pub: PublicKey{p: &publicKey{ser: pub, kyber: pk}}}
		return KeyPair{Public: p.pub, Secret: SecretKey{p: p}}, nil
	}
	ser := append([]byte{byte(MLKEM1024)}, seed[:]...)
	sk, err := NewSecretKey(ser)
	clear(ser)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Public: sk.PublicKey(), Secret: sk}, nil
}
