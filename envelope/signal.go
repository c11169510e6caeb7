package envelope

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/proto"
)

// PlaintextContentMarker starts a PLAINTEXT_CONTENT body (libsignal's
// PlaintextContent): 0xC0 ‖ Content ‖ 0x80.
const PlaintextContentMarker = 0xC0

// EnvelopeType maps a session message type to the Signal Envelope type that
// carries it: TypeSignal → DOUBLE_RATCHET, TypePreKey → PREKEY_MESSAGE,
// TypePlaintext → PLAINTEXT_CONTENT. Sender-key messages travel sealed
// (UNIDENTIFIED_SENDER) and have no plain envelope type.
func EnvelopeType(ciphertextType int) (signalpb.Envelope_Type, error) {
	switch ciphertextType {
	case session.TypeSignal:
		return signalpb.Envelope_DOUBLE_RATCHET, nil
	case session.TypePreKey:
		return signalpb.Envelope_PREKEY_MESSAGE, nil
	case session.TypePlaintext:
		return signalpb.Envelope_PLAINTEXT_CONTENT, nil
	}
	return 0, invalid("no plain envelope type for message type %d", ciphertextType)
}

// CiphertextType is the inverse of EnvelopeType. UNIDENTIFIED_SENDER,
// SERVER_DELIVERY_RECEIPT and unknown types have no session message type.
func CiphertextType(t signalpb.Envelope_Type) (int, error) {
	switch t {
	case signalpb.Envelope_DOUBLE_RATCHET:
		return session.TypeSignal, nil
	case signalpb.Envelope_PREKEY_MESSAGE:
		return session.TypePreKey, nil
	case signalpb.Envelope_PLAINTEXT_CONTENT:
		return session.TypePlaintext, nil
	}
	return 0, invalid("envelope type %v carries no session message", t)
}

// ParseEnvelope parses a serialized Envelope.
func ParseEnvelope(b []byte) (*signalpb.Envelope, error) {
	if len(b) > session.MaxMessageSize {
		return nil, invalid("envelope of %d bytes", len(b))
	}
	e := new(signalpb.Envelope)
	if err := proto.Unmarshal(b, e); err != nil {
		return nil, invalid("envelope: %v", err)
	}
	return e, nil
}

// ParseContent unpads (UnpadSignal) and parses a decrypted Content.
func ParseContent(padded []byte) (*signalpb.Content, error) {
	b, err := UnpadSignal(padded)
	if err != nil {
		return nil, err
	}
	c := new(signalpb.Content)
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, invalid("content: %v", err)
	}
	return c, nil
}

// Sender returns the address an envelope names as its source: the service ID
// string (or its binary form: 16 bytes ACI, 0x01 ‖ 16 bytes PNI) and device.
func Sender(e *signalpb.Envelope) (session.Address, error) {
	name := e.GetSourceServiceId()
	if name == "" && e.SourceServiceIdBinary != nil {
		var err error
		if name, err = ServiceIDString(e.SourceServiceIdBinary); err != nil {
			return session.Address{}, err
		}
	}
	if name == "" || e.GetSourceDeviceId() == 0 {
		return session.Address{}, invalid("envelope has no source")
	}
	return session.Address{Name: name, DeviceID: e.GetSourceDeviceId()}, nil
}

// ServiceIDString turns a binary service ID into its string form: an ACI is
// 16 bytes and prints as a lower-case UUID; a PNI is 0x01 ‖ 16 bytes and
// prints as "PNI:" ‖ UUID.
func ServiceIDString(b []byte) (string, error) {
	prefix := ""
	switch {
	case len(b) == 16:
	case len(b) == 17 && b[0] == 0x00:
		b = b[1:]
	case len(b) == 17 && b[0] == 0x01:
		prefix, b = "PNI:", b[1:]
	default:
		return "", invalid("service ID of %d bytes", len(b))
	}
	return fmt.Sprintf("%s%x-%x-%x-%x-%x", prefix, b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// Seal pads content, encrypts it for to with c and wraps the ciphertext in
// the Envelope the server would deliver to to: type DOUBLE_RATCHET or
// PREKEY_MESSAGE, source from, destination to.Name, clientTimestamp
// timestamp (ms).
func Seal(ctx context.Context, c *session.Cipher, from, to session.Address, content *signalpb.Content, timestamp uint64) ([]byte, error) {
	body, err := proto.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("envelope: marshal content: %w", err)
	}
	typ, ct, err := c.Encrypt(ctx, to, PadSignal(body))
	if err != nil {
		return nil, err
	}
	return wrap(typ, ct, from, to, timestamp)
}

// SealPlaintextContent wraps an unencrypted Content (only a
// decryptionErrorMessage is meant to travel this way) in a PLAINTEXT_CONTENT
// envelope: 0xC0 ‖ Content ‖ 0x80.
func SealPlaintextContent(from, to session.Address, content *signalpb.Content, timestamp uint64) ([]byte, error) {
	body, err := proto.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("envelope: marshal content: %w", err)
	}
	pc := append(append([]byte{PlaintextContentMarker}, body...), 0x80)
	return wrap(session.TypePlaintext, pc, from, to, timestamp)
}

func wrap(typ int, content []byte, from, to session.Address, timestamp uint64) ([]byte, error) {
	et, err := EnvelopeType(typ)
	if err != nil {
		return nil, err
	}
	e := &signalpb.Envelope{
		Type:                 et.Enum(),
		SourceServiceId:      proto.String(from.Name),
		SourceDeviceId:       proto.Uint32(from.DeviceID),
		DestinationServiceId: proto.String(to.Name),
		ClientTimestamp:      proto.Uint64(timestamp),
		Content:              content,
	}
	return proto.Marshal(e)
}

// Open parses a plain (non-sealed) envelope, decrypts its content with c
// from the envelope's source, and returns the source and the unpadded
// Content. PLAINTEXT_CONTENT envelopes are returned without decryption.
// Errors from the session (ErrDuplicateMessage, ErrUntrustedIdentity, …) are
// returned as they are; malformed bytes wrap session.ErrInvalidMessage.
func Open(ctx context.Context, c *session.Cipher, envelope []byte) (session.Address, *signalpb.Content, error) {
	e, err := ParseEnvelope(envelope)
	if err != nil {
		return session.Address{}, nil, err
	}
	from, err := Sender(e)
	if err != nil {
		return session.Address{}, nil, err
	}
	typ, err := CiphertextType(e.GetType())
	if err != nil {
		return from, nil, err
	}
	if typ == session.TypePlaintext {
		body := e.GetContent()
		if len(body) == 0 || body[0] != PlaintextContentMarker {
			return from, nil, invalid("plaintext content without the 0xC0 marker")
		}
		content, err := ParseContent(body[1:])
		return from, content, err
	}
	pt, err := c.Decrypt(ctx, from, typ, e.GetContent())
	if err != nil {
		return from, nil, err
	}
	content, err := ParseContent(pt)
	return from, content, err
}
