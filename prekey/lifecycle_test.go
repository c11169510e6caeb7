package prekey_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
)

// Issue #16 item 5: GeneratePreKeys(rand, 0, n) returned IDs 512, 1, 2 (the
// uint32 start-1 underflowed before the modulo). Start 0 is the first valid
// ID, 1; IDs wrap from MaxPreKeyID back to 1 and are never 0.
func TestIssue16Item5_GeneratePreKeysStartZero(t *testing.T) {
	for _, tc := range []struct {
		start uint32
		want  []uint32
	}{
		{0, []uint32{1, 2, 3}},
		{1, []uint32{1, 2, 3}},
		{prekey.MaxPreKeyID - 1, []uint32{prekey.MaxPreKeyID - 1, prekey.MaxPreKeyID, 1}},
		{prekey.MaxPreKeyID, []uint32{prekey.MaxPreKeyID, 1, 2}},
	} {
		keys, err := prekey.GeneratePreKeys(rand.Reader, tc.start, len(tc.want))
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			if k.ID != tc.want[i] {
				t.Errorf("GeneratePreKeys(start %#x)[%d].ID = %#x, want %#x", tc.start, i, k.ID, tc.want[i])
			}
		}
	}
	if _, err := prekey.GeneratePreKeys(rand.Reader, 1, -1); err == nil {
		t.Error("a negative count must fail, not panic")
	}
}

// Issue #16 item 4: next IDs wrap at 2^24 as libsignal's KeyHelper does,
// never giving 0.
func TestIssue16Item4_NextPreKeyID(t *testing.T) {
	for in, want := range map[uint32]uint32{0: 1, 1: 2, 41: 42, prekey.MaxPreKeyID - 1: prekey.MaxPreKeyID, prekey.MaxPreKeyID: 1} {
		if got := prekey.NextPreKeyID(in); got != want {
			t.Errorf("NextPreKeyID(%#x) = %#x, want %#x", in, got, want)
		}
	}
}

// Issue #16 item 4: WhatsApp transmits bare 32-byte Curve25519 keys; the
// raw constructors add libsignal's 0x05 type byte.
func TestIssue16Item4_RawKeys(t *testing.T) {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	ser := id.PublicKey().Bytes()
	if ser[0] != prekey.KeyTypeDJB {
		t.Fatalf("serialized key starts with %#x", ser[0])
	}
	ik, err := prekey.NewIdentityKeyRaw(ser[1:])
	if err != nil || !ik.Equal(id.PublicKey()) {
		t.Fatalf("NewIdentityKeyRaw: %v", err)
	}
	if raw := ik.Raw(); !bytes.Equal(raw[:], ser[1:]) {
		t.Fatal("Raw is not the 32 bytes after the type byte")
	}
	pk, err := prekey.NewPublicKeyRaw(ser[1:])
	if err != nil || !bytes.Equal(pk.Bytes(), ser) {
		t.Fatalf("NewPublicKeyRaw: %v", err)
	}
	for _, bad := range [][]byte{nil, ser, ser[2:]} {
		if _, err := prekey.NewPublicKeyRaw(bad); !errors.Is(err, prekey.ErrInvalidKey) {
			t.Errorf("NewPublicKeyRaw(%d bytes) = %v, want ErrInvalidKey", len(bad), err)
		}
		if _, err := prekey.NewIdentityKeyRaw(bad); !errors.Is(err, prekey.ErrInvalidKey) {
			t.Errorf("NewIdentityKeyRaw(%d bytes) = %v, want ErrInvalidKey", len(bad), err)
		}
	}
}

// Issue #16 item 4: NewBundle builds a bundle from the records a device
// keeps, and the bundle verifies and starts PQXDH.
func TestIssue16Item4_NewBundle(t *testing.T) {
	bob, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bob, 5, time.Now())
	kyber, _ := prekey.GenerateKyberPreKey(rand.Reader, bob, 6, false, time.Now())
	otks, _ := prekey.GeneratePreKeys(rand.Reader, 7, 1)

	b := prekey.NewBundle(1234, 3, bob.PublicKey(), &spk, &otks[0], &kyber)
	if err := b.Verify(); err != nil {
		t.Fatal(err)
	}
	if b.RegistrationID != 1234 || b.DeviceID != 3 || b.SignedPreKeyID != 5 || b.KyberPreKeyID != 6 || b.PreKeyID != 7 ||
		!b.HasPreKey() || !b.HasKyberPreKey() || !b.PreKey.Equal(otks[0].KeyPair.Public) {
		t.Fatalf("bundle = %+v", b)
	}
	if _, err := prekey.Initiate(rand.Reader, bob, b, prekey.Version4); err != nil {
		t.Fatal(err)
	}
	// Optional parts are absent when nil; the signature is a copy.
	b = prekey.NewBundle(1, 1, bob.PublicKey(), &spk, nil, nil)
	if b.HasPreKey() || b.HasKyberPreKey() || b.Verify() != nil {
		t.Fatalf("bundle without optional prekeys = %+v", b)
	}
	b.SignedPreKeySignature[0] ^= 1
	if spk.Signature[0] == b.SignedPreKeySignature[0] {
		t.Fatal("NewBundle shares the record's signature")
	}
}
