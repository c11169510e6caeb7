package session

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/prekey"
	"google.golang.org/protobuf/encoding/protowire"
)

// MessageType is the type of a ciphertext, as libsignal's
// CiphertextMessageType and the peer protocol number it: what Encrypt
// returns and Decrypt takes.
type MessageType int

// Message types, as libsignal and the peer protocol number them.
const (
	TypeSignal    MessageType = 2 // SignalMessage ("whisper")
	TypePreKey    MessageType = 3 // PreKeySignalMessage
	TypeSenderKey MessageType = 7 // SenderKeyMessage
	TypePlaintext MessageType = 8 // PlaintextContent
)

// MACSize is the length of a SignalMessage's truncated HMAC-SHA256.
const MACSize = 8

// MaxMessageSize bounds every message this package parses (a PreKeySignalMessage
// with a Kyber ciphertext is about 1.7 KiB plus the payload).
const MaxMessageSize = 16 << 20

// versionByte is what Interlock writes: 0x44 for version 4 as libsignal does;
// 0x33 for version 3 as go.mau.fi/libsignal, WhatsApp and Messenger do (they
// recompute the MAC over '3' and their own encoding).
func versionByte(v int) byte {
	if v == prekey.Version3 {
		return 0x33
	}
	return byte(v<<4 | 4)
}

// SignalMessage is a parsed whisper message: version ‖ protobuf ‖ MAC(8).
type SignalMessage struct {
	Version         int
	RatchetKey      prekey.PublicKey
	Counter         uint32
	PreviousCounter uint32
	Ciphertext      []byte
	PQRatchet       []byte // SPQR message; empty without SPQR
	Addresses       []byte // libsignal ≥ 0.91 address binding
	raw             []byte // the whole serialized message
}

// Bytes returns the serialized message (not a copy; do not modify).
func (m *SignalMessage) Bytes() []byte { return m.raw }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}

// checkVersion reads the high nibble of a version byte (libsignal reads only
// that one); 3 and 4 are the versions this package speaks.
func checkVersion(b byte) (int, error) {
	v := int(b >> 4)
	if v < prekey.Version3 || v > prekey.Version4 {
		return 0, invalid("unsupported version %d", v)
	}
	return v, nil
}

// ParseSignalMessage parses and bounds-checks a SignalMessage without any key;
// the MAC is checked later against the session. Never panics.
func ParseSignalMessage(b []byte) (*SignalMessage, error) {
	if len(b) < 1+MACSize+1 {
		return nil, invalid("signal message too short (%d bytes)", len(b))
	}
	if len(b) > MaxMessageSize {
		return nil, invalid("signal message too long")
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return nil, err
	}
	m := &SignalMessage{Version: v, raw: b}
	body := b[1 : len(b)-MACSize]
	var have uint8
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, invalid("signal message: bad tag")
		}
		body = body[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			var k []byte
			if k, n = protowire.ConsumeBytes(body); n >= 0 {
				m.RatchetKey, err = prekey.NewPublicKey(k)
				if err != nil {
					return nil, invalid("ratchet key: %v", err)
				}
				// Chains are found by the ratchet key's bytes: only the
				// canonical encoding of a point is accepted (issue #20
				// item 3).
				if !m.RatchetKey.IsCanonical() {
					return nil, invalid("ratchet key is not canonical")
				}
				have |= 1
			}
		case (num == 2 || num == 3) && typ == protowire.VarintType:
			var x uint64
			if x, n = protowire.ConsumeVarint(body); n >= 0 {
				if x > 0xFFFFFFFF {
					return nil, invalid("counter overflows 32 bits")
				}
				if num == 2 {
					m.Counter = uint32(x)
					have |= 2
				} else {
					m.PreviousCounter = uint32(x)
				}
			}
		case num == 4 && typ == protowire.BytesType:
			if m.Ciphertext, n = protowire.ConsumeBytes(body); n >= 0 {
				have |= 4
			}
		case num == 5 && typ == protowire.BytesType:
			m.PQRatchet, n = protowire.ConsumeBytes(body)
		case num == 6 && typ == protowire.BytesType:
			m.Addresses, n = protowire.ConsumeBytes(body)
		case num >= 1 && num <= 6:
			return nil, invalid("signal message: field %d has wire type %d", num, typ)
		default:
			n = protowire.ConsumeFieldValue(num, typ, body)
		}
		if n < 0 {
			return nil, invalid("signal message: truncated field %d", num)
		}
		body = body[n:]
	}
	if have != 7 {
		return nil, invalid("signal message lacks a required field")
	}
	if len(m.Ciphertext) == 0 || len(m.Ciphertext)%16 != 0 {
		return nil, invalid("ciphertext length %d", len(m.Ciphertext))
	}
	return m, nil
}

// computeMAC is in hotpath.go.

// verifyMAC checks the message's MAC over the bytes as received.
func (m *SignalMessage) verifyMAC(k *msgKeys, sender, receiver prekey.IdentityKey) bool {
	n := len(m.raw) - MACSize
	if mutant.On(mutant.VersionUnauthentic) {
		// mutant: the MAC checked over the version byte this side would
		// write, not the one received (go.mau.fi/libsignal's defect).
		b := append([]byte{versionByte(m.Version)}, m.raw[1:n]...)
		want := k.computeMAC(sender, receiver, b)
		return macEqual(want[:], m.raw[n:])
	}
	want := k.computeMAC(sender, receiver, m.raw[:n])
	return macEqual(want[:], m.raw[n:])
}

// PreKeySignalMessage is a parsed message that starts a session:
// version ‖ protobuf (no MAC of its own; the inner SignalMessage has one).
type PreKeySignalMessage struct {
	Version         int
	RegistrationID  uint32
	PreKeyID        uint32
	HasPreKeyID     bool
	SignedPreKeyID  uint32
	KyberPreKeyID   uint32
	KyberCiphertext []byte // with its type byte
	BaseKey         prekey.PublicKey
	IdentityKey     prekey.IdentityKey
	Message         *SignalMessage
	raw             []byte
}

// Bytes returns the serialized message (not a copy; do not modify).
func (m *PreKeySignalMessage) Bytes() []byte { return m.raw }

// ParsePreKeySignalMessage parses and bounds-checks a PreKeySignalMessage and
// the SignalMessage inside it. Never panics.
func ParsePreKeySignalMessage(b []byte) (*PreKeySignalMessage, error) {
	if len(b) < 2 {
		return nil, invalid("prekey message too short")
	}
	if len(b) > MaxMessageSize {
		return nil, invalid("prekey message too long")
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return nil, err
	}
	m := &PreKeySignalMessage{Version: v, raw: b}
	body := b[1:]
	var have uint8
	var hasKyberID, hasKyberCT bool
	var inner []byte
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, invalid("prekey message: bad tag")
		}
		body = body[n:]
		switch {
		case (num == 1 || num == 5 || num == 6 || num == 7) && typ == protowire.VarintType:
			var x uint64
			if x, n = protowire.ConsumeVarint(body); n >= 0 {
				if x > 0xFFFFFFFF {
					return nil, invalid("prekey message: field %d overflows 32 bits", num)
				}
				switch num {
				case 1:
					m.PreKeyID, m.HasPreKeyID = uint32(x), true
				case 5:
					m.RegistrationID = uint32(x)
				case 6:
					m.SignedPreKeyID = uint32(x)
					have |= 8
				case 7:
					m.KyberPreKeyID, hasKyberID = uint32(x), true
				}
			}
		case (num == 2 || num == 3 || num == 4 || num == 8) && typ == protowire.BytesType:
			var val []byte
			if val, n = protowire.ConsumeBytes(body); n >= 0 {
				switch num {
				case 2:
					if m.BaseKey, err = prekey.NewPublicKey(val); err != nil {
						return nil, invalid("base key: %v", err)
					}
					// Sessions are found by the base key's bytes: only the
					// canonical encoding is accepted, in version 3 as in 4
					// (issue #20 item 3).
					if !m.BaseKey.IsCanonical() && !(m.Version == prekey.Version3 && mutant.On(mutant.NonCanonicalBaseKey)) {
						return nil, invalid("base key is not canonical")
					}
					have |= 1
				case 3:
					if m.IdentityKey, err = prekey.NewIdentityKey(val); err != nil {
						return nil, invalid("identity key: %v", err)
					}
					have |= 2
				case 4:
					inner = val
					have |= 4
				case 8:
					m.KyberCiphertext, hasKyberCT = val, true
				}
			}
		case num >= 1 && num <= 8:
			return nil, invalid("prekey message: field %d has wire type %d", num, typ)
		default:
			n = protowire.ConsumeFieldValue(num, typ, body)
		}
		if n < 0 {
			return nil, invalid("prekey message: truncated field %d", num)
		}
		body = body[n:]
	}
	if have != 15 {
		return nil, invalid("prekey message lacks a required field")
	}
	if hasKyberID != hasKyberCT {
		return nil, invalid("prekey message: Kyber prekey ID and ciphertext must come together")
	}
	if v == prekey.Version4 && !hasKyberID {
		return nil, invalid("version 4 prekey message without Kyber ciphertext")
	}
	if v == prekey.Version3 && hasKyberID {
		return nil, invalid("version 3 prekey message with Kyber ciphertext")
	}
	if m.Message, err = ParseSignalMessage(inner); err != nil {
		return nil, err
	}
	if m.Message.Version != v {
		return nil, invalid("inner message version %d differs from %d", m.Message.Version, v)
	}
	return m, nil
}

func appendPreKeySignalMessage(dst []byte, version int, regID uint32, p *pendingPreKey, identity prekey.IdentityKey, inner []byte) []byte {
	dst = append(dst, versionByte(version))
	if p.hasPreKeyID {
		dst = protowire.AppendTag(dst, 1, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(p.preKeyID))
	}
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	dst = protowire.AppendVarint(dst, 33)
	dst = p.baseKey.AppendBytes(dst)
	dst = protowire.AppendTag(dst, 3, protowire.BytesType)
	dst = protowire.AppendVarint(dst, 33)
	dst = identity.PublicKey().AppendBytes(dst)
	dst = protowire.AppendTag(dst, 4, protowire.BytesType)
	dst = protowire.AppendBytes(dst, inner)
	dst = protowire.AppendTag(dst, 5, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(regID))
	dst = protowire.AppendTag(dst, 6, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(p.signedPreKeyID))
	if p.kyberCiphertext != nil {
		dst = protowire.AppendTag(dst, 7, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(p.kyberPreKeyID))
		dst = protowire.AppendTag(dst, 8, protowire.BytesType)
		dst = protowire.AppendBytes(dst, p.kyberCiphertext)
	}
	return dst
}
