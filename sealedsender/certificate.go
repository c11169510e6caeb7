package sealedsender

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/proto"
)

// RevokedServerCertificateID is the server certificate ID that libsignal
// treats as revoked (reserved for testing the revocation logic). Validate
// rejects it with ErrRevoked.
const RevokedServerCertificateID uint32 = 0xDEADC357

// MaxCertificateSize bounds the certificates this package parses (a sender
// certificate is about 300 bytes).
const MaxCertificateSize = 64 << 10

// MaxDeviceID is the highest device ID libsignal accepts (device IDs are
// 1–127, one byte in sealed sender v2).
const MaxDeviceID = 127

// ServerCertificate is a server key signed by the trust root
// (docs/wire-formats.md#certificates). It is immutable.
type ServerCertificate struct {
	raw         []byte
	certificate []byte
	signature   []byte
	id          uint32
	key         prekey.PublicKey
}

// NewServerCertificate signs key with the trust root's private key (XEdDSA)
// under the given ID, as the service does for each of its signing keys.
func NewServerCertificate(rand io.Reader, trustRoot prekey.PrivateKey, id uint32, key prekey.PublicKey) (*ServerCertificate, error) {
	if trustRoot.IsZero() || key.IsZero() {
		return nil, wrap(ErrInvalidArgument, "zero key")
	}
	inner, err := proto.Marshal(&signalpb.ServerCertificate_Certificate{Id: &id, Key: key.Bytes()})
	if err != nil {
		return nil, fmt.Errorf("sealedsender: %w", err)
	}
	sig, err := trustRoot.Sign(rand, inner)
	if err != nil {
		return nil, fmt.Errorf("sealedsender: signing: %w", err)
	}
	raw, err := proto.Marshal(&signalpb.ServerCertificate{Certificate: inner, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("sealedsender: %w", err)
	}
	return &ServerCertificate{raw: raw, certificate: inner, signature: sig, id: id, key: key}, nil
}

// ParseServerCertificate parses a serialized ServerCertificate. Both the
// certificate and the signature must be present; the signature is checked by
// Validate, not here.
func ParseServerCertificate(b []byte) (*ServerCertificate, error) {
	if len(b) > MaxCertificateSize {
		return nil, wrap(ErrInvalidCertificate, "server certificate of %d bytes", len(b))
	}
	var pb signalpb.ServerCertificate
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, wrap(ErrInvalidCertificate, "server certificate: %v", err)
	}
	if pb.Certificate == nil || pb.Signature == nil {
		return nil, wrap(ErrInvalidCertificate, "server certificate without certificate or signature")
	}
	var inner signalpb.ServerCertificate_Certificate
	if err := proto.Unmarshal(pb.Certificate, &inner); err != nil {
		return nil, wrap(ErrInvalidCertificate, "server certificate body: %v", err)
	}
	if inner.Id == nil || inner.Key == nil {
		return nil, wrap(ErrInvalidCertificate, "server certificate without ID or key")
	}
	key, err := prekey.NewPublicKey(inner.Key)
	if err != nil {
		return nil, wrap(ErrInvalidCertificate, "server key: %v", err)
	}
	return &ServerCertificate{
		raw:         bytes.Clone(b),
		certificate: pb.Certificate,
		signature:   pb.Signature,
		id:          *inner.Id,
		key:         key,
	}, nil
}

// Bytes returns a copy of the serialized certificate.
func (c *ServerCertificate) Bytes() []byte { return bytes.Clone(c.raw) }

// ID returns the server key's ID.
func (c *ServerCertificate) ID() uint32 { return c.id }

// Key returns the server's public key, which signs sender certificates.
func (c *ServerCertificate) Key() prekey.PublicKey { return c.key }

// Validate checks that the certificate is signed by trustRoot and that its
// ID is not revoked (ErrRevoked, ErrInvalidSignature).
func (c *ServerCertificate) Validate(trustRoot prekey.PublicKey) error {
	if c.id == RevokedServerCertificateID {
		return wrap(ErrRevoked, "ID 0x%X", c.id)
	}
	if trustRoot.IsZero() || !trustRoot.VerifySignature(c.certificate, c.signature) {
		return wrap(ErrInvalidSignature, "server certificate %d is not signed by the trust root", c.id)
	}
	return nil
}

// Sender describes the sender a SenderCertificate vouches for.
type Sender struct {
	// UUID is the sender's ACI as a lowercase UUID string, the name of the
	// sender's session.Address.
	UUID string
	// E164 is the sender's phone number, or "" when the certificate has none.
	E164 string
	// DeviceID is the sending device, 1–127.
	DeviceID uint32
	// IdentityKey is the sender's identity key; sealed messages must be
	// encrypted with its private half.
	IdentityKey prekey.IdentityKey
	// Expires is when the certificate stops being valid (millisecond
	// precision). A certificate is valid at exactly its expiry time.
	Expires time.Time
}

// Address returns the sender's session address: the UUID and the device.
func (s Sender) Address() session.Address { return session.Address{Name: s.UUID, DeviceID: s.DeviceID} }

// SenderCertificate is a sender's identity signed by a server key, which is
// itself certified by the trust root. It is immutable.
type SenderCertificate struct {
	raw         []byte
	certificate []byte
	signature   []byte
	sender      Sender
	expires     uint64             // ms since the epoch, as on the wire
	signer      *ServerCertificate // nil when referenced by signerID
	signerID    uint32
}

// NewSenderCertificate issues a certificate for sender, signed with the
// server's private key signerKey, which must match signer.Key(). The server
// certificate is embedded, as libsignal does. sender.Expires must be set and
// not before 1970 (ErrInvalidArgument).
func NewSenderCertificate(rand io.Reader, sender Sender, signer *ServerCertificate, signerKey prekey.PrivateKey) (*SenderCertificate, error) {
	switch {
	case sender.UUID == "":
		return nil, wrap(ErrInvalidArgument, "empty sender UUID")
	case sender.DeviceID < 1 || sender.DeviceID > MaxDeviceID:
		return nil, wrap(ErrInvalidArgument, "device ID %d outside 1–%d", sender.DeviceID, MaxDeviceID)
	case sender.IdentityKey.IsZero():
		return nil, wrap(ErrInvalidArgument, "zero identity key")
	case signer == nil || signerKey.IsZero():
		return nil, wrap(ErrInvalidArgument, "no server certificate or key")
	case !signerKey.PublicKey().Equal(signer.Key()):
		return nil, wrap(ErrInvalidArgument, "server key does not match the server certificate")
	}
	ms := sender.Expires.UnixMilli()
	if sender.Expires.IsZero() || ms < 0 {
		// A zero Expires is a forgotten field, not "expired in 1970".
		return nil, wrap(ErrInvalidArgument, "expiry %v is unset or before 1970", sender.Expires)
	}
	expires := uint64(ms)
	device := sender.DeviceID
	inner := &signalpb.SenderCertificate_Certificate{
		SenderUuid:   &signalpb.SenderCertificate_Certificate_UuidString{UuidString: sender.UUID},
		SenderDevice: &device,
		Expires:      &expires,
		IdentityKey:  sender.IdentityKey.Bytes(),
		Signer:       &signalpb.SenderCertificate_Certificate_Certificate{Certificate: signer.raw},
	}
	if sender.E164 != "" {
		inner.SenderE164 = &sender.E164
	}
	certBytes, err := proto.Marshal(inner)
	if err != nil {
		return nil, fmt.Errorf("sealedsender: %w", err)
	}
	sig, err := signerKey.Sign(rand, certBytes)
	if err != nil {
		return nil, fmt.Errorf("sealedsender: signing: %w", err)
	}
	raw, err := proto.Marshal(&signalpb.SenderCertificate{Certificate: certBytes, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("sealedsender: %w", err)
	}
	sender.Expires = time.UnixMilli(int64(expires))
	return &SenderCertificate{raw: raw, certificate: certBytes, signature: sig, sender: sender, expires: expires, signer: signer}, nil
}

// ParseSenderCertificate parses a serialized SenderCertificate, with the
// presence rules libsignal applies: certificate, signature, sender UUID
// (string, or 16 bytes read as the lowercase UUID string), device 1–127,
// expiry, identity key and signer (an embedded server certificate or an ID)
// are required. Signatures and expiry are checked by Validate.
func ParseSenderCertificate(b []byte) (*SenderCertificate, error) {
	if len(b) > MaxCertificateSize {
		return nil, wrap(ErrInvalidCertificate, "sender certificate of %d bytes", len(b))
	}
	var pb signalpb.SenderCertificate
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, wrap(ErrInvalidCertificate, "sender certificate: %v", err)
	}
	if pb.Certificate == nil || pb.Signature == nil {
		return nil, wrap(ErrInvalidCertificate, "sender certificate without certificate or signature")
	}
	var inner signalpb.SenderCertificate_Certificate
	if err := proto.Unmarshal(pb.Certificate, &inner); err != nil {
		return nil, wrap(ErrInvalidCertificate, "sender certificate body: %v", err)
	}
	c := &SenderCertificate{raw: bytes.Clone(b), certificate: pb.Certificate, signature: pb.Signature}
	if inner.SenderDevice == nil || *inner.SenderDevice < 1 || *inner.SenderDevice > MaxDeviceID {
		return nil, wrap(ErrInvalidCertificate, "missing or invalid sender device")
	}
	c.sender.DeviceID = *inner.SenderDevice
	if inner.Expires == nil {
		return nil, wrap(ErrInvalidCertificate, "missing expiry")
	}
	c.expires = *inner.Expires
	c.sender.Expires = time.UnixMilli(int64(min(c.expires, math.MaxInt64)))
	switch s := inner.Signer.(type) {
	case *signalpb.SenderCertificate_Certificate_Certificate:
		signer, err := ParseServerCertificate(s.Certificate)
		if err != nil {
			return nil, err
		}
		c.signer = signer
	case *signalpb.SenderCertificate_Certificate_Id:
		c.signerID = s.Id
	default:
		return nil, wrap(ErrInvalidCertificate, "missing signer")
	}
	switch u := inner.SenderUuid.(type) {
	case *signalpb.SenderCertificate_Certificate_UuidString:
		c.sender.UUID = u.UuidString
	case *signalpb.SenderCertificate_Certificate_UuidBytes:
		if len(u.UuidBytes) != 16 {
			return nil, wrap(ErrInvalidCertificate, "sender UUID of %d bytes", len(u.UuidBytes))
		}
		c.sender.UUID = formatUUID((*[16]byte)(u.UuidBytes))
	default:
		return nil, wrap(ErrInvalidCertificate, "missing sender UUID")
	}
	if inner.SenderE164 != nil {
		c.sender.E164 = *inner.SenderE164
	}
	if inner.IdentityKey == nil {
		return nil, wrap(ErrInvalidCertificate, "missing identity key")
	}
	ik, err := prekey.NewIdentityKey(inner.IdentityKey)
	if err != nil {
		return nil, wrap(ErrInvalidCertificate, "identity key: %v", err)
	}
	c.sender.IdentityKey = ik
	return c, nil
}

// Bytes returns a copy of the serialized certificate.
func (c *SenderCertificate) Bytes() []byte { return bytes.Clone(c.raw) }

// Sender returns the sender the certificate vouches for.
func (c *SenderCertificate) Sender() Sender { return c.sender }

// Address returns the sender's session address (UUID, device).
func (c *SenderCertificate) Address() session.Address { return c.sender.Address() }

// ExpiresMillis returns the expiry exactly as encoded (ms since the epoch).
func (c *SenderCertificate) ExpiresMillis() uint64 { return c.expires }

// Signer returns the embedded server certificate, or nil when the
// certificate names it by ID (see SignerID).
func (c *SenderCertificate) Signer() *ServerCertificate { return c.signer }

// SignerID returns the server certificate's ID, embedded or referenced.
func (c *SenderCertificate) SignerID() uint32 {
	if c.signer != nil {
		return c.signer.id
	}
	return c.signerID
}

// Validate checks the certificate at time now, in libsignal's order: the
// server certificate is signed by trustRoot and not revoked, the sender
// certificate is signed by the server key, and now is not after the expiry.
// A zero now means time.Now(); a now before 1970 is refused with
// ErrInvalidArgument.
// A certificate that names its server certificate by ID (Signal's servers
// do this to save space) validates only when that certificate is among
// known; Interlock bundles none of Signal's.
//
// It returns nil or an error wrapping ErrInvalidSignature, ErrRevoked,
// ErrExpired, ErrUnknownServerCertificate or ErrInvalidArgument.
func (c *SenderCertificate) Validate(trustRoot prekey.PublicKey, now time.Time, known ...*ServerCertificate) error {
	signer := c.signer
	if signer == nil {
		i := slices.IndexFunc(known, func(k *ServerCertificate) bool { return k != nil && k.id == c.signerID })
		if i < 0 {
			return wrap(ErrUnknownServerCertificate, "%d", c.signerID)
		}
		signer = known[i]
	}
	if err := signer.Validate(trustRoot); err != nil && !mutant.On(mutant.CertChainUnchecked) {
		return err
	}
	if !signer.key.VerifySignature(c.certificate, c.signature) {
		return wrap(ErrInvalidSignature, "sender certificate is not signed by server key %d", signer.id)
	}
	// A zero now is "now", never "before every expiry" (issue #20 item 7:
	// the zero time.Time is year 1, a negative UnixMilli, and used to skip
	// the check). libsignal takes an unsigned millisecond timestamp, so no
	// validation time of its precedes 1970; one of ours that does is a broken
	// clock, refused rather than compared.
	if now.IsZero() {
		if mutant.On(mutant.SealedZeroClock) {
			return nil // mutant: a zero validation time skips the expiry check
		}
		now = time.Now()
	}
	ms := now.UnixMilli()
	if ms < 0 {
		return wrap(ErrInvalidArgument, "validation time %v is before 1970", now)
	}
	if uint64(ms) > c.expires && !mutant.On(mutant.CertExpiryUnchecked) {
		return wrap(ErrExpired, "expired at %d, now %d (ms)", c.expires, ms)
	}
	return nil
}

func formatUUID(u *[16]byte) string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexdigits[b>>4], hexdigits[b&15])
	}
	return string(out)
}
