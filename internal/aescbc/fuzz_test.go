package aescbc

import (
	"bytes"
	"testing"
)

// FuzzCBCDecrypt: Decrypt never panics for any key, IV or ciphertext; on
// success the output is shorter than the input by 1 to 16 bytes and
// re-encrypts to the same ciphertext.
func FuzzCBCDecrypt(f *testing.F) {
	key, iv := make([]byte, 32), make([]byte, 16)
	ct, _ := Encrypt(key, iv, []byte("seed corpus"))
	f.Add(key, iv, ct)
	f.Add(key, iv, append(bytes.Clone(ct), 0))
	f.Add(key, iv, []byte{})
	f.Add(key[:16], iv, ct)
	f.Add(key, iv[:8], ct)
	f.Fuzz(func(t *testing.T, key, iv, ct []byte) {
		in := bytes.Clone(ct)
		pt, err := Decrypt(key, iv, ct)
		if !bytes.Equal(in, ct) {
			t.Fatal("ciphertext modified")
		}
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext with error")
			}
			return
		}
		if d := len(ct) - len(pt); d < 1 || d > 16 {
			t.Fatalf("removed %d bytes", d)
		}
		again, err := Encrypt(key, iv, pt)
		if err != nil || !bytes.Equal(again, ct) {
			t.Fatal("re-encryption differs")
		}
	})
}

// FuzzCBCRoundTrip: Encrypt then Decrypt is the identity.
func FuzzCBCRoundTrip(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 16), []byte("hello"))
	f.Fuzz(func(t *testing.T, key, iv, pt []byte) {
		ct, err := Encrypt(key, iv, pt)
		if err != nil {
			return
		}
		got, err := Decrypt(key, iv, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
