package spqr_test

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"github.com/interlock-e2ee/interlock/ratchet/spqr"
)

// Two parties start from the SPQR key PQXDH gave them and exchange
// messages; each message's key (the salt of its Double Ratchet message keys)
// agrees on both sides.
func Example() {
	key := make([]byte, 32) // prekey.Secrets.PQRatchetKey in a real session
	alice, _ := spqr.NewState(spqr.Params{Direction: spqr.A2B, Version: spqr.V1, MinVersion: spqr.V1, AuthKey: key})
	bob, _ := spqr.NewState(spqr.Params{Direction: spqr.B2A, Version: spqr.V1, MinVersion: spqr.V1, AuthKey: key})

	agree := 0
	for range 100 {
		next, msg, sent, err := alice.Send(rand.Reader)
		if err != nil {
			panic(err)
		}
		alice = next
		nextBob, got, err := bob.Recv(msg) // commit nextBob only if the message authenticates
		if err != nil {
			panic(err)
		}
		bob = nextBob
		if bytes.Equal(sent, got) {
			agree++
		}
		alice, bob = bob, alice // take turns
	}
	fmt.Println(agree, "of 100 keys agree")
	// Output: 100 of 100 keys agree
}
