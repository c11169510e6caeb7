package prekey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Records written by other implementations (issue #15 item 1).
//
// UnmarshalPreKeyRecord and UnmarshalSignedPreKeyRecord read, besides
// libsignal's PreKeyRecordStructure and SignedPreKeyRecordStructure,
// go.mau.fi/libsignal's records, which both of its serializers write as JSON
// of its PreKeyStructure {ID, PublicKey, PrivateKey} and
// SignedPreKeyStructure {ID, PublicKey, PrivateKey, Signature, Timestamp
// (milliseconds)}: a record that begins with '{' is read in that form. In
// every form a public key may also be a raw 32-byte key without the 0x05
// type byte; it must match the private key. Marshal writes libsignal's form.

// fixKey returns a raw 32-byte public key in the 33-byte form; anything
// else unchanged.
func fixKey(b []byte) []byte {
	if len(b) == 32 {
		return append([]byte{0x05}, b...)
	}
	return b
}

// decodeMau decodes one go.mau.fi JSON record into v, refusing unknown
// fields and trailing data.
func decodeMau(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: go.mau.fi JSON record: %w", ErrInvalidRecord, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: go.mau.fi JSON record: trailing data", ErrInvalidRecord)
	}
	return nil
}

func unmarshalMauPreKey(b []byte) (*PreKeyRecord, error) {
	var r struct {
		ID         uint32
		PublicKey  []byte
		PrivateKey []byte
	}
	if err := decodeMau(b, &r); err != nil {
		return nil, err
	}
	kp, err := keyPairFrom(r.PrivateKey, r.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("prekey %d: %w", r.ID, err)
	}
	return &PreKeyRecord{ID: r.ID, KeyPair: kp}, nil
}

func unmarshalMauSignedPreKey(b []byte) (*SignedPreKeyRecord, error) {
	var r struct {
		ID         uint32
		PublicKey  []byte
		PrivateKey []byte
		Signature  []byte
		Timestamp  int64
	}
	if err := decodeMau(b, &r); err != nil {
		return nil, err
	}
	kp, err := keyPairFrom(r.PrivateKey, r.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("signed prekey %d: %w", r.ID, err)
	}
	if len(r.Signature) != 64 {
		return nil, fmt.Errorf("%w: signed prekey %d: signature is %d bytes, want 64", ErrInvalidRecord, r.ID, len(r.Signature))
	}
	return &SignedPreKeyRecord{ID: r.ID, KeyPair: kp, Signature: r.Signature, Timestamp: time.UnixMilli(r.Timestamp)}, nil
}
