package main

import (
	"crypto/rand"
	"encoding/json"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// sealedPeer holds the peer's server keys (server_keys, sender_certificate,
// sealed_* ops): the peer acts as the service that certifies senders.
type sealedPeer struct {
	trustRoot  prekey.KeyPair
	serverKey  prekey.KeyPair
	serverCert *sealedsender.ServerCertificate
}

// serverCertificateID is the ID of the peer's server key (libsignal's peer
// uses 1 too).
const serverCertificateID = 1

func init() {
	extraOps["server_keys"] = (*peer).serverKeys
	extraOps["sender_certificate"] = (*peer).senderCertificate
	extraOps["sealed_encrypt"] = (*peer).sealedEncrypt
	extraOps["sealed_decrypt"] = (*peer).sealedDecrypt
	// The libsignal peer reports an expired certificate as invalid_message
	// and a wrong trust root (or bad server signature) as invalid_signature;
	// a message from ourselves is "other".
	addErrorKind(sealedsender.ErrInvalidMessage, "invalid_message")
	addErrorKind(sealedsender.ErrInvalidCertificate, "invalid_message")
	addErrorKind(sealedsender.ErrExpired, "invalid_message")
	addErrorKind(sealedsender.ErrInvalidSignature, "invalid_signature")
	addErrorKind(sealedsender.ErrRevoked, "invalid_signature")
	addErrorKind(sealedsender.ErrUnknownServerCertificate, "invalid_signature")
	addErrorKind(sealedsender.ErrSelfSend, "other")
	addErrorKind(sealedsender.ErrInvalidArgument, "other")
}

type sealedRequest struct {
	Address     *peerAddress `json:"address"`
	IdentityKey []byte       `json:"identity_key"`
	Expires     *int64       `json:"expires"`
	Plaintext   []byte       `json:"plaintext"`
	Certificate []byte       `json:"certificate"`
	Ciphertext  []byte       `json:"ciphertext"`
	TrustRoot   []byte       `json:"trust_root"`
	Now         *int64       `json:"now"`
}

func decodeSealedRequest(raw []byte) (*sealedRequest, error) {
	var r sealedRequest
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, kindErr("other", "bad request: %v", err)
	}
	return &r, nil
}

// serverKeys makes a fresh trust root and server key; the peer keeps the
// private halves for sender_certificate.
func (p *peer) serverKeys(_ []byte) (map[string]any, error) {
	root, err := prekey.GenerateKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := prekey.GenerateKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, err := sealedsender.NewServerCertificate(rand.Reader, root.Private, serverCertificateID, key.Public)
	if err != nil {
		return nil, err
	}
	p.sealed = &sealedPeer{trustRoot: root, serverKey: key, serverCert: cert}
	return map[string]any{"trust_root": root.Public.Bytes(), "server_certificate": cert.Bytes()}, nil
}

func (p *peer) senderCertificate(raw []byte) (map[string]any, error) {
	if p.sealed == nil {
		return nil, kindErr("other", "no server keys: send server_keys first")
	}
	r, err := decodeSealedRequest(raw)
	if err != nil {
		return nil, err
	}
	if r.Address == nil || r.Expires == nil || r.IdentityKey == nil {
		return nil, kindErr("other", "sender_certificate needs address, identity_key and expires")
	}
	ik, err := prekey.NewIdentityKey(r.IdentityKey)
	if err != nil {
		return nil, err
	}
	cert, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
		UUID:        r.Address.Name,
		DeviceID:    r.Address.Device,
		IdentityKey: ik,
		Expires:     time.UnixMilli(*r.Expires),
	}, p.sealed.serverCert, p.sealed.serverKey.Private)
	if err != nil {
		return nil, err
	}
	return map[string]any{"certificate": cert.Bytes()}, nil
}

func (p *peer) sealedEncrypt(raw []byte) (map[string]any, error) {
	r, err := decodeSealedRequest(raw)
	if err != nil {
		return nil, err
	}
	if r.Address == nil || r.Certificate == nil {
		return nil, kindErr("other", "sealed_encrypt needs address and certificate")
	}
	cert, err := sealedsender.ParseSenderCertificate(r.Certificate)
	if err != nil {
		return nil, err
	}
	to := session.Address{Name: r.Address.Name, DeviceID: r.Address.Device}
	ct, err := sealedsender.EncryptMessage(p.ctx, rand.Reader, p.cipher, p.store, to, cert, r.Plaintext)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ciphertext": ct}, nil
}

func (p *peer) sealedDecrypt(raw []byte) (map[string]any, error) {
	r, err := decodeSealedRequest(raw)
	if err != nil {
		return nil, err
	}
	if r.TrustRoot == nil || r.Now == nil {
		return nil, kindErr("other", "sealed_decrypt needs trust_root and now")
	}
	root, err := prekey.NewPublicKey(r.TrustRoot)
	if err != nil {
		return nil, err
	}
	res, err := sealedsender.DecryptMessage(p.ctx, p.cipher, p.store, r.Ciphertext, sealedsender.DecryptOptions{
		TrustRoot: root,
		Now:       time.UnixMilli(*r.Now),
		Local:     session.Address{Name: p.name, DeviceID: p.device},
	})
	if err != nil {
		return nil, err
	}
	pt := res.Plaintext
	switch res.Type {
	case session.TypeSignal, session.TypePreKey:
	case session.TypeSenderKey:
		if pt, err = p.groupDecrypt(res.Sender, res.Content.Contents()); err != nil {
			return nil, err
		}
	default:
		return nil, kindErr("unsupported", "sealed inner message type %d", res.Type)
	}
	return map[string]any{
		"plaintext": nonNil(pt),
		"sender":    peerAddress{Name: res.Sender.Name, Device: res.Sender.DeviceID},
		"type":      res.Type,
	}, nil
}
