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
	bundle := prekey.NewBundle(1, 1, bob.PublicKey(), &spk, nil, &kyber)
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

// WhatsApp transmits Curve25519 keys as 32 bare bytes; libsignal's
// serialization puts the type byte 0x05 before them.
func ExampleNewIdentityKeyRaw() {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	raw := id.PublicKey().Raw() // what a WhatsApp IQ carries

	key, _ := prekey.NewIdentityKeyRaw(raw[:])
	fmt.Println(key.Equal(id.PublicKey()), len(key.Bytes()), key.Bytes()[0] == prekey.KeyTypeDJB)
	// Output: true 33 true
}

// A device keeps its prekeys and replenishes them with IDs that wrap at
// 2^24 and are never 0.
func ExampleNextPreKeyID() {
	batch, _ := prekey.GeneratePreKeys(rand.Reader, prekey.NextPreKeyID(0), 2)
	next, _ := prekey.GeneratePreKeys(rand.Reader, prekey.NextPreKeyID(batch[len(batch)-1].ID), 1)
	fmt.Println(batch[0].ID, batch[1].ID, next[0].ID, prekey.NextPreKeyID(prekey.MaxPreKeyID))
	// Output: 1 2 3 1
}
