package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/fingerprint"
	"github.com/interlock-e2ee/interlock/prekey"
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
	f, err := fingerprint.New(fingerprint.Version(version), localID, localKey, remoteID, remoteKey, fingerprint.WithIterations(iterations))
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
	c    *session.Cipher
	peer session.Address
}

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
		if err := store.StoreKyberPreKey(ctx, &prekey.KyberPreKeyRecord{ID: r.KyberPreKeyID, KeyPair: prekey.KEMKeyPair{Public: pk, Secret: sk}, Signature: r.KyberSignature}); err != nil {
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
	c := session.NewCipher(store, session.WithPolicy(policy), session.WithRand(rnd))
	return &interlockResponder{c: c, peer: session.Address{Name: initiator.Name, DeviceID: initiator.Device}}, nil
}

func (r *interlockResponder) Decrypt(typ int, ct []byte) ([]byte, error) {
	return r.c.Decrypt(context.Background(), r.peer, typ, ct)
}

func (r *interlockResponder) Encrypt(pt []byte) (int, []byte, error) {
	return r.c.Encrypt(context.Background(), r.peer, pt)
}

// errorKinds maps Interlock's sentinels to PEER-PROTOCOL.md kinds, most
// specific first (as cmd/interlock's peer does).
var errorKinds = []struct {
	err  error
	kind string
}{
	{session.ErrTooFar, "too_far"},
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
