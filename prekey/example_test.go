package prekey_test

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
)

// Bob publishes a bundle; Alice verifies it and runs PQXDH; Bob derives the
// same secrets from the PreKeySignalMessage fields.
func Example() {
	bob, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bob, 1, time.Now())
	kyber, _ := prekey.GenerateKyberPreKey(rand.Reader, bob, 1, true, time.Now())
	bundle := &prekey.Bundle{
		IdentityKey:    bob.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		KyberPreKeyID: kyber.ID, KyberPreKey: kyber.KeyPair.Public, KyberPreKeySignature: kyber.Signature,
	}
	fmt.Println("bundle verifies:", bundle.Verify() == nil)

	alice, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	init, _ := prekey.Initiate(rand.Reader, alice, bundle, prekey.Version4)

	secrets, _ := prekey.Respond(&prekey.Response{
		Version: prekey.Version4, Ours: bob, SignedPreKey: spk.KeyPair,
		KyberPreKey: &kyber.KeyPair.Secret, KyberCiphertext: init.KyberCiphertext,
		TheirIdentity: alice.PublicKey(), TheirBaseKey: init.BaseKey.Public,
	})
	fmt.Println("same root key:", secrets.RootKey == init.RootKey)
	fmt.Println("Kyber ciphertext bytes:", len(init.KyberCiphertext))
	fmt.Println(strings.Contains(fmt.Sprint(bob), "REDACTED")) // private keys never print
	// Output:
	// bundle verifies: true
	// same root key: true
	// Kyber ciphertext bytes: 1569
	// true
}
