package envelope_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

var (
	aliceAddr = session.Address{Name: "9d0652a3-dcc3-4d11-975f-74d61598733f", DeviceID: 1}
	bobAddr   = session.Address{Name: "0f3f2c0c-6e4b-4e2a-9b7a-0c5f2b2d7e11", DeviceID: 2}
)

// pair sets up a session from alice to bob: PQXDH (version 4) by default,
// X3DH (version 3, the WhatsApp/Messenger flavour) when x3dh is set.
func pair(t testing.TB, x3dh bool) (alice, bob *session.Cipher) {
	t.Helper()
	ctx := context.Background()
	newStore := func() (*session.MemoryStore, prekey.IdentityKeyPair) {
		id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return session.NewMemoryStore(id, 7), id
	}
	aliceStore, _ := newStore()
	bobStore, bobID := newStore()
	var opts []session.Option
	if x3dh {
		opts = append(opts, session.WithPolicy(session.AllowX3DH))
	}
	alice, bob = session.NewCipher(aliceStore, opts...), session.NewCipher(bobStore, opts...)
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, bobID, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bobStore.StoreSignedPreKey(ctx, &spk)
	bundle := &prekey.Bundle{
		RegistrationID: 7, DeviceID: bobAddr.DeviceID, IdentityKey: bobID.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
	}
	if !x3dh {
		kyber, err := prekey.GenerateKyberPreKey(rand.Reader, bobID, 1, true, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		bobStore.StoreKyberPreKey(ctx, &kyber)
		bundle.KyberPreKeyID, bundle.KyberPreKey, bundle.KyberPreKeySignature = kyber.ID, kyber.KeyPair.Public, kyber.Signature
	}
	if err := alice.ProcessBundle(ctx, bobAddr, bundle); err != nil {
		t.Fatal(err)
	}
	return alice, bob
}
