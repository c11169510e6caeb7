package gcmsiv

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen: arbitrary ciphertexts never panic and never open without the
// tag; everything sealed opens to itself.
func FuzzOpen(f *testing.F) {
	f.Add(make([]byte, 32), []byte("plaintext"), []byte("aad"), []byte{})
	f.Add(make([]byte, 16), []byte{}, []byte{}, make([]byte, 16))
	f.Fuzz(func(t *testing.T, key, pt, aad, ct []byte) {
		if len(key) != 16 && len(key) != 32 {
			return
		}
		a, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, NonceSize)
		sealed := a.Seal(nil, nonce, pt, aad)
		back, err := a.Open(nil, nonce, sealed, aad)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("round trip: %v", err)
		}
		if out, err := a.Open(nil, nonce, ct, aad); err != nil {
			if out != nil || !errors.Is(err, ErrOpen) {
				t.Fatal("failed Open returned output or another error")
			}
		} else if !bytes.Equal(a.Seal(nil, nonce, out, aad), ct) {
			t.Fatal("opened a ciphertext that Seal does not produce")
		}
	})
}
