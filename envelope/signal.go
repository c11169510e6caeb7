package envelope

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
)

// PlaintextContentMarker starts a PLAINTEXT_CONTENT body (libsignal's
// PlaintextContent): 0xC0 ‖ Content ‖ 0x80.
const PlaintextContentMarker = 0xC0

// EnvelopeTypeOf maps a session message type to the Signal Envelope type
// that carries it: TypeSignal → TypeDoubleRatchet, TypePreKey →
// TypePreKeyMessage, TypePlaintext → TypePlaintextContent. Sender-key
// messages travel sealed (TypeUnidentifiedSender) and have no plain envelope
// type.
func EnvelopeTypeOf(ciphertextType session.MessageType) (EnvelopeType, error) {
	switch ciphertextType {
	case session.TypeSignal:
		return TypeDoubleRatchet, nil
	case session.TypePreKey:
		return TypePreKeyMessage, nil
	case session.TypePlaintext:
		return TypePlaintextContent, nil
	}
	return 0, invalid("no plain envelope type for message type %d", ciphertextType)
}

// CiphertextType is the inverse of EnvelopeTypeOf. TypeUnidentifiedSender,
// TypeServerDeliveryReceipt and unknown types have no session message type.
func CiphertextType(t EnvelopeType) (session.MessageType, error) {
	switch t {
	case TypeDoubleRatchet:
		return session.TypeSignal, nil
	case TypePreKeyMessage:
		return session.TypePreKey, nil
	case TypePlaintextContent:
		return session.TypePlaintext, nil
	}
	return 0, invalid("envelope type %v carries no session message", t)
}

// ParseEnvelope parses a serialized Envelope.
func ParseEnvelope(b []byte) (*Envelope, error) {
	pb := new(signalpb.Envelope)
	if err := unmarshal("envelope", b, pb); err != nil {
		return nil, err
	}
	return envelopeFromPB(pb), nil
}

// ParseContent unpads (UnpadSignal) and parses a decrypted Content.
func ParseContent(padded []byte) (*Content, error) {
	b, err := UnpadSignal(padded)
	if err != nil {
		return nil, err
	}
	pb := new(signalpb.Content)
	if err := unmarshal("content", b, pb); err != nil {
		return nil, err
	}
	return contentFromPB(pb), nil
}

// Sender returns the address an envelope names as its source: the service ID
// string (or its binary form: 16 bytes ACI, 0x01 ‖ 16 bytes PNI) and device.
func Sender(e *Envelope) (session.Address, error) {
	name := e.SourceServiceID
	if name == "" && e.SourceServiceIDBinary != nil {
		var err error
		if name, err = ServiceIDString(e.SourceServiceIDBinary); err != nil {
			return session.Address{}, err
		}
	}
	if name == "" || e.SourceDevice == 0 {
		return session.Address{}, invalid("envelope has no source")
	}
	return session.Address{Name: name, DeviceID: e.SourceDevice}, nil
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

// Seal pads content (PadSignal), encrypts it for to with c and wraps the
// ciphertext in the Envelope the server would deliver to to: type
// TypeDoubleRatchet or TypePreKeyMessage, source from, destination to.Name,
// clientTimestamp timestamp (ms; the DataMessage's Timestamp), urgent.
func Seal(ctx context.Context, c *session.Cipher, from, to session.Address, content *Content, timestamp uint64) ([]byte, error) {
	body, err := content.Marshal()
	if err != nil {
		return nil, err
	}
	typ, ct, err := c.Encrypt(ctx, to, PadSignal(body))
	if err != nil {
		return nil, err
	}
	return wrap(typ, ct, from, to, timestamp)
}

// SealPlaintextContent wraps an unencrypted Content in a
// TypePlaintextContent envelope: 0xC0 ‖ Content ‖ 0x80, libsignal's
// PlaintextContent. As in libsignal, which builds a PlaintextContent only
// from a DecryptionErrorMessage, content must hold a DecryptionErrorMessage
// that parses and nothing else; any other content is refused, since it
// would travel unencrypted and receivers refuse it (ParsePlaintextContent).
func SealPlaintextContent(from, to session.Address, content *Content, timestamp uint64) ([]byte, error) {
	if content == nil || content.DecryptionErrorMessage == nil || content.DataMessage != nil || content.Null != nil ||
		content.Receipt != nil || content.Typing != nil || content.SenderKeyDistributionMessage != nil || len(content.Unknown) != 0 {
		return nil, fmt.Errorf("envelope: only a lone DecryptionErrorMessage may travel as plaintext content")
	}
	body, err := content.Marshal()
	if err != nil {
		return nil, err
	}
	pc := append(append([]byte{PlaintextContentMarker}, body...), 0x80)
	if _, err := ParsePlaintextContent(pc); err != nil {
		return nil, err
	}
	return wrap(session.TypePlaintext, pc, from, to, timestamp)
}

func wrap(typ session.MessageType, content []byte, from, to session.Address, timestamp uint64) ([]byte, error) {
	et, err := EnvelopeTypeOf(typ)
	if err != nil {
		return nil, err
	}
	e := &Envelope{
		Type:                 et,
		SourceServiceID:      from.Name,
		SourceDevice:         from.DeviceID,
		DestinationServiceID: to.Name,
		ClientTimestamp:      timestamp,
		Content:              nonNil(content),
		Urgent:               true,
	}
	return e.Marshal()
}

// Open parses a plain (non-sealed) envelope, decrypts its content with c
// from the envelope's source, and returns the source and the unpadded
// Content. A Content comes out of Open only after the session has decrypted
// it and checked its MAC, that is, authenticated it as from the returned
// address's session.
//
// A TypePlaintextContent envelope is not encrypted, so Open returns
// ErrUnauthenticatedContent (which wraps session.ErrInvalidMessage) and no
// Content, whatever it carries (issue #20 item 4: a server could otherwise
// inject a DataMessage as any contact). The one thing Signal sends this way,
// a DecryptionErrorMessage, is read with OpenPlaintextContent:
//
//	from, content, err := envelope.Open(ctx, c, env)
//	if errors.Is(err, envelope.ErrUnauthenticatedContent) {
//		req, err := envelope.OpenPlaintextContent(env) // a resend request, unauthenticated
//		…
//	}
//
// Errors from the session (ErrDuplicateMessage, ErrUntrustedIdentity, …) are
// returned as they are; malformed bytes wrap session.ErrInvalidMessage.
func Open(ctx context.Context, c *session.Cipher, envelope []byte) (session.Address, *Content, error) {
	e, err := ParseEnvelope(envelope)
	if err != nil {
		return session.Address{}, nil, err
	}
	from, err := Sender(e)
	if err != nil {
		return session.Address{}, nil, err
	}
	typ, err := CiphertextType(e.Type)
	if err != nil {
		return from, nil, err
	}
	if typ == session.TypePlaintext {
		return from, nil, ErrUnauthenticatedContent
	}
	if c == nil {
		return from, nil, fmt.Errorf("envelope: a %v envelope needs a cipher", e.Type)
	}
	pt, err := c.Decrypt(ctx, from, typ, e.Content)
	if err != nil {
		return from, nil, err
	}
	content, err := ParseContent(pt)
	return from, content, err
}
