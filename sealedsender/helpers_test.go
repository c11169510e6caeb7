package sealedsender_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

const (
	aliceUUID = "9d0652a3-dcc3-4d11-975f-74d61598733f"
	bobUUID   = "796abedb-ca4e-4f18-8803-1fab5b92a5ad"
	carolUUID = "e0fa4bcb-0a21-4f0a-8c1f-9f1e2b4e3c5d"
	daveUUID  = "0b3e4a9f-6c1d-4b8e-9a2f-3d5c7e9f1a2b"
)

// party is one device with an in-memory store.
type party struct {
	addr   session.Address
	id     prekey.IdentityKeyPair
	regID  uint32
	store  *session.MemoryStore
	cipher *session.Cipher
	nextID uint32
}

func newParty(t testing.TB, name string, device uint32) *party {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newPartyWith(t, name, device, id)
}

// newPartyWith makes another device of an account (same identity key).
func newPartyWith(t testing.TB, name string, device uint32, id prekey.IdentityKeyPair) *party {
	t.Helper()
	reg, err := prekey.GenerateRegistrationID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := session.NewMemoryStore(id, reg)
	return &party{
		addr: session.Address{Name: name, DeviceID: device}, id: id, regID: reg,
		store: st, cipher: session.NewCipher(st), nextID: 1,
	}
}

func (p *party) bundle(t testing.TB) *prekey.Bundle {
	t.Helper()
	ctx := context.Background()
	id := p.nextID
	p.nextID++
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, p.id, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.StoreSignedPreKey(ctx, &spk); err != nil {
		t.Fatal(err)
	}
	k, err := prekey.GenerateKyberPreKey(rand.Reader, p.id, id, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.StoreKyberPreKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	return &prekey.Bundle{
		RegistrationID: p.regID, DeviceID: p.addr.DeviceID, IdentityKey: p.id.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		KyberPreKeyID: k.ID, KyberPreKey: k.KeyPair.Public, KyberPreKeySignature: k.Signature,
	}
}

// connect gives p a session with q (p has processed q's bundle).
func (p *party) connect(t testing.TB, q *party) {
	t.Helper()
	if err := p.cipher.ProcessBundle(context.Background(), q.addr, q.bundle(t)); err != nil {
		t.Fatal(err)
	}
}

// server is a test service: a trust root and one signing key.
type server struct {
	root    prekey.KeyPair
	key     prekey.KeyPair
	cert    *sealedsender.ServerCertificate
	expires time.Time
}

func newServer(t testing.TB, id uint32) *server {
	t.Helper()
	root, err := prekey.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := prekey.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := sealedsender.NewServerCertificate(rand.Reader, root.Private, id, key.Public)
	if err != nil {
		t.Fatal(err)
	}
	return &server{root: root, key: key, cert: cert, expires: time.Now().Add(time.Hour)}
}

func (s *server) issue(t testing.TB, p *party) *sealedsender.SenderCertificate {
	t.Helper()
	return s.issueAt(t, p, s.expires)
}

func (s *server) issueAt(t testing.TB, p *party, expires time.Time) *sealedsender.SenderCertificate {
	t.Helper()
	c, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
		UUID: p.addr.Name, DeviceID: p.addr.DeviceID, IdentityKey: p.id.PublicKey(), Expires: expires,
	}, s.cert, s.key.Private)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *server) opts(p *party) sealedsender.DecryptOptions {
	return sealedsender.DecryptOptions{TrustRoot: s.root.Public, Now: time.Now(), Local: p.addr}
}
