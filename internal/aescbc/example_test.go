package aescbc_test

import (
	"crypto/hmac"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/aescbc"
)

func Example() {
	cipherKey := make([]byte, 32) // from HKDF in real use
	macKey := make([]byte, 32)
	iv := make([]byte, 16)

	// Encrypt-then-MAC.
	ct, err := aescbc.Encrypt(cipherKey, iv, []byte("attack at dawn"))
	if err != nil {
		panic(err)
	}
	tag := aescbc.HMACSHA256(macKey, iv, ct)

	// The receiver checks the MAC first, in constant time, then decrypts.
	check := aescbc.HMACSHA256(macKey, iv, ct)
	if !hmac.Equal(tag[:], check[:]) {
		panic("bad MAC")
	}
	pt, err := aescbc.Decrypt(cipherKey, iv, ct)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(ct), string(pt))

	_, err = aescbc.Decrypt(cipherKey, iv, append(ct, 0))
	fmt.Println(err)
	// Output:
	// 16 attack at dawn
	// aescbc: invalid ciphertext: length 17 is not a positive multiple of 16
}
