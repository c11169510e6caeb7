package sealedsender

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/internal/kdf"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender/internal/gcmsiv"
	"google.golang.org/protobuf/encoding/protowire"
)

// Sealed sender v2 (docs/wire-formats.md#version-2; libsignal's
// sealed_sender_multi_recipient_encrypt): one AES-256-GCM-SIV payload for
// every recipient, and per recipient 48 bytes of key material.
var (
	labelR        = []byte("Sealed Sender v2: r (2023-08)")
	labelK        = []byte("Sealed Sender v2: K")
	labelDH       = []byte("Sealed Sender v2: DH")
	labelDHSender = []byte("Sealed Sender v2: DH-sender")
)

const (
	v2MessageKeySize = 32 // M and C
	v2AuthTagSize    = 16 // AT
	v2PublicKeySize  = 32 // E.pub, without the type byte
	v2KeyMaterial    = v2MessageKeySize + v2AuthTagSize
	// RegistrationIDMask: registration IDs fit in 14 bits.
	RegistrationIDMask = 0x3FFF
	hasMoreDevices     = 0x8000
)

// Device is one device of a v2 recipient.
type Device struct {
	ID             uint32 // 1–127
	RegistrationID uint32 // 0–0x3FFF, from the session with that device
}

// Recipient is one account a v2 message goes to: its service ID, the
// devices to deliver to (at least one) and its identity key.
type Recipient struct {
	ServiceID   ServiceID
	Devices     []Device
	IdentityKey prekey.IdentityKey
}

// v2Derived holds the keys derived from M.
type v2Derived struct {
	e prekey.KeyPair
	k [32]byte
}

func deriveFromM(m []byte) (v2Derived, error) {
	var d v2Derived
	r, err := kdf.HKDF(m, nil, labelR, 32)
	if err != nil {
		return d, err
	}
	priv, err := prekey.NewPrivateKey(r) // clamps
	clear(r)
	if err != nil {
		return d, err
	}
	d.e = prekey.KeyPair{Private: priv, Public: priv.PublicKey()}
	if err := kdf.HKDFInto(d.k[:], m, nil, labelK); err != nil {
		return d, err
	}
	return d, nil
}

// xorMessageKey computes C = HKDF(DH(E, R) ‖ E.pub ‖ R, "…DH", 32) ⊕ in;
// with the roles swapped it recovers M from C.
func xorMessageKey(priv prekey.PrivateKey, pub prekey.PublicKey, epub, rpub prekey.PublicKey, in []byte) ([]byte, error) {
	dh, err := priv.ECDH(pub)
	if err != nil {
		return nil, invalid("v2 agreement: %v", err)
	}
	ikm := make([]byte, 0, 32+66)
	ikm = append(ikm, dh[:]...)
	ikm = epub.AppendBytes(ikm)
	ikm = rpub.AppendBytes(ikm)
	clear(dh[:])
	out, err := kdf.HKDF(ikm, nil, labelDH, v2MessageKeySize)
	clear(ikm)
	if err != nil {
		return nil, err
	}
	subtle.XORBytes(out, out, in)
	return out, nil
}

// authTag computes AT = HKDF(DH(S, R) ‖ E.pub ‖ C ‖ S ‖ R, "…DH-sender", 16).
func authTag(priv prekey.PrivateKey, pub prekey.PublicKey, epub prekey.PublicKey, c []byte, spub, rpub prekey.PublicKey) ([]byte, error) {
	dh, err := priv.ECDH(pub)
	if err != nil {
		return nil, invalid("v2 sender agreement: %v", err)
	}
	ikm := make([]byte, 0, 32+33+32+66)
	ikm = append(ikm, dh[:]...)
	ikm = epub.AppendBytes(ikm)
	ikm = append(ikm, c...)
	ikm = spub.AppendBytes(ikm)
	ikm = rpub.AppendBytes(ikm)
	clear(dh[:])
	out, err := kdf.HKDF(ikm, nil, labelDHSender, v2AuthTagSize)
	clear(ikm)
	return out, err
}

// EncryptMultiRecipient seals content once for many recipients with sealed
// sender v2 and returns the message for the server:
// 0x23 ‖ varint count ‖ per recipient {service ID (17) ‖ devices {ID (1) ‖
// u16 BE (bit 15 = more, low 14 bits = registration ID)} ‖ C (32) ‖ AT (16)},
// then per excluded service ID {service ID ‖ 0x00}, then E.pub (32) ‖
// AES-256-GCM-SIV(K, zero nonce, content) ‖ tag. The server splits it with
// ParseSentMessage / SplitForRecipient. excluded lists accounts the server
// should know the message skips (libsignal's excluded_recipients). A nil
// rand means crypto/rand.Reader.
func EncryptMultiRecipient(rnd io.Reader, recipients []Recipient, excluded []ServiceID, sender prekey.IdentityKeyPair, content *UnidentifiedSenderMessageContent) ([]byte, error) {
	if content == nil || sender.IsZero() {
		return nil, wrap(ErrInvalidArgument, "missing content or key")
	}
	if !content.cert.sender.IdentityKey.Equal(sender.PublicKey()) {
		return nil, wrap(ErrInvalidArgument, "the sender certificate is for another identity key")
	}
	return sealV2(rnd, recipients, excluded, sender, content.raw)
}

// sealV2 is EncryptMultiRecipient after the content checks (tests use it to
// forge).
func sealV2(rnd io.Reader, recipients []Recipient, excluded []ServiceID, sender prekey.IdentityKeyPair, content []byte) ([]byte, error) {
	seen := make(map[ServiceID]bool, len(recipients)+len(excluded))
	size := 1 + binary.MaxVarintLen64 + v2PublicKeySize + len(content) + gcmsiv.TagSize
	for _, r := range recipients {
		if seen[r.ServiceID] {
			return nil, wrap(ErrInvalidArgument, "recipient %s listed twice", r.ServiceID)
		}
		seen[r.ServiceID] = true
		if len(r.Devices) == 0 {
			return nil, wrap(ErrInvalidArgument, "recipient %s has no devices", r.ServiceID)
		}
		if r.IdentityKey.IsZero() {
			return nil, wrap(ErrInvalidArgument, "recipient %s has no identity key", r.ServiceID)
		}
		for _, d := range r.Devices {
			if d.ID < 1 || d.ID > MaxDeviceID {
				return nil, wrap(ErrInvalidArgument, "recipient %s: device ID %d", r.ServiceID, d.ID)
			}
			if d.RegistrationID&^RegistrationIDMask != 0 {
				return nil, wrap(ErrInvalidArgument, "recipient %s.%d: registration ID %d over 14 bits", r.ServiceID, d.ID, d.RegistrationID)
			}
		}
		size += ServiceIDSize + 3*len(r.Devices) + v2KeyMaterial
	}
	for _, x := range excluded {
		if seen[x] {
			return nil, wrap(ErrInvalidArgument, "%s listed twice", x)
		}
		seen[x] = true
		size += ServiceIDSize + 1
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	m := make([]byte, v2MessageKeySize)
	if _, err := io.ReadFull(rnd, m); err != nil {
		return nil, fmt.Errorf("sealedsender: reading randomness: %w", err)
	}
	defer clear(m)
	keys, err := deriveFromM(m)
	if err != nil {
		return nil, err
	}
	defer clear(keys.k[:])
	aead, err := gcmsiv.New(keys.k[:])
	if err != nil {
		return nil, err
	}

	out := make([]byte, 0, size)
	out = append(out, VersionV2Sent)
	out = protowire.AppendVarint(out, uint64(len(recipients)+len(excluded)))
	spub := sender.PublicKey().PublicKey()
	for _, r := range recipients {
		out = append(out, r.ServiceID.Bytes()...)
		for i, d := range r.Devices {
			reg := uint16(d.RegistrationID)
			if i < len(r.Devices)-1 {
				reg |= hasMoreDevices
			}
			out = append(out, byte(d.ID))
			out = binary.BigEndian.AppendUint16(out, reg)
		}
		rpub := r.IdentityKey.PublicKey()
		c, err := xorMessageKey(keys.e.Private, rpub, keys.e.Public, rpub, m)
		if err != nil {
			return nil, fmt.Errorf("recipient %s: %w", r.ServiceID, err)
		}
		at, err := authTag(sender.PrivateKey(), rpub, keys.e.Public, c, spub, rpub)
		if err != nil {
			return nil, fmt.Errorf("recipient %s: %w", r.ServiceID, err)
		}
		out = append(out, c...)
		out = append(out, at...)
	}
	for _, x := range excluded {
		out = append(out, x.Bytes()...)
		out = append(out, 0)
	}
	epub := keys.e.Public.Raw()
	out = append(out, epub[:]...)
	var nonce [gcmsiv.NonceSize]byte // the key is used once: no nonce
	return aead.Seal(out, nonce[:], content, nil), nil
}

// SentRecipient is one recipient of a parsed SentMessage.
type SentRecipient struct {
	ServiceID ServiceID
	// Devices lists the devices with their registration IDs, in message
	// order; empty for an excluded recipient.
	Devices     []Device
	keyMaterial []byte // C ‖ AT; nil when excluded
}

// SentMessage is a parsed multi-recipient message (0x23, or the older 0x22
// with 16-byte ACIs), as a server sees it: enough to fan it out, nothing
// decrypted.
type SentMessage struct {
	// Version is the version byte (0x22 or 0x23).
	Version byte
	// Recipients lists the recipients in order of first appearance; a
	// recipient encoded twice with devices has its device lists joined
	// (the first key material is kept), as libsignal does.
	Recipients []SentRecipient
	index      map[ServiceID]int
	shared     []byte // E.pub ‖ ciphertext
}

// ParseSentMessage parses a multi-recipient message without any key. Every
// length is bounded by the input; device IDs must be 1–127.
func ParseSentMessage(b []byte) (*SentMessage, error) {
	if len(b) == 0 {
		return nil, invalid("empty message")
	}
	if len(b) > MaxMessageSize {
		return nil, invalid("message of %d bytes", len(b))
	}
	version := b[0]
	idSize := ServiceIDSize
	switch version {
	case VersionV2Sent:
	case VersionV2Received:
		idSize = 16 // the original form: ACIs only, bare UUIDs
	default:
		return nil, invalid("not a multi-recipient message: version byte 0x%02x", version)
	}
	rest := b[1:]
	count, n := protowire.ConsumeVarint(rest)
	if n < 0 {
		return nil, invalid("recipient count: %v", protowire.ParseError(n))
	}
	rest = rest[n:]
	// Each recipient takes at least a service ID and one byte.
	if count > uint64(len(rest)/(idSize+1)) {
		return nil, invalid("%d recipients in %d bytes", count, len(rest))
	}
	m := &SentMessage{Version: version, index: make(map[ServiceID]int, count)}
	take := func(k int) ([]byte, bool) {
		if len(rest) < k {
			return nil, false
		}
		out := rest[:k:k]
		rest = rest[k:]
		return out, true
	}
	for i := uint64(0); i < count; i++ {
		raw, ok := take(idSize)
		if !ok {
			return nil, invalid("truncated recipient %d", i)
		}
		var id ServiceID
		if idSize == 16 {
			id = NewServiceID(ACI, [16]byte(raw))
		} else {
			var err error
			if id, err = ParseServiceIDBytes(raw); err != nil {
				return nil, invalid("recipient %d: %v", i, err)
			}
		}
		var devices []Device
		for {
			d, ok := take(1)
			if !ok {
				return nil, invalid("truncated device list of %s", id)
			}
			if d[0] == 0 {
				if len(devices) > 0 {
					return nil, invalid("device ID 0 in the device list of %s", id)
				}
				break // excluded recipient
			}
			if d[0] > MaxDeviceID {
				return nil, invalid("device ID %d for %s", d[0], id)
			}
			reg, ok := take(2)
			if !ok {
				return nil, invalid("truncated device list of %s", id)
			}
			v := binary.BigEndian.Uint16(reg)
			devices = append(devices, Device{ID: uint32(d[0]), RegistrationID: uint32(v & RegistrationIDMask)})
			if v&hasMoreDevices == 0 {
				break
			}
		}
		var km []byte
		if len(devices) > 0 {
			if km, ok = take(v2KeyMaterial); !ok {
				return nil, invalid("truncated key material of %s", id)
			}
		}
		if j, dup := m.index[id]; dup {
			prev := &m.Recipients[j]
			if len(prev.Devices) == 0 || len(devices) == 0 {
				return nil, invalid("recipient %s redundantly encoded as excluded", id)
			}
			prev.Devices = append(prev.Devices, devices...)
			continue
		}
		m.index[id] = len(m.Recipients)
		m.Recipients = append(m.Recipients, SentRecipient{ServiceID: id, Devices: devices, keyMaterial: km})
	}
	if len(rest) < v2PublicKeySize {
		return nil, invalid("missing ephemeral key")
	}
	m.shared = rest
	return m, nil
}

// ReceivedMessage returns the message the server delivers to every listed
// device of id: 0x22 ‖ C ‖ AT ‖ E.pub ‖ ciphertext.
func (m *SentMessage) ReceivedMessage(id ServiceID) ([]byte, error) {
	j, ok := m.index[id]
	if !ok || m.Recipients[j].keyMaterial == nil {
		return nil, wrap(ErrUnknownRecipient, "%s", id)
	}
	out := make([]byte, 0, 1+v2KeyMaterial+len(m.shared))
	out = append(out, VersionV2Received)
	out = append(out, m.Recipients[j].keyMaterial...)
	return append(out, m.shared...), nil
}

// SplitForRecipient is the server's fan-out for one device: it parses a
// multi-recipient message and returns what device of id receives
// (0x22 ‖ C ‖ AT ‖ E.pub ‖ ciphertext). It fails with ErrUnknownRecipient
// when the message does not list that device.
func SplitForRecipient(msg []byte, id ServiceID, device uint32) ([]byte, error) {
	m, err := ParseSentMessage(msg)
	if err != nil {
		return nil, err
	}
	j, ok := m.index[id]
	if !ok {
		return nil, wrap(ErrUnknownRecipient, "%s", id)
	}
	for _, d := range m.Recipients[j].Devices {
		if d.ID == device {
			return m.ReceivedMessage(id)
		}
	}
	return nil, wrap(ErrUnknownRecipient, "%s.%d", id, device)
}

// decryptV2 opens 0x2? ‖ C ‖ AT ‖ E.pub ‖ ciphertext (the version byte is
// already stripped): recover M, re-derive E and compare, decrypt, then check
// AT against the certificate's identity key.
func decryptV2(ours prekey.IdentityKeyPair, b []byte) (*UnidentifiedSenderMessageContent, error) {
	if len(b) < v2KeyMaterial+v2PublicKeySize+gcmsiv.TagSize {
		return nil, invalid("v2 message too short (%d bytes)", len(b)+1)
	}
	c := b[:v2MessageKeySize]
	at := b[v2MessageKeySize:v2KeyMaterial]
	epubRaw := b[v2KeyMaterial : v2KeyMaterial+v2PublicKeySize]
	body := b[v2KeyMaterial+v2PublicKeySize:]
	epub, err := prekey.NewPublicKey(append([]byte{0x05}, epubRaw...))
	if err != nil {
		return nil, invalid("ephemeral key: %v", err)
	}
	rpub := ours.PublicKey().PublicKey()
	m, err := xorMessageKey(ours.PrivateKey(), epub, epub, rpub, c)
	if err != nil {
		return nil, err
	}
	defer clear(m)
	keys, err := deriveFromM(m)
	if err != nil {
		return nil, err
	}
	defer clear(keys.k[:])
	derived := keys.e.Public.Raw()
	if subtle.ConstantTimeCompare(derived[:], epubRaw) != 1 {
		return nil, invalid("derived ephemeral key does not match the message")
	}
	aead, err := gcmsiv.New(keys.k[:])
	if err != nil {
		return nil, err
	}
	var nonce [gcmsiv.NonceSize]byte
	plain, err := aead.Open(nil, nonce[:], body, nil)
	if err != nil {
		return nil, invalid("v2 payload: %v", err)
	}
	content, err := ParseContent(plain)
	if err != nil {
		return nil, err
	}
	spub := content.cert.sender.IdentityKey.PublicKey()
	want, err := authTag(ours.PrivateKey(), spub, epub, c, spub, rpub)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(want, at) != 1 {
		return nil, invalid("the sender certificate's key does not match the authentication tag")
	}
	return content, nil
}
