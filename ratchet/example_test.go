package ratchet_test

import (
	"crypto/rand"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/ratchet"
)

// Alice and Bob start from shared secrets (as X3DH/PQXDH would give them);
// Bob's signed prekey is his first ratchet key.
func Example() {
	var root, chain [32]byte
	rand.Read(root[:])
	rand.Read(chain[:])
	bobRatchet, _ := curve.GenerateKeyPair(rand.Reader)

	alice, _ := ratchet.InitAlice(rand.Reader, root, chain, bobRatchet.Public)
	bob := ratchet.InitBob(root, chain, bobRatchet)

	h, sent, _ := alice.Send()
	err := bob.Receive(rand.Reader, h, func(got ratchet.MessageKeys) error {
		fmt.Println("same message key:", got.CipherKey == sent.CipherKey)
		return nil
	})
	fmt.Println("received:", err == nil)
	// A second delivery of the same header is refused.
	err = bob.Receive(rand.Reader, h, func(ratchet.MessageKeys) error { return nil })
	fmt.Println(err)
	// Output:
	// same message key: true
	// received: true
	// ratchet: duplicate message
}
