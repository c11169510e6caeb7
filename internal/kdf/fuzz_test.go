package kdf

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// FuzzHKDFDifferential compares the hand-written HKDF and HMAC with
// crypto/hkdf and crypto/hmac on arbitrary inputs, across the stack/heap
// buffer boundary and the hashed-key (salt over 64 bytes) case.
func FuzzHKDFDifferential(f *testing.F) {
	f.Add([]byte{0x0b, 0x0b}, []byte{}, []byte("WhisperMessageKeys"), uint16(80))
	f.Add(make([]byte, 32), make([]byte, 32), []byte("WhisperRatchet"), uint16(64))
	f.Add(make([]byte, 225), make([]byte, 65), make([]byte, 192), uint16(97))
	f.Add(make([]byte, 224), make([]byte, 64), make([]byte, 191), uint16(MaxLength))
	f.Add(make([]byte, 66), make([]byte, 32), make([]byte, 1100), uint16(32))
	f.Fuzz(func(t *testing.T, secret, salt, info []byte, l uint16) {
		length := int(l) % (MaxLength + 1)
		got, err := HKDF(secret, salt, info, length)
		if err != nil {
			t.Fatal(err)
		}
		s := salt
		if len(s) == 0 {
			s = make([]byte, sha256.Size)
		}
		want, err := hkdf.Key(sha256.New, secret, s, string(info), length)
		if err != nil && length != 0 {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("HKDF(%x, %x, %x, %d) = %x, crypto/hkdf %x", secret, salt, info, length, got, want)
		}
		dst := make([]byte, length)
		if err := HKDFInto(dst, secret, salt, info); err != nil || !bytes.Equal(dst, want) {
			t.Fatalf("HKDFInto: %x, %v", dst, err)
		}
		m := hmac.New(sha256.New, salt)
		m.Write(info)
		if h := HMAC(salt, info); !bytes.Equal(h[:], m.Sum(nil)) {
			t.Fatalf("HMAC(%x, %x) = %x", salt, info, h)
		}
		m.Reset()
		m.Write(secret)
		m.Write(info)
		if h := HMACConcat(salt, secret, info); !bytes.Equal(h[:], m.Sum(nil)) {
			t.Fatalf("HMACConcat(%x, %x, %x) = %x", salt, secret, info, h)
		}
		a, b := HMAC2(secret, info, salt)
		if ha, hb := HMAC(secret, info), HMAC(secret, salt); a != ha || b != hb {
			t.Fatal("HMAC2 differs from two HMACs")
		}
	})
}

// TestZeroAllocs: the call shapes of the ratchet and SPQR allocate nothing.
func TestZeroAllocs(t *testing.T) {
	secret := make([]byte, 32)
	salt := make([]byte, 32)
	ikm := make([]byte, 224) // the PQXDH IKM is 32 + 4·32 + 32 bytes
	info := make([]byte, 191)
	dst := make([]byte, 80)
	long := make([]byte, 1200)
	for name, fn := range map[string]func(){
		"message keys": func() { _ = HKDFInto(dst, secret, nil, []byte("WhisperMessageKeys")) },
		"root step":    func() { _ = HKDFInto(dst[:64], secret, salt, []byte("WhisperRatchet")) },
		"long salt":    func() { _ = HKDFInto(dst, secret, make([]byte, 100), nil) },
		"largest":      func() { _ = HKDFInto(dst, ikm, salt, info) },
		"chain step":   func() { _, _ = HMAC2(secret, []byte{1}, []byte{2}) },
		"hmac":         func() { _ = HMAC(secret, info) },
		"hmac concat":  func() { _ = HMACConcat(secret, ikm[:66], long) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
