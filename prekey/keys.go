package prekey

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/kem"
)

// Curve25519 and KEM keys in libsignal's serialization. These types are
// defined in an internal package shared by every Interlock package, so their
// methods are listed here, in each type's documentation (a test checks that
// the lists stay complete). All have unexported fields: build them only with
// the New… parsers and Generate… functions of this package.
type (
	// PublicKey is a Curve25519 (X25519) public key: a Montgomery
	// u-coordinate. The zero value is not a usable key (IsZero reports it).
	// It is immutable and cheap to copy. Build it with NewPublicKey (the
	// 33-byte libsignal form KeyTypeDJB ‖ u) or NewPublicKeyRaw (the bare 32
	// bytes WhatsApp transmits). Methods:
	//
	//	Bytes() []byte                    // a fresh 33-byte serialization 0x05 ‖ u
	//	AppendBytes(dst []byte) []byte    // appends the 33-byte serialization to dst
	//	Raw() [32]byte                    // the bare u-coordinate, without the 0x05 type byte
	//	IsZero() bool                     // the zero value, not a key
	//	Equal(o PublicKey) bool           // same key, in constant time
	//	IsCanonical() bool                // u < 2^255-19 and the unused top bit clear
	//	IsTorsionFree() bool              // in the prime-order subgroup (PQXDH base keys must be)
	//	VerifySignature(msg, sig []byte) bool // checks an XEdDSA signature (libsignal's verify_signature)
	//	String() string                   // a short hex form for logs
	PublicKey = curve.PublicKey

	// PrivateKey is a clamped Curve25519 private key (32 bytes). It never
	// prints: String, GoString and Format redact it. Build it with
	// NewPrivateKey or GenerateKeyPair. Methods:
	//
	//	Bytes() []byte                    // a fresh copy of the 32-byte clamped scalar
	//	IsZero() bool                     // the zero value, not a key
	//	PublicKey() PublicKey             // the matching public key
	//	ECDH(pub PublicKey) ([32]byte, error) // X25519; fails on an all-zero (low-order) result
	//	Sign(rand io.Reader, msg []byte) ([]byte, error) // a 64-byte XEdDSA signature
	//	String() string                   // "REDACTED"
	//	GoString() string                 // "REDACTED"
	//	Format(f fmt.State, verb rune)    // prints "REDACTED" for every verb
	PrivateKey = curve.PrivateKey

	// KeyPair is a Curve25519 private key and its public key, as
	// GenerateKeyPair returns them. Fields:
	//
	//	Private PrivateKey
	//	Public  PublicKey
	KeyPair = curve.KeyPair
)

// KEM keys in libsignal's serialization (type byte ‖ key): 0x08 Kyber-1024
// (round 3), 0x0A ML-KEM-1024.
type (
	// KEMPublicKey is a KEM public (encapsulation) key. The zero value is
	// not a usable key. Build it with NewKEMPublicKey or GenerateKEMKeyPair.
	// Methods:
	//
	//	Bytes() []byte                    // a fresh serialization: type byte ‖ key
	//	Type() KEMType                    // Kyber1024 or MLKEM1024
	//	IsZero() bool                     // the zero value, not a key
	//	Equal(o KEMPublicKey) bool        // same type and key
	//	Encapsulate(rand io.Reader) (ciphertext, sharedSecret []byte, err error) // ciphertext carries the type byte
	//	String() string                   // a short printable form
	KEMPublicKey = kem.PublicKey

	// KEMSecretKey is a KEM secret (decapsulation) key. It never prints:
	// String, GoString and Format redact it. Methods:
	//
	//	Bytes() []byte                    // a fresh serialization: type byte ‖ key
	//	Type() KEMType                    // Kyber1024 or MLKEM1024
	//	IsZero() bool                     // the zero value, not a key
	//	PublicKey() KEMPublicKey          // the matching public key
	//	Decapsulate(ciphertext []byte) ([]byte, error) // the shared secret; ciphertext with its type byte
	//	String() string                   // redacted
	//	GoString() string                 // redacted
	//	Format(f fmt.State, verb rune)    // redacted for every verb
	KEMSecretKey = kem.SecretKey

	// KEMKeyPair is a KEM key pair, as GenerateKEMKeyPair returns it. Fields:
	//
	//	Public KEMPublicKey
	//	Secret KEMSecretKey
	KEMKeyPair = kem.KeyPair

	// KEMType names a KEM: its serialization's type byte. Methods:
	//
	//	String() string                   // "Kyber1024", "MLKEM1024"
	KEMType = kem.Type
)

// KEM types.
const (
	Kyber1024 = kem.Kyber1024
	MLKEM1024 = kem.MLKEM1024
)

// Sentinel errors.
var (
	// ErrInvalidKey is returned for malformed, low-order or unknown-type keys.
	ErrInvalidKey = errors.New("prekey: invalid key")
	// ErrInvalidSignature is returned when a prekey signature does not verify.
	ErrInvalidSignature = errors.New("prekey: invalid signature")
)

// NewPublicKey parses a 33-byte serialized Curve25519 public key.
func NewPublicKey(b []byte) (PublicKey, error) {
	k, err := curve.NewPublicKey(b)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return k, nil
}

// NewPrivateKey parses a 32-byte Curve25519 private key (clamped on load).
func NewPrivateKey(b []byte) (PrivateKey, error) {
	k, err := curve.NewPrivateKey(b)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return k, nil
}

// GenerateKeyPair returns a fresh Curve25519 key pair.
func GenerateKeyPair(rand io.Reader) (KeyPair, error) { return curve.GenerateKeyPair(rand) }

// NewKEMPublicKey parses a serialized KEM public key (type byte ‖ key).
func NewKEMPublicKey(b []byte) (KEMPublicKey, error) {
	k, err := kem.NewPublicKey(b)
	if err != nil {
		return KEMPublicKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return k, nil
}

// NewKEMSecretKey parses a serialized KEM secret key (type byte ‖ key).
func NewKEMSecretKey(b []byte) (KEMSecretKey, error) {
	k, err := kem.NewSecretKey(b)
	if err != nil {
		return KEMSecretKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return k, nil
}

// GenerateKEMKeyPair returns a fresh KEM key pair of type t.
func GenerateKEMKeyPair(rand io.Reader, t KEMType) (KEMKeyPair, error) {
	return kem.GenerateKeyPair(t, rand)
}

// IdentityKey is a user's long-term public identity key.
type IdentityKey struct{ pub curve.PublicKey }

// NewIdentityKey parses a 33-byte serialized identity key.
func NewIdentityKey(b []byte) (IdentityKey, error) {
	k, err := NewPublicKey(b)
	if err != nil {
		return IdentityKey{}, err
	}
	return IdentityKey{pub: k}, nil
}

// IdentityKeyFromPublic wraps a public key as an identity key.
func IdentityKeyFromPublic(k PublicKey) IdentityKey { return IdentityKey{pub: k} }

// PublicKey returns the underlying Curve25519 key.
func (k IdentityKey) PublicKey() PublicKey { return k.pub }

// Bytes returns the 33-byte serialization.
func (k IdentityKey) Bytes() []byte { return k.pub.Bytes() }

// Equal reports whether both keys are the same, in constant time.
func (k IdentityKey) Equal(o IdentityKey) bool { return k.pub.Equal(o.pub) }

// IsZero reports whether k is the zero value.
func (k IdentityKey) IsZero() bool { return k.pub.IsZero() }

// VerifySignature checks an XEdDSA signature made by this identity.
func (k IdentityKey) VerifySignature(msg, sig []byte) bool { return k.pub.VerifySignature(msg, sig) }

// String returns a short printable form.
func (k IdentityKey) String() string { return "prekey.IdentityKey(" + k.pub.String() + ")" }

// IdentityKeyPair is a user's identity key pair. String redacts the private key.
type IdentityKeyPair struct {
	pub  IdentityKey
	priv curve.PrivateKey
}

// GenerateIdentityKeyPair returns a fresh identity key pair.
func GenerateIdentityKeyPair(rand io.Reader) (IdentityKeyPair, error) {
	kp, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return IdentityKeyPair{}, err
	}
	return IdentityKeyPair{pub: IdentityKey{kp.Public}, priv: kp.Private}, nil
}

// NewIdentityKeyPair builds an identity key pair from a 32-byte private key.
func NewIdentityKeyPair(private []byte) (IdentityKeyPair, error) {
	priv, err := NewPrivateKey(private)
	if err != nil {
		return IdentityKeyPair{}, err
	}
	return IdentityKeyPair{pub: IdentityKey{priv.PublicKey()}, priv: priv}, nil
}

// PublicKey returns the public identity key.
func (p IdentityKeyPair) PublicKey() IdentityKey { return p.pub }

// PrivateKey returns the private key.
func (p IdentityKeyPair) PrivateKey() PrivateKey { return p.priv }

// IsZero reports whether p is the zero value.
func (p IdentityKeyPair) IsZero() bool { return p.priv.IsZero() }

// Sign makes an XEdDSA signature over msg with a random nonce from rand.
func (p IdentityKeyPair) Sign(rand io.Reader, msg []byte) ([]byte, error) {
	return p.priv.Sign(rand, msg)
}

// String redacts the private key.
func (p IdentityKeyPair) String() string {
	return "prekey.IdentityKeyPair(" + p.pub.pub.String() + ", private REDACTED)"
}

// GoString redacts the private key.
func (p IdentityKeyPair) GoString() string { return p.String() }

// GenerateRegistrationID returns a random registration ID in 1..16380, as
// libsignal's KeyHelper does (14 bits, never 0).
func GenerateRegistrationID(rand io.Reader) (uint32, error) {
	if rand == nil {
		rand = crand.Reader
	}
	var b [4]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:])%16380 + 1, nil
}
