package group

import (
	"encoding/hex"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"google.golang.org/protobuf/encoding/protowire"
)

// Layout selects the wire layout of sender-key messages.
type Layout int

const (
	// LayoutSignal is libsignal's layout (Signal's clients): the messages
	// carry the distribution UUID and a chain ID.
	//   SenderKeyDistributionMessage {distribution_uuid 1, chain_id 2,
	//   iteration 3, chain_key 4, signing_key 5}
	//   SenderKeyMessage {distribution_uuid 1, chain_id 2, iteration 3,
	//   ciphertext 4}
	LayoutSignal Layout = iota
	// LayoutWhatsApp is the older layout of libsignal-protocol-java, still
	// used by WhatsApp, Messenger and go.mau.fi/libsignal; the application
	// names the group.
	//   SenderKeyDistributionMessage {id 1, iteration 2, chain_key 3,
	//   signing_key 4}
	//   SenderKeyMessage {id 1, iteration 2, ciphertext 3}
	LayoutWhatsApp
)

// String returns "signal" or "whatsapp", the peer protocol's flavour names.
func (l Layout) String() string {
	switch l {
	case LayoutSignal:
		return "signal"
	case LayoutWhatsApp:
		return "whatsapp"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

func (l Layout) valid() bool { return l == LayoutSignal || l == LayoutWhatsApp }

// versionByte is what both layouts write: 0x33.
const versionByte = Version<<4 | Version

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMessage}, args...)...)
}

func checkVersion(b []byte) error {
	if v := b[0] >> 4; v != Version {
		return invalid("sender-key message version %d, want %d", v, Version)
	}
	return nil
}

// SenderKeyMessage is a parsed group message (libsignal's type 7):
// version ‖ protobuf ‖ XEdDSA signature (64) over version ‖ protobuf.
// The fields are read-only views into the message.
type SenderKeyMessage struct {
	Layout Layout
	// DistributionID is the distribution UUID in canonical lowercase form
	// (LayoutSignal); empty in LayoutWhatsApp.
	DistributionID string
	// ChainID is chain_id (LayoutSignal) or id (LayoutWhatsApp).
	ChainID    uint32
	Iteration  uint32
	Ciphertext []byte
	raw        []byte
}

// Bytes returns the serialized message (not a copy; do not modify).
func (m *SenderKeyMessage) Bytes() []byte { return m.raw }

// Signature returns the message's 64-byte signature (not a copy).
func (m *SenderKeyMessage) Signature() []byte { return m.raw[len(m.raw)-SignatureSize:] }

// signedPart is version ‖ protobuf, the bytes the signature covers.
func (m *SenderKeyMessage) signedPart() []byte { return m.raw[:len(m.raw)-SignatureSize] }

// SenderKeyDistributionMessage gives a group member the sender's chain:
// version ‖ protobuf, unsigned (it travels inside an authenticated 1:1
// message). The fields are read-only views into the message.
type SenderKeyDistributionMessage struct {
	Layout Layout
	// DistributionID is the distribution UUID in canonical lowercase form
	// (LayoutSignal); empty in LayoutWhatsApp.
	DistributionID string
	ChainID        uint32
	Iteration      uint32
	ChainKey       []byte // 32 bytes
	SigningKey     curve.PublicKey
	raw            []byte
}

// Bytes returns the serialized message (not a copy; do not modify).
func (m *SenderKeyDistributionMessage) Bytes() []byte { return m.raw }

// field numbers per layout.
type fieldNums struct {
	uuid, chain, iter, cipher, chainKey, signing protowire.Number
}

var (
	signalFields   = fieldNums{uuid: 1, chain: 2, iter: 3, cipher: 4, chainKey: 4, signing: 5}
	whatsAppFields = fieldNums{uuid: 0, chain: 1, iter: 2, cipher: 3, chainKey: 3, signing: 4}
)

func (l Layout) fields() fieldNums {
	if l == LayoutWhatsApp {
		return whatsAppFields
	}
	return signalFields
}

// protoFields is the result of a strict single pass over a body.
type protoFields struct {
	uuid, bytesA, bytesB []byte // bytesA: ciphertext or chain key; bytesB: signing key
	chain, iter          uint32
	have                 uint8 // bit 0 uuid, 1 chain, 2 iter, 3 bytesA, 4 bytesB
}

// scan reads a body where fields is the layout's numbering; dist reports
// whether bytesB (the signing key) is expected. Known fields with the wrong
// wire type are rejected (that is what keeps the layouts unambiguous);
// unknown fields are skipped.
func scan(body []byte, f fieldNums, dist bool, what string) (*protoFields, error) {
	var p protoFields
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, invalid("%s: bad tag", what)
		}
		body = body[n:]
		isBytes := typ == protowire.BytesType
		isVarint := typ == protowire.VarintType
		switch {
		case f.uuid != 0 && num == f.uuid:
			if !isBytes {
				return nil, invalid("%s: field %d has wire type %d", what, num, typ)
			}
			p.uuid, n = protowire.ConsumeBytes(body)
			p.have |= 1
		case num == f.chain || num == f.iter:
			if !isVarint {
				return nil, invalid("%s: field %d has wire type %d", what, num, typ)
			}
			var x uint64
			if x, n = protowire.ConsumeVarint(body); n >= 0 && x > 0xFFFFFFFF {
				return nil, invalid("%s: field %d overflows 32 bits", what, num)
			}
			if num == f.chain {
				p.chain, p.have = uint32(x), p.have|2
			} else {
				p.iter, p.have = uint32(x), p.have|4
			}
		case num == f.cipher: // == chainKey
			if !isBytes {
				return nil, invalid("%s: field %d has wire type %d", what, num, typ)
			}
			p.bytesA, n = protowire.ConsumeBytes(body)
			p.have |= 8
		case dist && num == f.signing:
			if !isBytes {
				return nil, invalid("%s: field %d has wire type %d", what, num, typ)
			}
			p.bytesB, n = protowire.ConsumeBytes(body)
			p.have |= 16
		default:
			n = protowire.ConsumeFieldValue(num, typ, body)
		}
		if n < 0 {
			return nil, invalid("%s: truncated field %d", what, num)
		}
		body = body[n:]
	}
	return &p, nil
}

// ParseSenderKeyMessage parses and bounds-checks a SenderKeyMessage in the
// given layout. The signature is checked later, against the sender's state.
// All fields are required in LayoutSignal (as libsignal requires); in
// LayoutWhatsApp a missing id or iteration reads as 0 (go.mau.fi always
// writes both). Never panics; the message keeps a reference to b.
func ParseSenderKeyMessage(b []byte, layout Layout) (*SenderKeyMessage, error) {
	if !layout.valid() {
		return nil, fmt.Errorf("group: unknown layout %d", int(layout))
	}
	if len(b) < 1+SignatureSize+1 {
		return nil, invalid("sender-key message too short (%d bytes)", len(b))
	}
	if len(b) > MaxMessageSize {
		return nil, invalid("sender-key message too long")
	}
	if err := checkVersion(b); err != nil {
		return nil, err
	}
	p, err := scan(b[1:len(b)-SignatureSize], layout.fields(), false, "sender-key message")
	if err != nil {
		return nil, err
	}
	m := &SenderKeyMessage{Layout: layout, ChainID: p.chain, Iteration: p.iter, Ciphertext: p.bytesA, raw: b}
	if layout == LayoutSignal {
		if p.have != 1|2|4|8 {
			return nil, invalid("sender-key message lacks a required field")
		}
		if len(p.uuid) != 16 {
			return nil, invalid("distribution UUID is %d bytes, want 16", len(p.uuid))
		}
		m.DistributionID = formatUUID(p.uuid)
	} else if p.have&8 == 0 {
		return nil, invalid("sender-key message lacks its ciphertext")
	}
	if len(m.Ciphertext) == 0 || len(m.Ciphertext)%16 != 0 {
		return nil, invalid("ciphertext length %d", len(m.Ciphertext))
	}
	return m, nil
}

// ParseSenderKeyDistributionMessage parses a SenderKeyDistributionMessage in
// the given layout: every field is required in LayoutSignal; in
// LayoutWhatsApp a missing id or iteration reads as 0. The chain key must be
// 32 bytes and the signing key a valid Curve25519 key (ErrInvalidKey
// otherwise). Never panics; the message keeps a reference to b.
func ParseSenderKeyDistributionMessage(b []byte, layout Layout) (*SenderKeyDistributionMessage, error) {
	if !layout.valid() {
		return nil, fmt.Errorf("group: unknown layout %d", int(layout))
	}
	if len(b) < 2 {
		return nil, invalid("distribution message too short (%d bytes)", len(b))
	}
	if len(b) > MaxMessageSize {
		return nil, invalid("distribution message too long")
	}
	if err := checkVersion(b); err != nil {
		return nil, err
	}
	p, err := scan(b[1:], layout.fields(), true, "distribution message")
	if err != nil {
		return nil, err
	}
	m := &SenderKeyDistributionMessage{Layout: layout, ChainID: p.chain, Iteration: p.iter, ChainKey: p.bytesA, raw: b}
	if layout == LayoutSignal {
		if p.have != 1|2|4|8|16 {
			return nil, invalid("distribution message lacks a required field")
		}
		if len(p.uuid) != 16 {
			return nil, invalid("distribution UUID is %d bytes, want 16", len(p.uuid))
		}
		m.DistributionID = formatUUID(p.uuid)
	} else if p.have&(8|16) != 8|16 {
		return nil, invalid("distribution message lacks its chain or signing key")
	}
	if len(m.ChainKey) != ChainKeySize {
		return nil, invalid("chain key is %d bytes, want %d", len(m.ChainKey), ChainKeySize)
	}
	if m.SigningKey, err = curve.NewPublicKey(p.bytesB); err != nil {
		return nil, fmt.Errorf("%w: signing key: %w", ErrInvalidKey, err)
	}
	return m, nil
}

// ParseAnySenderKeyMessage parses a SenderKeyMessage in whichever layout it
// is written. The layouts cannot be confused: field 3 is a varint
// (iteration) in LayoutSignal and bytes (ciphertext) in LayoutWhatsApp, and
// both require it. Never panics.
func ParseAnySenderKeyMessage(b []byte) (*SenderKeyMessage, error) {
	m, err := ParseSenderKeyMessage(b, LayoutSignal)
	if err == nil {
		return m, nil
	}
	if m, err2 := ParseSenderKeyMessage(b, LayoutWhatsApp); err2 == nil {
		return m, nil
	} else if len(b) > 1+SignatureSize && !firstFieldIsBytes(b[1:len(b)-SignatureSize]) {
		return nil, err2
	}
	return nil, err
}

// ParseAnySenderKeyDistributionMessage parses a distribution message in
// whichever layout it is written (field 3 is a varint in LayoutSignal and
// the 32-byte chain key in LayoutWhatsApp). Never panics.
func ParseAnySenderKeyDistributionMessage(b []byte) (*SenderKeyDistributionMessage, error) {
	m, err := ParseSenderKeyDistributionMessage(b, LayoutSignal)
	if err == nil {
		return m, nil
	}
	if m, err2 := ParseSenderKeyDistributionMessage(b, LayoutWhatsApp); err2 == nil {
		return m, nil
	} else if len(b) > 1 && !firstFieldIsBytes(b[1:]) {
		return nil, err2
	}
	return nil, err
}

// firstFieldIsBytes tells which layout's error to report: LayoutSignal
// messages start with the distribution UUID (bytes), LayoutWhatsApp ones
// with the id (varint).
func firstFieldIsBytes(body []byte) bool {
	_, typ, n := protowire.ConsumeTag(body)
	return n > 0 && typ == protowire.BytesType
}

// appendHeader writes the fields before the ciphertext / chain key.
func appendHeader(dst []byte, layout Layout, uuid *[16]byte, chainID, iteration uint32) []byte {
	f := layout.fields()
	if layout == LayoutSignal {
		dst = protowire.AppendTag(dst, f.uuid, protowire.BytesType)
		dst = protowire.AppendBytes(dst, uuid[:])
	}
	dst = protowire.AppendTag(dst, f.chain, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(chainID))
	dst = protowire.AppendTag(dst, f.iter, protowire.VarintType)
	return protowire.AppendVarint(dst, uint64(iteration))
}

// appendMessageBody writes version ‖ protobuf of a SenderKeyMessage: fields
// in order, chain ID and iteration always present (the encoding
// go.mau.fi/libsignal re-creates to verify the signature; libsignal writes
// the same).
func appendMessageBody(dst []byte, layout Layout, uuid *[16]byte, chainID, iteration uint32, ciphertext []byte) []byte {
	dst = append(dst, versionByte)
	dst = appendHeader(dst, layout, uuid, chainID, iteration)
	dst = protowire.AppendTag(dst, layout.fields().cipher, protowire.BytesType)
	return protowire.AppendBytes(dst, ciphertext)
}

// marshalDistribution writes a SenderKeyDistributionMessage.
func marshalDistribution(layout Layout, uuid *[16]byte, chainID, iteration uint32, chainKey []byte, signing curve.PublicKey) []byte {
	f := layout.fields()
	dst := make([]byte, 0, 1+18+12+34+35)
	dst = append(dst, versionByte)
	dst = appendHeader(dst, layout, uuid, chainID, iteration)
	dst = protowire.AppendTag(dst, f.chainKey, protowire.BytesType)
	dst = protowire.AppendBytes(dst, chainKey)
	dst = protowire.AppendTag(dst, f.signing, protowire.BytesType)
	dst = protowire.AppendVarint(dst, curve.PublicKeySize)
	return signing.AppendBytes(dst)
}

// parseUUID reads a UUID in the 8-4-4-4-12 hex form (either case).
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, false
	}
	return u, true
}

// formatUUID writes 16 bytes in canonical lowercase 8-4-4-4-12 form.
func formatUUID(b []byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
