package kem_test

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/kem"
)

func Example() {
	// Bob publishes a Kyber-1024 prekey.
	bob, err := kem.GenerateKeyPair(kem.Kyber1024, rand.Reader)
	if err != nil {
		panic(err)
	}
	published := bob.Public.Bytes()

	// Alice parses it and encapsulates a shared secret to it.
	pub, err := kem.NewPublicKey(published)
	if err != nil {
		panic(err)
	}
	ciphertext, aliceSecret, err := pub.Encapsulate(rand.Reader)
	if err != nil {
		panic(err)
	}

	// Bob decapsulates.
	bobSecret, err := bob.Secret.Decapsulate(ciphertext)
	if err != nil {
		panic(err)
	}
	fmt.Println(pub.Type(), len(published), len(ciphertext), len(bobSecret))
	fmt.Println("secrets equal:", bytes.Equal(aliceSecret, bobSecret))
	fmt.Println(bob.Secret)
	// Output:
	// Kyber1024 1569 1569 32
	// secrets equal: true
	// kem.SecretKey(Kyber1024, REDACTED)
}
