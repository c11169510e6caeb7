package prekey

import (
	"errors"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/kdf"
	"github.com/interlock-e2ee/interlock/internal/kem"
	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// Message versions, and so the key agreement used to start a session.
const (
	// Version3 is X3DH with the Double Ratchet: go.mau.fi/libsignal, WhatsApp
	// and Messenger (the `whatsapp` flavour).
	Version3 = 3
	// Version4 is PQXDH (Kyber-1024) with the Double Ratchet: libsignal.
	Version4 = 4
)

var (
	infoX3DH  = []byte("WhisperText")
	infoPQXDH = []byte("WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024")
)

// Errors of the key agreement.
var (
	// ErrNoKyberPreKey: PQXDH was required but the bundle has no Kyber prekey.
	ErrNoKyberPreKey = errors.New("prekey: bundle has no Kyber prekey")
	// ErrUnsupportedVersion: a version other than 3 or 4.
	ErrUnsupportedVersion = errors.New("prekey: unsupported message version")
)

// Bundle is what a server hands out to start a session with a device (X3DH
// §3.2, PQXDH §3.3). Optional parts are absent when their key IsZero.
type Bundle struct {
	RegistrationID        uint32
	DeviceID              uint32
	IdentityKey           IdentityKey
	SignedPreKeyID        uint32
	SignedPreKey          PublicKey
	SignedPreKeySignature []byte
	PreKeyID              uint32
	PreKey                PublicKey // one-time prekey; zero value when absent
	KyberPreKeyID         uint32
	KyberPreKey           KEMPublicKey // zero value when absent
	KyberPreKeySignature  []byte
}

// HasPreKey reports whether the bundle carries a one-time prekey.
func (b *Bundle) HasPreKey() bool { return !b.PreKey.IsZero() }

// HasKyberPreKey reports whether the bundle carries a Kyber prekey.
func (b *Bundle) HasKyberPreKey() bool { return !b.KyberPreKey.IsZero() }

// Verify checks the bundle's identity and the signatures over its signed
// prekey and Kyber prekey (X3DH §3.3, PQXDH §3.3: "Alice verifies the prekey
// signatures and aborts the protocol if verification fails").
func (b *Bundle) Verify() error {
	if b.IdentityKey.IsZero() || b.SignedPreKey.IsZero() {
		return fmt.Errorf("%w: bundle lacks identity or signed prekey", ErrInvalidKey)
	}
	if !b.IdentityKey.VerifySignature(b.SignedPreKey.Bytes(), b.SignedPreKeySignature) && !mutant.On(mutant.SignedPreKeyUnchecked) {
		return fmt.Errorf("%w: signed prekey", ErrInvalidSignature)
	}
	if b.HasKyberPreKey() && !b.IdentityKey.VerifySignature(b.KyberPreKey.Bytes(), b.KyberPreKeySignature) {
		return fmt.Errorf("%w: Kyber prekey", ErrInvalidSignature)
	}
	return nil
}

// Secrets is the output of X3DH or PQXDH: the first root and chain keys of
// the Double Ratchet and, for PQXDH, the key that seeds the SPQR ratchet.
type Secrets struct {
	Version      int
	RootKey      [32]byte
	ChainKey     [32]byte
	PQRatchetKey [32]byte // PQXDH only
}

// String redacts the keys.
func (s Secrets) String() string { return fmt.Sprintf("prekey.Secrets(v%d, REDACTED)", s.Version) }

// Initiation is the initiator's result: the secrets and what the first
// PreKeySignalMessage must carry.
type Initiation struct {
	Secrets
	BaseKey         KeyPair
	KyberCiphertext []byte // serialized with its type byte; PQXDH only
}

// Initiate runs the initiator's side of X3DH (version 3, X3DH §3.3) or PQXDH
// (version 4, PQXDH §3.3) against a verified bundle with a fresh ephemeral
// base key. version 4 needs a Kyber prekey in the bundle.
func Initiate(rand io.Reader, ours IdentityKeyPair, b *Bundle, version int) (*Initiation, error) {
	base, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return nil, err
	}
	return initiateWith(rand, ours, base, b, version)
}

func initiateWith(rand io.Reader, ours IdentityKeyPair, base KeyPair, b *Bundle, version int) (*Initiation, error) {
	if version != Version3 && version != Version4 {
		return nil, ErrUnsupportedVersion
	}
	if version == Version4 {
		if !b.HasKyberPreKey() {
			return nil, ErrNoKyberPreKey
		}
		if b.KyberPreKey.Type() != kem.Kyber1024 {
			return nil, fmt.Errorf("%w: PQXDH needs a Kyber-1024 prekey", ErrInvalidKey)
		}
	}
	ikm := make([]byte, 0, 32*6)
	ikm = appendDiscontinuity(ikm)
	var err error
	for _, dh := range []struct {
		priv curve.PrivateKey
		pub  curve.PublicKey
	}{
		{ours.priv, b.SignedPreKey},
		{base.Private, b.IdentityKey.pub},
		{base.Private, b.SignedPreKey},
	} {
		if ikm, err = appendDH(ikm, dh.priv, dh.pub); err != nil {
			return nil, err
		}
	}
	if b.HasPreKey() {
		if ikm, err = appendDH(ikm, base.Private, b.PreKey); err != nil {
			return nil, err
		}
	}
	res := &Initiation{BaseKey: base}
	if version == Version4 {
		ct, ss, err := b.KyberPreKey.Encapsulate(rand)
		if err != nil {
			return nil, err
		}
		ikm = append(ikm, ss...)
		res.KyberCiphertext = ct
	}
	res.Secrets, err = derive(ikm, version)
	clear(ikm)
	return res, err
}

// Response is what the responder needs to answer a PreKeySignalMessage.
type Response struct {
	Version         int
	Ours            IdentityKeyPair
	SignedPreKey    KeyPair
	OneTimePreKey   *KeyPair      // nil when the message names none
	KyberPreKey     *KEMSecretKey // PQXDH only
	KyberCiphertext []byte        // PQXDH only, with its type byte
	TheirIdentity   IdentityKey
	TheirBaseKey    PublicKey
}

// Respond runs the responder's side of X3DH / PQXDH (X3DH §3.4, PQXDH §3.4).
// The base key must be canonical in both versions: a re-encoded base key
// (the unused top bit of u set, or u ≥ p) gives the same agreement under
// other bytes, so a replayed message would not be recognised by its base key
// (issue #20 item 3). For PQXDH it must also lie in the prime-order subgroup.
func Respond(r *Response) (Secrets, error) {
	if r.Version != Version3 && r.Version != Version4 {
		return Secrets{}, ErrUnsupportedVersion
	}
	if !r.TheirBaseKey.IsCanonical() && !(r.Version == Version3 && mutant.On(mutant.NonCanonicalBaseKey)) {
		return Secrets{}, fmt.Errorf("%w: base key is not canonical", ErrInvalidKey)
	}
	if r.Version == Version4 {
		if r.KyberPreKey == nil || r.KyberCiphertext == nil {
			return Secrets{}, ErrNoKyberPreKey
		}
		if !r.TheirBaseKey.IsTorsionFree() {
			return Secrets{}, fmt.Errorf("%w: base key is not in the prime-order subgroup", ErrInvalidKey)
		}
	}
	ikm := make([]byte, 0, 32*6)
	ikm = appendDiscontinuity(ikm)
	var err error
	for _, dh := range []struct {
		priv curve.PrivateKey
		pub  curve.PublicKey
	}{
		{r.SignedPreKey.Private, r.TheirIdentity.pub},
		{r.Ours.priv, r.TheirBaseKey},
		{r.SignedPreKey.Private, r.TheirBaseKey},
	} {
		if ikm, err = appendDH(ikm, dh.priv, dh.pub); err != nil {
			return Secrets{}, err
		}
	}
	if r.OneTimePreKey != nil {
		if ikm, err = appendDH(ikm, r.OneTimePreKey.Private, r.TheirBaseKey); err != nil {
			return Secrets{}, err
		}
	}
	if r.Version == Version4 {
		ss, err := r.KyberPreKey.Decapsulate(r.KyberCiphertext)
		if err != nil {
			return Secrets{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		ikm = append(ikm, ss...)
	}
	s, err := derive(ikm, r.Version)
	clear(ikm)
	return s, err
}

// appendDiscontinuity prepends 32 0xFF bytes (X3DH §2.2 "F").
func appendDiscontinuity(b []byte) []byte {
	for range 32 {
		b = append(b, 0xFF)
	}
	return b
}

func appendDH(b []byte, priv curve.PrivateKey, pub curve.PublicKey) ([]byte, error) {
	dh, err := priv.ECDH(pub)
	if err != nil {
		return b, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	b = append(b, dh[:]...)
	clear(dh[:])
	return b, nil
}

func derive(ikm []byte, version int) (Secrets, error) {
	s := Secrets{Version: version}
	if version == Version3 {
		var okm [64]byte
		if err := kdf.HKDFInto(okm[:], ikm, nil, infoX3DH); err != nil {
			return Secrets{}, err
		}
		copy(s.RootKey[:], okm[:32])
		copy(s.ChainKey[:], okm[32:])
		clear(okm[:])
		return s, nil
	}
	var okm [96]byte
	if err := kdf.HKDFInto(okm[:], ikm, nil, infoPQXDH); err != nil {
		return Secrets{}, err
	}
	copy(s.RootKey[:], okm[:32])
	copy(s.ChainKey[:], okm[32:64])
	copy(s.PQRatchetKey[:], okm[64:])
	clear(okm[:])
	return s, nil
}
