package prekey

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/jsonrec"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/proto"
)

// ErrInvalidRecord is returned for a stored record that does not parse.
var ErrInvalidRecord = errors.New("prekey: invalid record")

// PreKeyRecord is a one-time Curve25519 prekey (X3DH §3.1 OPK).
type PreKeyRecord struct {
	ID      uint32
	KeyPair KeyPair
}

// SignedPreKeyRecord is a medium-term signed prekey (X3DH §3.1 SPK); the
// signature is the identity key's XEdDSA signature over the 33-byte public key.
type SignedPreKeyRecord struct {
	ID        uint32
	Timestamp time.Time
	KeyPair   KeyPair
	Signature []byte
}

// KyberPreKeyRecord is a signed KEM prekey (PQXDH §3.2 PQSPK/PQOPK); the
// signature covers the serialized public key, type byte included. A
// last-resort key may be used more than once.
type KyberPreKeyRecord struct {
	ID         uint32
	Timestamp  time.Time
	KeyPair    KEMKeyPair
	Signature  []byte
	LastResort bool
}

// GeneratePreKeys returns count one-time prekeys with IDs start, start+1, …
// wrapping from MaxPreKeyID to 1 as libsignal's KeyHelper does, never 0
// (start 0 is taken as 1). Continue a series with
// GeneratePreKeys(rand, NextPreKeyID(last), n).
func GeneratePreKeys(rand io.Reader, start uint32, count int) ([]PreKeyRecord, error) {
	if count < 0 || count > MaxPreKeyID {
		return nil, fmt.Errorf("prekey: cannot generate %d prekeys", count)
	}
	out := make([]PreKeyRecord, 0, count)
	for i := range count {
		kp, err := curve.GenerateKeyPair(rand)
		if err != nil {
			return nil, err
		}
		out = append(out, PreKeyRecord{ID: preKeyID(start, i), KeyPair: kp})
	}
	return out, nil
}

// GenerateSignedPreKey returns a signed prekey signed by identity.
func GenerateSignedPreKey(rand io.Reader, identity IdentityKeyPair, id uint32, now time.Time) (SignedPreKeyRecord, error) {
	kp, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return SignedPreKeyRecord{}, err
	}
	sig, err := identity.Sign(rand, kp.Public.Bytes())
	if err != nil {
		return SignedPreKeyRecord{}, err
	}
	return SignedPreKeyRecord{ID: id, Timestamp: now, KeyPair: kp, Signature: sig}, nil
}

// GenerateKyberPreKey returns a Kyber-1024 prekey signed by identity.
func GenerateKyberPreKey(rand io.Reader, identity IdentityKeyPair, id uint32, lastResort bool, now time.Time) (KyberPreKeyRecord, error) {
	kp, err := GenerateKEMKeyPair(rand, Kyber1024)
	if err != nil {
		return KyberPreKeyRecord{}, err
	}
	sig, err := identity.Sign(rand, kp.Public.Bytes())
	if err != nil {
		return KyberPreKeyRecord{}, err
	}
	return KyberPreKeyRecord{ID: id, Timestamp: now, KeyPair: kp, Signature: sig, LastResort: lastResort}, nil
}

// Marshal serializes the record (libsignal's PreKeyRecordStructure).
func (r *PreKeyRecord) Marshal() ([]byte, error) {
	return proto.Marshal(&signalpb.PreKeyRecordStructure{
		Id: r.ID, PublicKey: r.KeyPair.Public.Bytes(), PrivateKey: r.KeyPair.Private.Bytes(),
	})
}

// UnmarshalPreKeyRecord parses a stored one-time prekey.
// It also reads go.mau.fi/libsignal's JSON form (records_compat.go).
func UnmarshalPreKeyRecord(b []byte) (*PreKeyRecord, error) {
	if jsonrec.Is(b) {
		return unmarshalMauPreKey(b)
	}
	var pb signalpb.PreKeyRecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	kp, err := keyPairFrom(pb.GetPrivateKey(), pb.GetPublicKey())
	if err != nil {
		return nil, err
	}
	return &PreKeyRecord{ID: pb.GetId(), KeyPair: kp}, nil
}

// Marshal serializes the record (libsignal's SignedPreKeyRecordStructure).
func (r *SignedPreKeyRecord) Marshal() ([]byte, error) {
	return proto.Marshal(&signalpb.SignedPreKeyRecordStructure{
		Id: r.ID, PublicKey: r.KeyPair.Public.Bytes(), PrivateKey: r.KeyPair.Private.Bytes(),
		Signature: r.Signature, Timestamp: uint64(r.Timestamp.UnixMilli()),
	})
}

// UnmarshalSignedPreKeyRecord parses a stored signed prekey.
// It also reads go.mau.fi/libsignal's JSON form (records_compat.go).
func UnmarshalSignedPreKeyRecord(b []byte) (*SignedPreKeyRecord, error) {
	if jsonrec.Is(b) {
		return unmarshalMauSignedPreKey(b)
	}
	var pb signalpb.SignedPreKeyRecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	kp, err := keyPairFrom(pb.GetPrivateKey(), pb.GetPublicKey())
	if err != nil {
		return nil, err
	}
	return &SignedPreKeyRecord{
		ID: pb.GetId(), KeyPair: kp, Signature: pb.GetSignature(),
		Timestamp: time.UnixMilli(int64(pb.GetTimestamp())),
	}, nil
}

// Marshal serializes the record.
func (r *KyberPreKeyRecord) Marshal() ([]byte, error) {
	return proto.Marshal(&signalpb.KyberPreKeyRecordStructure{
		Id: r.ID, PublicKey: r.KeyPair.Public.Bytes(), SecretKey: r.KeyPair.Secret.Bytes(),
		Signature: r.Signature, Timestamp: uint64(r.Timestamp.UnixMilli()), LastResort: r.LastResort,
	})
}

// UnmarshalKyberPreKeyRecord parses a stored Kyber prekey.
func UnmarshalKyberPreKeyRecord(b []byte) (*KyberPreKeyRecord, error) {
	var pb signalpb.KyberPreKeyRecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	sk, err := NewKEMSecretKey(pb.GetSecretKey())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	pk, err := NewKEMPublicKey(pb.GetPublicKey())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	return &KyberPreKeyRecord{
		ID: pb.GetId(), KeyPair: KEMKeyPair{Public: pk, Secret: sk}, Signature: pb.GetSignature(),
		Timestamp: time.UnixMilli(int64(pb.GetTimestamp())), LastResort: pb.GetLastResort(),
	}, nil
}

// MarshalIdentityKeyPair serializes an identity key pair (libsignal's
// IdentityKeyPairStructure).
func MarshalIdentityKeyPair(p IdentityKeyPair) ([]byte, error) {
	return proto.Marshal(&signalpb.IdentityKeyPairStructure{PublicKey: p.pub.Bytes(), PrivateKey: p.priv.Bytes()})
}

// UnmarshalIdentityKeyPair parses a stored identity key pair.
func UnmarshalIdentityKeyPair(b []byte) (IdentityKeyPair, error) {
	var pb signalpb.IdentityKeyPairStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		return IdentityKeyPair{}, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	kp, err := keyPairFrom(pb.GetPrivateKey(), pb.GetPublicKey())
	if err != nil {
		return IdentityKeyPair{}, err
	}
	return IdentityKeyPair{pub: IdentityKey{kp.Public}, priv: kp.Private}, nil
}

func keyPairFrom(private, public []byte) (KeyPair, error) {
	priv, err := curve.NewPrivateKey(private)
	if err != nil {
		return KeyPair{}, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	kp := curve.NewKeyPair(priv)
	if public != nil {
		pub, err := curve.NewPublicKey(fixKey(public))
		if err != nil || !pub.Equal(kp.Public) {
			return KeyPair{}, fmt.Errorf("%w: public key does not match private key", ErrInvalidRecord)
		}
	}
	return kp, nil
}
