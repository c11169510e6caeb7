package prekey_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
)

func TestRecordsRoundTrip(t *testing.T) {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, id, 7, time.UnixMilli(1700000000000))
	b, err := spk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := prekey.UnmarshalSignedPreKeyRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != 7 || !back.KeyPair.Public.Equal(spk.KeyPair.Public) || !bytes.Equal(back.Signature, spk.Signature) || !back.Timestamp.Equal(spk.Timestamp) {
		t.Fatal("signed prekey does not round-trip")
	}
	kpk, _ := prekey.GenerateKyberPreKey(rand.Reader, id, 3, true, time.UnixMilli(1700000000000))
	b, _ = kpk.Marshal()
	kback, err := prekey.UnmarshalKyberPreKeyRecord(b)
	if err != nil || !kback.LastResort || !kback.KeyPair.Public.Equal(kpk.KeyPair.Public) {
		t.Fatalf("Kyber prekey does not round-trip: %v", err)
	}
	ib, _ := prekey.MarshalIdentityKeyPair(id)
	iback, err := prekey.UnmarshalIdentityKeyPair(ib)
	if err != nil || !iback.PublicKey().Equal(id.PublicKey()) {
		t.Fatal("identity does not round-trip")
	}
	// A public key that does not match the private key is a corrupt record.
	other, _ := prekey.GenerateKeyPair(rand.Reader)
	spk.KeyPair.Public = other.Public
	b, _ = spk.Marshal()
	if _, err := prekey.UnmarshalSignedPreKeyRecord(b); !errors.Is(err, prekey.ErrInvalidRecord) {
		t.Fatalf("mismatched key pair: %v", err)
	}
}

func TestRegistrationIDRange(t *testing.T) {
	for range 1000 {
		id, err := prekey.GenerateRegistrationID(rand.Reader)
		if err != nil || id < 1 || id > 16380 {
			t.Fatalf("registration ID %d, %v", id, err)
		}
	}
}

func TestX3DHAndPQXDHAgree(t *testing.T) {
	for _, v := range []int{prekey.Version3, prekey.Version4} {
		for _, oneTime := range []bool{false, true} {
			bob, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bob, 1, time.Now())
			kpk, _ := prekey.GenerateKyberPreKey(rand.Reader, bob, 1, false, time.Now())
			opk, _ := prekey.GeneratePreKeys(rand.Reader, 1, 1)
			b := &prekey.Bundle{IdentityKey: bob.PublicKey(), SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature}
			if v == prekey.Version4 {
				b.KyberPreKey, b.KyberPreKeySignature = kpk.KeyPair.Public, kpk.Signature
			}
			if oneTime {
				b.PreKey = opk[0].KeyPair.Public
			}
			if err := b.Verify(); err != nil {
				t.Fatal(err)
			}
			alice, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			init, err := prekey.Initiate(rand.Reader, alice, b, v)
			if err != nil {
				t.Fatal(err)
			}
			r := &prekey.Response{Version: v, Ours: bob, SignedPreKey: spk.KeyPair, TheirIdentity: alice.PublicKey(), TheirBaseKey: init.BaseKey.Public}
			if oneTime {
				r.OneTimePreKey = &opk[0].KeyPair
			}
			if v == prekey.Version4 {
				r.KyberPreKey, r.KyberCiphertext = &kpk.KeyPair.Secret, init.KyberCiphertext
			}
			s, err := prekey.Respond(r)
			if err != nil {
				t.Fatal(err)
			}
			if s != init.Secrets {
				t.Fatalf("v%d one-time=%v: secrets differ", v, oneTime)
			}
			// Without the one-time key the responder derives something else.
			if oneTime {
				r.OneTimePreKey = nil
				if s2, _ := prekey.Respond(r); s2.RootKey == init.RootKey {
					t.Fatal("one-time prekey not mixed in")
				}
			}
		}
	}
	// PQXDH without a Kyber prekey is refused.
	bob, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bob, 1, time.Now())
	b := &prekey.Bundle{IdentityKey: bob.PublicKey(), SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature}
	alice, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	if _, err := prekey.Initiate(rand.Reader, alice, b, prekey.Version4); !errors.Is(err, prekey.ErrNoKyberPreKey) {
		t.Fatal(err)
	}
}
