package prekey

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/curve"
)

// KeyTypeDJB is the type byte that libsignal puts before a Curve25519 public
// key in its 33-byte serialization (the "DJB" key type). WhatsApp's own
// protocol messages and whatsmeow's stores carry the bare 32-byte key without
// it; Bytes always returns the 33-byte form, Raw the 32-byte one.
const KeyTypeDJB byte = curve.KeyType

// MaxPreKeyID is the largest one-time prekey ID. Prekey IDs are 24-bit
// ("Medium" in libsignal's KeyHelper) and never 0: they run from 1 to
// MaxPreKeyID = 2^24-2 and then wrap back to 1, as libsignal's
// generatePreKeys and go.mau.fi/libsignal's keyhelper do. Signed prekey
// and Kyber prekey IDs follow the same rule here.
const MaxPreKeyID = 0xFFFFFE

// NextPreKeyID returns the ID that follows id: id+1, wrapping from
// MaxPreKeyID to 1. NextPreKeyID(0) is 1, so an application that has not
// generated any prekey yet can start from 0.
func NextPreKeyID(id uint32) uint32 { return uint32(uint64(id)%MaxPreKeyID) + 1 }

// preKeyID returns the i-th ID from start: start 0 stands for 1, the first
// valid ID, and the result wraps from MaxPreKeyID to 1. The arithmetic is
// done in 64 bits: the former uint32 start-1 underflowed for start 0 and
// gave 512 (issue #16 item 5).
func preKeyID(start uint32, i int) uint32 {
	s := max(uint64(start), 1)
	return uint32((s-1+uint64(i))%MaxPreKeyID) + 1
}

// NewPublicKeyRaw builds a Curve25519 public key from its bare 32-byte
// u-coordinate, as WhatsApp transmits keys (without libsignal's KeyTypeDJB
// 0x05 prefix). Any 32 bytes are accepted, as X25519 does; the key agreement
// refuses low-order results.
func NewPublicKeyRaw(raw []byte) (PublicKey, error) {
	k, err := curve.NewPublicKeyRaw(raw)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return k, nil
}

// NewIdentityKeyRaw builds an identity key from the bare 32-byte public key
// WhatsApp transmits (ADV device identities, the pairing QR code, prekey
// upload and fetch IQs): the 0x05 type byte of libsignal's serialization is
// implied. IdentityKey.Raw returns the 32 bytes back; Bytes returns the
// 33-byte libsignal form.
func NewIdentityKeyRaw(raw []byte) (IdentityKey, error) {
	k, err := NewPublicKeyRaw(raw)
	if err != nil {
		return IdentityKey{}, err
	}
	return IdentityKey{pub: k}, nil
}

// Raw returns the bare 32-byte public key, without the 0x05 type byte: the
// form WhatsApp transmits.
func (k IdentityKey) Raw() [32]byte { return k.pub.Raw() }

// NewBundle builds the bundle a server hands out for a device from the
// records the device keeps: its registration ID, device ID and identity key,
// the signed prekey, and optionally a one-time prekey and a Kyber prekey
// (nil when absent; a version 3, X3DH-only bundle has no Kyber prekey). The
// private halves of the records are not copied, and the signatures are
// copies. The bundle is not verified: Bundle.Verify (which the session
// package runs) checks the signatures against identity.
func NewBundle(registrationID, deviceID uint32, identity IdentityKey, signed *SignedPreKeyRecord, oneTime *PreKeyRecord, kyber *KyberPreKeyRecord) *Bundle {
	b := &Bundle{RegistrationID: registrationID, DeviceID: deviceID, IdentityKey: identity}
	if signed != nil {
		b.SignedPreKeyID = signed.ID
		b.SignedPreKey = signed.KeyPair.Public
		b.SignedPreKeySignature = append([]byte(nil), signed.Signature...)
	}
	if oneTime != nil {
		b.PreKeyID = oneTime.ID
		b.PreKey = oneTime.KeyPair.Public
	}
	if kyber != nil {
		b.KyberPreKeyID = kyber.ID
		b.KyberPreKey = kyber.KeyPair.Public
		b.KyberPreKeySignature = append([]byte(nil), kyber.Signature...)
	}
	return b
}
