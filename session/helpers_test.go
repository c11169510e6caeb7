package session_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// party is a test participant with an in-memory store.
type party struct {
	addr   session.Address
	id     prekey.IdentityKeyPair
	regID  uint32
	store  *session.MemoryStore
	cipher *session.Cipher
	nextID uint32
}

func newParty(t testing.TB, name string, opts ...session.Option) *party {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := prekey.GenerateRegistrationID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := session.NewMemoryStore(id, reg)
	return &party{
		addr: session.Address{Name: name, DeviceID: 1}, id: id, regID: reg,
		store: st, cipher: session.NewCipher(st, opts...), nextID: 1,
	}
}

// bundle publishes fresh prekeys; oneTime and kyber choose the optional parts.
func (p *party) bundle(t testing.TB, oneTime, kyber bool) *prekey.Bundle {
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
	b := &prekey.Bundle{
		RegistrationID: p.regID, DeviceID: 1, IdentityKey: p.id.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
	}
	if oneTime {
		pks, err := prekey.GeneratePreKeys(rand.Reader, id, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.store.StorePreKey(ctx, &pks[0]); err != nil {
			t.Fatal(err)
		}
		b.PreKeyID, b.PreKey = pks[0].ID, pks[0].KeyPair.Public
	}
	if kyber {
		k, err := prekey.GenerateKyberPreKey(rand.Reader, p.id, id, false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.store.StoreKyberPreKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
		b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = k.ID, k.KeyPair.Public, k.Signature
	}
	return b
}

type wire struct {
	typ session.MessageType
	ct  []byte
	pt  string
}

func (p *party) send(t testing.TB, to *party, text string) wire {
	t.Helper()
	typ, ct, err := p.cipher.Encrypt(context.Background(), to.addr, []byte(text))
	if err != nil {
		t.Fatalf("%s encrypt: %v", p.addr.Name, err)
	}
	return wire{typ, ct, text}
}

func (p *party) recv(t testing.TB, from *party, w wire) {
	t.Helper()
	pt, err := p.cipher.Decrypt(context.Background(), from.addr, w.typ, w.ct)
	if err != nil {
		t.Fatalf("%s decrypt %q: %v", p.addr.Name, w.pt, err)
	}
	if string(pt) != w.pt {
		t.Fatalf("%s decrypted %q, want %q", p.addr.Name, pt, w.pt)
	}
}

// record returns the serialized stored record p holds for addr.
func (p *party) record(t testing.TB, addr session.Address) []byte {
	t.Helper()
	r, err := p.store.LoadSession(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		return nil
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// established returns Alice and Bob with a session both ways (Bob has answered).
func established(t testing.TB, opts ...session.Option) (*party, *party) {
	t.Helper()
	alice, bob := newParty(t, "alice", opts...), newParty(t, "bob", opts...)
	if err := alice.cipher.ProcessBundle(context.Background(), bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	bob.recv(t, alice, alice.send(t, bob, "hello"))
	alice.recv(t, bob, bob.send(t, alice, "hi"))
	return alice, bob
}
