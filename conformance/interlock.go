package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/fingerprint"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// Interlock is the Implementation backed by this module's packages.
type Interlock struct{}

var _ Implementation = Interlock{}

// InterlockVersion names the implementation in reports and vectors.
const InterlockVersion = "interlock 0.1.0-dev"

// Name implements Implementation.
func (Interlock) Name() string { return InterlockVersion }

// VerifyXEdDSA implements Implementation.
func (Interlock) VerifyXEdDSA(pub, msg, sig []byte) bool {
	k, err := prekey.NewIdentityKey(pub)
	if err != nil {
		return false
	}
	return k.VerifySignature(msg, sig)
}

// Decapsulate implements Implementation.
func (Interlock) Decapsulate(sk, ct []byte) ([]byte, error) {
	k, err := prekey.NewKEMSecretKey(sk)
	if err != nil {
		return nil, err
	}
	ss, err := k.Decapsulate(ct)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", prekey.ErrInvalidKey, err)
	}
	return ss, nil
}

// Agree implements Implementation.
func (Interlock) Agree(in AgreementInputs) ([]byte, []byte, error) {
	id, err := prekey.NewIdentityKeyPair(in.IdentityPrivate)
	if err != nil {
		return nil, nil, err
	}
	spk, err := keyPair(in.SignedPreKeyPrivate)
	if err != nil {
		return nil, nil, err
	}
	theirs, err := prekey.NewIdentityKey(in.TheirIdentity)
	if err != nil {
		return nil, nil, err
	}
	base, err := prekey.NewPublicKey(in.TheirBaseKey)
	if err != nil {
		return nil, nil, err
	}
	r := &prekey.Response{Version: in.Version, Ours: id, SignedPreKey: spk, TheirIdentity: theirs, TheirBaseKey: base}
	if in.PreKeyPrivate != nil {
		opk, err := keyPair(in.PreKeyPrivate)
		if err != nil {
			return nil, nil, err
		}
		r.OneTimePreKey = &opk
	}
	if in.KyberSecret != nil {
		sk, err := prekey.NewKEMSecretKey(in.KyberSecret)
		if err != nil {
			return nil, nil, err
		}
		r.KyberPreKey, r.KyberCiphertext = &sk, in.KyberCiphertext
	}
	s, err := prekey.Respond(r)
	if err != nil {
		return nil, nil, err
	}
	return s.RootKey[:], s.ChainKey[:], nil
}

func keyPair(private []byte) (prekey.KeyPair, error) {
	k, err := prekey.NewPrivateKey(private)
	if err != nil {
		return prekey.KeyPair{}, err
	}
	return prekey.KeyPair{Private: k, Public: k.PublicKey()}, nil
}

// Fingerprint implements Implementation.
func (Interlock) Fingerprint(version, iterations int, localID, localKey, remoteID, remoteKey []byte) (string, []byte, error) {
	lk, err := prekey.NewIdentityKey(localKey)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", fingerprint.ErrInvalidKey, err)
	}
	rk, err := prekey.NewIdentityKey(remoteKey)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", fingerprint.ErrInvalidKey, err)
	}
	f, err := fingerprint.New(fingerprint.Version(version), localID, lk, remoteID, rk, fingerprint.WithIterations(iterations))
	if err != nil {
		return "", nil, err
	}
	return f.Displayable(), f.Scannable().Bytes(), nil
}

// fixedReader yields fixed bytes, then fails if strict (a responder must
// not draw more randomness than ratchet_random recorded), else continues
// with crypto/rand (files that record only the first ratchet key: replies
// after a later ratchet step are then not reproducible and not recorded).
type fixedReader struct {
	b      []byte
	strict bool
}

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		if r.strict {
			return 0, errors.New("conformance: recorded randomness exhausted")
		}
		return rand.Read(p)
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

type interlockResponder struct {
	c     *session.Cipher
	store *session.MemoryStore
	peer  session.Address
}

var (
	_ AddressedResponder = (*interlockResponder)(nil)
	_ IdentityTruster    = (*interlockResponder)(nil)
	_ EnvelopeOpener     = Interlock{}
)

// NewResponder implements Implementation.
func (Interlock) NewResponder(r ResponderKeys, initiator Party, version int) (Responder, error) {
	ctx := context.Background()
	id, err := prekey.NewIdentityKeyPair(r.IdentityPrivate)
	if err != nil {
		return nil, err
	}
	if r.IdentityPublic != nil && !bytes.Equal(id.PublicKey().Bytes(), r.IdentityPublic) {
		return nil, errors.New("conformance: identity_public does not match identity_private")
	}
	store := session.NewMemoryStore(id, r.RegistrationID)
	spk, err := keyPair(r.SignedPreKeyPrivate)
	if err != nil {
		return nil, err
	}
	if err := store.StoreSignedPreKey(ctx, &prekey.SignedPreKeyRecord{ID: r.SignedPreKeyID, KeyPair: spk, Signature: r.SignedPreKeySignature, Timestamp: time.Unix(0, 0)}); err != nil {
		return nil, err
	}
	if r.PreKeyPrivate != nil {
		opk, err := keyPair(r.PreKeyPrivate)
		if err != nil {
			return nil, err
		}
		if err := store.StorePreKey(ctx, &prekey.PreKeyRecord{ID: r.PreKeyID, KeyPair: opk}); err != nil {
			return nil, err
		}
	}
	if r.KyberSecret != nil {
		sk, err := prekey.NewKEMSecretKey(r.KyberSecret)
		if err != nil {
			return nil, err
		}
		pk, err := prekey.NewKEMPublicKey(r.KyberPublic)
		if err != nil {
			return nil, err
		}
		if err := store.StoreKyberPreKey(ctx, &prekey.KyberPreKeyRecord{ID: r.KyberPreKeyID, KeyPair: prekey.KEMKeyPair{Public: pk, Secret: sk}, Signature: r.KyberSignature, LastResort: r.KyberLastResort}); err != nil {
			return nil, err
		}
	}
	rnd := &fixedReader{b: append([]byte(nil), r.RatchetRandom...), strict: true}
	if r.RatchetRandom == nil {
		rnd = &fixedReader{b: append([]byte(nil), r.RatchetPrivate...)}
	}
	policy := session.RequirePQXDH
	if version == 3 {
		policy = session.AllowX3DH
	}
	opts := []session.Option{session.WithPolicy(policy), session.WithRand(rnd)}
	if r.Name != "" {
		// The responder knows its address, so that it checks both halves
		// of a received address binding (issue #20 item 11).
		opts = append(opts, session.WithLocalAddress(session.Address{Name: r.Name, DeviceID: r.Device}))
	}
	c := session.NewCipher(store, opts...)
	return &interlockResponder{c: c, store: store, peer: session.Address{Name: initiator.Name, DeviceID: initiator.Device}}, nil
}

func (r *interlockResponder) Decrypt(typ int, ct []byte) ([]byte, error) {
	return r.c.Decrypt(context.Background(), r.peer, session.MessageType(typ), ct)
}

// DecryptFrom implements AddressedResponder.
func (r *interlockResponder) DecryptFrom(from Address, typ int, ct []byte) ([]byte, error) {
	return r.c.Decrypt(context.Background(), session.Address{Name: from.Name, DeviceID: from.Device}, session.MessageType(typ), ct)
}

// TrustIdentity implements IdentityTruster: the application accepts the
// key (session.IdentityStore.SaveIdentity).
func (r *interlockResponder) TrustIdentity(a Address, identityPublic []byte) error {
	k, err := prekey.NewIdentityKey(identityPublic)
	if err != nil {
		return err
	}
	_, err = r.store.SaveIdentity(context.Background(), session.Address{Name: a.Name, DeviceID: a.Device}, k)
	return err
}

// OpenEnvelope implements EnvelopeOpener as an application receives
// envelopes: envelope.Open, and for a PLAINTEXT_CONTENT envelope (which Open
// refuses as content) envelope.OpenPlaintextContent, whose result is an
// unauthenticated resend request.
func (Interlock) OpenEnvelope(b []byte) (*OpenedEnvelope, error) {
	ctx := context.Background()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	c := session.NewCipher(session.NewMemoryStore(id, 1))
	from, content, err := envelope.Open(ctx, c, b)
	if errors.Is(err, envelope.ErrUnauthenticatedContent) {
		req, err := envelope.OpenPlaintextContent(b)
		if err != nil {
			return nil, err
		}
		m := req.DecryptionErrorMessage
		rr := &ResendRequest{Timestamp: m.Timestamp, Device: m.DeviceID}
		if !m.RatchetKey.IsZero() {
			rr.RatchetKey = m.RatchetKey.Bytes()
		}
		return &OpenedEnvelope{From: Address{Name: req.From.Name, Device: req.From.DeviceID}, ResendRequest: rr}, nil
	}
	if err != nil {
		return nil, err
	}
	body, err := content.Marshal()
	if err != nil {
		return nil, err
	}
	return &OpenedEnvelope{From: Address{Name: from.Name, Device: from.DeviceID}, Authenticated: true, Content: body}, nil
}

func (r *interlockResponder) Encrypt(pt []byte) (int, []byte, error) {
	typ, ct, err := r.c.Encrypt(context.Background(), r.peer, pt)
	return int(typ), ct, err
}

type interlockGroup struct {
	c      *group.Cipher
	layout group.Layout
}

// NewSenderKeyReceiver implements Implementation.
func (Interlock) NewSenderKeyReceiver(flavour string) (SenderKeyReceiver, error) {
	switch flavour {
	case "signal":
		return &interlockGroup{c: group.NewCipher(group.NewMemoryStore()), layout: group.LayoutSignal}, nil
	case "whatsapp":
		return &interlockGroup{c: group.NewCipher(group.NewMemoryStore(), group.WithLayout(group.LayoutWhatsApp)), layout: group.LayoutWhatsApp}, nil
	}
	return nil, fmt.Errorf("%w: flavour %q", session.ErrUnsupported, flavour)
}

func senderKeyName(a Address, groupID string) group.SenderKeyName {
	return group.SenderKeyName{Sender: a.Name, DeviceID: a.Device, DistributionID: groupID}
}

func (g *interlockGroup) ProcessSenderKeyDistribution(sender Address, groupID string, b []byte) error {
	m, err := group.ParseSenderKeyDistributionMessage(b, g.layout)
	if err != nil {
		return err
	}
	return g.c.ProcessDistributionMessage(context.Background(), senderKeyName(sender, groupID), m)
}

func (g *interlockGroup) DecryptSenderKey(sender Address, groupID string, ct []byte) ([]byte, error) {
	return g.c.Decrypt(context.Background(), senderKeyName(sender, groupID), ct)
}

// OpenSealedSender implements Implementation: libsignal's
// sealed_sender_decrypt_to_usmc, then the certificate validation of
// sealed_sender_decrypt.
func (Interlock) OpenSealedSender(in SealedInputs) (*SealedContent, error) {
	ours, err := prekey.NewIdentityKeyPair(in.RecipientIdentityPrivate)
	if err != nil {
		return nil, err
	}
	root, err := prekey.NewPublicKey(in.TrustRoot)
	if err != nil {
		return nil, err
	}
	c, err := sealedsender.DecryptToContent(ours, in.Ciphertext)
	if err != nil {
		return nil, err
	}
	cert := c.SenderCertificate()
	var now time.Time // zero: the current time (issue #20 item 7)
	if in.Now != 0 {
		now = time.UnixMilli(in.Now)
	}
	if err := cert.Validate(root, now); err != nil {
		return nil, err
	}
	s := cert.Sender()
	return &SealedContent{
		Sender: Address{Name: s.UUID, Device: s.DeviceID}, SenderIdentity: s.IdentityKey.Bytes(),
		SenderCertificate: cert.Bytes(), CertificateExpires: int64(cert.ExpiresMillis()),
		Type: int(c.Type()), ContentHint: uint32(c.ContentHint()), GroupID: c.GroupID(), Contents: c.Contents(), USMC: c.Bytes(),
	}, nil
}

// SplitSealedSenderV2 implements Implementation.
func (Interlock) SplitSealedSenderV2(sent []byte, serviceID string, device uint32) ([]byte, error) {
	id, err := sealedsender.ParseServiceID(serviceID)
	if err != nil {
		return nil, err
	}
	return sealedsender.SplitForRecipient(sent, id, device)
}

// DecryptAttachment implements Implementation.
func (Interlock) DecryptAttachment(in AttachmentInputs) ([]byte, error) {
	var out bytes.Buffer
	check := &media.SignalCheck{Digest: in.Digest, IncrementalMAC: in.IncrementalMAC, ChunkSize: in.ChunkSize}
	if err := media.DecryptSignal(&out, bytes.NewReader(in.Blob), int64(len(in.Blob)), in.Key, in.Size, check); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// DecryptWhatsAppMedia implements Implementation.
func (Interlock) DecryptWhatsAppMedia(in WhatsAppMediaInputs) ([]byte, error) {
	kind := media.Kind(0)
	for _, k := range media.Kinds() {
		if k.Info() == in.Info {
			kind = k
			break
		}
	}
	if kind == 0 {
		return nil, fmt.Errorf("%w: unknown HKDF info %q", media.ErrInvalidKey, in.Info)
	}
	var out bytes.Buffer
	check := &media.WhatsAppCheck{FileEncSHA256: in.FileEncSHA256, FileSHA256: in.FileSHA256}
	if err := media.DecryptWhatsApp(&out, bytes.NewReader(in.Blob), int64(len(in.Blob)), kind, in.MediaKey, check); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// UnpadMessage implements Implementation.
func (Interlock) UnpadMessage(flavour string, padded []byte) ([]byte, error) {
	switch flavour {
	case "signal":
		return envelope.UnpadSignal(padded)
	case "whatsapp":
		return envelope.UnpadWhatsApp(padded)
	}
	return nil, fmt.Errorf("%w: flavour %q", session.ErrUnsupported, flavour)
}

// errorKinds maps Interlock's sentinels to the error kinds of docs/peer-protocol.md, most
// specific first (as cmd/interlock's peer does).
var errorKinds = []struct {
	err  error
	kind string
}{
	{session.ErrTooFar, "too_far"},
	{group.ErrTooFar, "too_far"},
	{group.ErrDuplicateMessage, "duplicate_message"},
	{group.ErrInvalidSignature, "invalid_signature"}, // also matches group.ErrInvalidMessage
	{group.ErrInvalidMessage, "invalid_message"},
	{group.ErrInvalidKey, "invalid_key"},
	{group.ErrNoSenderKey, "no_session"},
	{sealedsender.ErrInvalidSignature, "invalid_signature"},
	{sealedsender.ErrRevoked, "invalid_signature"},
	{sealedsender.ErrUnknownServerCertificate, "invalid_signature"},
	{sealedsender.ErrInvalidMessage, "invalid_message"},
	{sealedsender.ErrInvalidCertificate, "invalid_message"},
	{sealedsender.ErrExpired, "invalid_message"}, // as cmd/interlock's and libsignal's peers
	{sealedsender.ErrUnknownRecipient, "no_session"},
	{media.ErrInvalidKey, "invalid_key"},
	{media.ErrInvalidMAC, "invalid_message"},
	{media.ErrInvalidDigest, "invalid_message"},
	{media.ErrInvalidIncrementalMAC, "invalid_message"},
	{media.ErrInvalidSidecar, "invalid_message"},
	{media.ErrInvalidPadding, "invalid_message"},
	{media.ErrInvalidPlaintextHash, "invalid_message"},
	{media.ErrTruncated, "invalid_message"},
	{media.ErrInvalidSize, "invalid_message"},
	{session.ErrDuplicateMessage, "duplicate_message"},
	{session.ErrUntrustedIdentity, "untrusted_identity"},
	{session.ErrInvalidPreKey, "invalid_prekey"},
	{session.ErrInvalidSignature, "invalid_signature"},
	{session.ErrInvalidMessage, "invalid_message"},
	{session.ErrInvalidKey, "invalid_key"},
	{session.ErrNoSession, "no_session"},
	{session.ErrUnsupported, "unsupported"},
	{prekey.ErrUnsupportedVersion, "unsupported"},
	{prekey.ErrNoKyberPreKey, "invalid_prekey"},
	{fingerprint.ErrInvalidKey, "invalid_key"},
}

// Kind implements Implementation.
func (Interlock) Kind(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "other"
}
