package curve_test

import (
	"crypto/rand"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/curve"
)

func Example() {
	alice, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		panic(err)
	}
	bob, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		panic(err)
	}

	// Bob receives Alice's serialized public key and parses it.
	alicePub, err := curve.NewPublicKey(alice.Public.Bytes())
	if err != nil {
		panic(err)
	}

	// Both sides compute the same X25519 shared secret.
	s1, _ := alice.Private.ECDH(bob.Public)
	s2, _ := bob.Private.ECDH(alicePub)
	fmt.Println("shared secrets equal:", s1 == s2)

	// Alice signs Bob's serialized key with XEdDSA; Bob verifies.
	sig, err := alice.Private.Sign(rand.Reader, bob.Public.Bytes())
	if err != nil {
		panic(err)
	}
	fmt.Println("signature length:", len(sig))
	fmt.Println("signature valid:", alicePub.VerifySignature(bob.Public.Bytes(), sig))
	fmt.Println(alice.Private)
	// Output:
	// shared secrets equal: true
	// signature length: 64
	// signature valid: true
	// curve.PrivateKey(REDACTED)
}
