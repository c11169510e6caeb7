package mau

import (
	"context"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
)

// Party is an in-process go.mau.fi/libsignal client over a Store, for the
// vector generator and tests.
type Party struct {
	*Store
}

// NewParty creates a client with a fresh identity.
func NewParty(name string, device, registrationID uint32) (*Party, error) {
	id, err := keyhelper.GenerateIdentityKeyPair()
	if err != nil {
		return nil, err
	}
	return &Party{NewStore(NewState(name, device, registrationID, id))}, nil
}

// BundleSecrets are the private halves behind a bundle.
type BundleSecrets struct {
	SignedPreKey *record.SignedPreKey
	PreKey       *record.PreKey // nil without a one-time prekey
}

// NewBundle generates and stores a signed prekey with id spkID and, when
// pkID is non-zero, a one-time prekey with that id.
func (p *Party) NewBundle(spkID, pkID uint32) (*prekey.Bundle, *BundleSecrets, error) {
	ctx := context.Background()
	spk, err := keyhelper.GenerateSignedPreKey(p.GetIdentityKeyPair(), spkID, p.Ser.SignedPreKeyRecord)
	if err != nil {
		return nil, nil, err
	}
	if err := p.StoreSignedPreKey(ctx, spkID, spk); err != nil {
		return nil, nil, err
	}
	sec := &BundleSecrets{SignedPreKey: spk}
	id := optional.NewEmptyUint32()
	var pub ecc.ECPublicKeyable
	if pkID != 0 {
		kp, err := ecc.GenerateKeyPair()
		if err != nil {
			return nil, nil, err
		}
		sec.PreKey = record.NewPreKey(pkID, kp, p.Ser.PreKeyRecord)
		if err := p.StorePreKey(ctx, pkID, sec.PreKey); err != nil {
			return nil, nil, err
		}
		id = optional.NewOptionalUint32(pkID)
		pub = kp.PublicKey()
	}
	b := prekey.NewBundle(p.St.RegistrationID, p.St.Device, id, spkID, pub, spk.KeyPair().PublicKey(),
		spk.Signature(), identity.NewKey(p.GetIdentityKeyPair().PublicKey().PublicKey()))
	return b, sec, nil
}

// ProcessBundle starts a session with addr.
func (p *Party) ProcessBundle(addr *protocol.SignalAddress, b *prekey.Bundle) error {
	return session.NewBuilderFromSignal(p.Store, addr, p.Ser).ProcessBundle(context.Background(), b)
}

// Encrypt encrypts to addr.
func (p *Party) Encrypt(addr *protocol.SignalAddress, pt []byte) (protocol.CiphertextMessage, error) {
	c := session.NewCipher(session.NewBuilderFromSignal(p.Store, addr, p.Ser), addr)
	return c.Encrypt(context.Background(), pt)
}

// Decrypt decrypts a message of type typ (2 or 3) from addr.
func (p *Party) Decrypt(addr *protocol.SignalAddress, typ uint32, ct []byte) ([]byte, error) {
	c := session.NewCipher(session.NewBuilderFromSignal(p.Store, addr, p.Ser), addr)
	switch typ {
	case protocol.WHISPER_TYPE:
		m, err := protocol.NewSignalMessageFromBytes(ct, p.Ser.SignalMessage)
		if err != nil {
			return nil, err
		}
		return c.Decrypt(context.Background(), m)
	case protocol.PREKEY_TYPE:
		m, err := protocol.NewPreKeySignalMessageFromBytes(ct, p.Ser.PreKeySignalMessage, p.Ser.SignalMessage)
		if err != nil {
			return nil, err
		}
		return c.DecryptMessage(context.Background(), m)
	}
	return nil, fmt.Errorf("mau: unknown message type %d", typ)
}

// SessionState loads the current session state with addr.
func (p *Party) SessionState(addr *protocol.SignalAddress) (*record.State, error) {
	rec, err := p.LoadSession(context.Background(), addr)
	if err != nil {
		return nil, err
	}
	return rec.SessionState(), nil
}
