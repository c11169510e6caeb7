package kdf_test

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/kdf"
)

func Example() {
	// Derive the 80 bytes of Double Ratchet message keys from a message key
	// seed: cipher key 32 ‖ MAC key 32 ‖ IV 16, no salt.
	seed := make([]byte, 32)
	okm, err := kdf.HKDF(seed, nil, []byte("WhisperMessageKeys"), 80)
	if err != nil {
		panic(err)
	}
	cipherKey, macKey, iv := okm[:32], okm[32:64], okm[64:]
	fmt.Println(len(cipherKey), len(macKey), len(iv))

	// RFC 5869 test case 3 (no salt, no info).
	ikm := []byte{0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b}
	dst := make([]byte, 42)
	if err := kdf.HKDFInto(dst, ikm, nil, nil); err != nil {
		panic(err)
	}
	fmt.Printf("%x\n", dst)
	// Output:
	// 32 32 16
	// 8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8
}
