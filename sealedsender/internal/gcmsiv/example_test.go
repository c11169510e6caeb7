package gcmsiv_test

import (
	"errors"
	"fmt"

	"github.com/interlock-e2ee/interlock/sealedsender/internal/gcmsiv"
)

// Seal and open a message with AEAD_AES_256_GCM_SIV. The key, nonce,
// additional data and plaintext are those of RFC 8452, Appendix C.2, so the
// ciphertext is the RFC's. Real callers use fresh random keys.
func Example() {
	key := make([]byte, 32)
	key[0] = 0x01
	nonce := make([]byte, gcmsiv.NonceSize)
	nonce[0] = 0x03
	additionalData := []byte{0x01}
	plaintext := []byte{0x02, 0, 0, 0, 0, 0, 0, 0}

	aead, err := gcmsiv.New(key)
	if err != nil {
		panic(err)
	}
	sealed := aead.Seal(nil, nonce, plaintext, additionalData)
	fmt.Printf("sealed: %x (%d bytes)\n", sealed, len(sealed))

	opened, err := aead.Open(nil, nonce, sealed, additionalData)
	if err != nil {
		panic(err)
	}
	fmt.Printf("opened: %x\n", opened)

	// A flipped bit anywhere (here in the tag) fails authentication.
	sealed[len(sealed)-1] ^= 1
	_, err = aead.Open(nil, nonce, sealed, additionalData)
	fmt.Println(errors.Is(err, gcmsiv.ErrOpen), err)
	// Output:
	// sealed: 1de22967237a813291213f267e3b452f02d01ae33e4ec854 (24 bytes)
	// opened: 0200000000000000
	// true gcmsiv: message authentication failed
}
