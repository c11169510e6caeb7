package session

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
	"google.golang.org/protobuf/encoding/protowire"
)

// DecryptionErrorMessage asks the sender of a message that failed to decrypt
// to send it again (libsignal's DecryptionErrorMessage; Signal sends it in a
// PlaintextContent, or inside a sealed-sender envelope). The wire form is the
// protobuf {ratchet_key 1, timestamp 2, device_id 3}.
type DecryptionErrorMessage struct {
	// RatchetKey is the sender ratchet key of the failed 1:1 message, so that
	// its sender can tell whether the session it used is still current; the
	// zero value (see IsZero) for a failed sender-key message.
	RatchetKey prekey.PublicKey
	// Timestamp is the failed message's timestamp (ms since the epoch): the
	// sender looks the message up by it.
	Timestamp uint64
	// DeviceID is the device that sent the failed message.
	DeviceID uint32
	raw      []byte
}

// NewDecryptionErrorMessage builds the request for a message that failed,
// as libsignal's DecryptionErrorMessage::for_original: original is the
// failed message's bytes and typ its type (TypeSignal, TypePreKey: the
// ratchet key is read from it, so it must parse; TypeSenderKey: no ratchet
// key); timestamp and deviceID identify it. TypePlaintext is refused: a
// plaintext message cannot fail to decrypt.
func NewDecryptionErrorMessage(original []byte, typ MessageType, timestamp uint64, deviceID uint32) (*DecryptionErrorMessage, error) {
	m := &DecryptionErrorMessage{Timestamp: timestamp, DeviceID: deviceID}
	switch typ {
	case TypeSignal:
		sm, err := ParseSignalMessage(original)
		if err != nil {
			return nil, err
		}
		m.RatchetKey = sm.RatchetKey
	case TypePreKey:
		pm, err := ParsePreKeySignalMessage(original)
		if err != nil {
			return nil, err
		}
		m.RatchetKey = pm.Message.RatchetKey
	case TypeSenderKey:
	case TypePlaintext:
		return nil, fmt.Errorf("session: a plaintext message is not encrypted and cannot fail to decrypt")
	default:
		return nil, invalid("unknown message type %d", typ)
	}
	m.raw = m.marshal()
	return m, nil
}

// marshal writes the fields in order, as libsignal does: ratchet_key when
// present, timestamp and device_id always.
func (m *DecryptionErrorMessage) marshal() []byte {
	b := make([]byte, 0, 2+33+11+6)
	if !m.RatchetKey.IsZero() {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, 33)
		b = m.RatchetKey.AppendBytes(b)
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, m.Timestamp)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(m.DeviceID))
}

// Bytes returns the serialized message: the bytes it was parsed from, or
// the encoding of its fields (a copy either way).
func (m *DecryptionErrorMessage) Bytes() []byte {
	if m.raw != nil {
		return append([]byte(nil), m.raw...)
	}
	return m.marshal()
}

// ParseDecryptionErrorMessage parses a DecryptionErrorMessage as libsignal
// does: the timestamp is required, the ratchet key optional (a valid
// Curve25519 key when present, ErrInvalidKey otherwise), a missing device
// ID reads as 0. Never panics.
func ParseDecryptionErrorMessage(b []byte) (*DecryptionErrorMessage, error) {
	if len(b) > MaxMessageSize {
		return nil, invalid("decryption error message too long")
	}
	m := &DecryptionErrorMessage{raw: append([]byte(nil), b...)}
	hasTimestamp := false
	for body := b; len(body) > 0; {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, invalid("decryption error message: bad tag")
		}
		body = body[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			var k []byte
			if k, n = protowire.ConsumeBytes(body); n >= 0 {
				var err error
				if m.RatchetKey, err = prekey.NewPublicKey(k); err != nil {
					return nil, fmt.Errorf("%w: ratchet key: %w", ErrInvalidKey, err)
				}
			}
		case num == 2 && typ == protowire.VarintType:
			m.Timestamp, n = protowire.ConsumeVarint(body)
			hasTimestamp = true
		case num == 3 && typ == protowire.VarintType:
			var x uint64
			if x, n = protowire.ConsumeVarint(body); n >= 0 {
				m.DeviceID = uint32(x) // protobuf uint32 semantics: truncate
			}
		case num >= 1 && num <= 3:
			return nil, invalid("decryption error message: field %d has wire type %d", num, typ)
		default:
			n = protowire.ConsumeFieldValue(num, typ, body)
		}
		if n < 0 {
			return nil, invalid("decryption error message: truncated field %d", num)
		}
		body = body[n:]
	}
	if !hasTimestamp {
		return nil, invalid("decryption error message lacks its timestamp")
	}
	return m, nil
}

// PlaintextContent markers (libsignal's PlaintextContent).
const (
	// PlaintextContentByte opens a PlaintextContent message (type 8).
	PlaintextContentByte = 0xC0
	// paddingBoundary ends a Content before its (here empty) padding.
	paddingBoundary = 0x80
)

// PlaintextContent is an unencrypted message of type TypePlaintext:
// 0xC0 ‖ Content ‖ 0x80 (Signal's padding boundary, no zeros). Signal uses it
// only to carry a DecryptionErrorMessage to a device it has no working
// session with (Content field 8, decryptionErrorMessage).
type PlaintextContent struct {
	raw []byte
}

// NewPlaintextContent wraps a DecryptionErrorMessage: 0xC0 ‖
// Content{decryptionErrorMessage 8} ‖ 0x80.
func NewPlaintextContent(m *DecryptionErrorMessage) *PlaintextContent {
	dem := m.Bytes()
	b := make([]byte, 0, 1+2+len(dem)+1)
	b = append(b, PlaintextContentByte)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendBytes(b, dem)
	b = append(b, paddingBoundary)
	return &PlaintextContent{raw: b}
}

// ParsePlaintextContent accepts any bytes that start with 0xC0, as libsignal
// does; the body is interpreted later (DecryptionErrorMessage). Never
// panics.
func ParsePlaintextContent(b []byte) (*PlaintextContent, error) {
	if len(b) == 0 {
		return nil, invalid("plaintext content is empty")
	}
	if b[0] != PlaintextContentByte {
		return nil, invalid("plaintext content starts with 0x%02x, want 0x%02x", b[0], PlaintextContentByte)
	}
	if len(b) > MaxMessageSize {
		return nil, invalid("plaintext content too long")
	}
	return &PlaintextContent{raw: append([]byte(nil), b...)}, nil
}

// Bytes returns the serialized message (a copy).
func (p *PlaintextContent) Bytes() []byte { return append([]byte(nil), p.raw...) }

// Body returns the padded Content after the 0xC0 byte (a copy).
func (p *PlaintextContent) Body() []byte { return append([]byte(nil), p.raw[1:]...) }

// DecryptionErrorMessage unpads the Content (trailing zeros, then 0x80) and
// parses the DecryptionErrorMessage in its field 8. ErrInvalidMessage when
// the padding or the Content is malformed or the field is absent.
func (p *PlaintextContent) DecryptionErrorMessage() (*DecryptionErrorMessage, error) {
	body := p.raw[1:]
	i := len(body) - 1
	for i >= 0 && body[i] == 0 {
		i--
	}
	if i < 0 || body[i] != paddingBoundary {
		return nil, invalid("plaintext content: bad padding")
	}
	body = body[:i]
	var dem []byte
	found := false
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, invalid("plaintext content: bad tag")
		}
		body = body[n:]
		if num == 8 && typ == protowire.BytesType {
			dem, n = protowire.ConsumeBytes(body)
			found = true
		} else {
			n = protowire.ConsumeFieldValue(num, typ, body)
		}
		if n < 0 {
			return nil, invalid("plaintext content: truncated field %d", num)
		}
		body = body[n:]
	}
	if !found {
		return nil, invalid("plaintext content carries no decryption error message")
	}
	return ParseDecryptionErrorMessage(dem)
}
