package prekey_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
)

func FuzzUnmarshalRecords(f *testing.F) {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, id, 1, time.Now())
	kpk, _ := prekey.GenerateKyberPreKey(rand.Reader, id, 1, false, time.Now())
	pks, _ := prekey.GeneratePreKeys(rand.Reader, 1, 1)
	for _, m := range []interface{ Marshal() ([]byte, error) }{&spk, &kpk, &pks[0]} {
		b, _ := m.Marshal()
		f.Add(b)
	}
	ib, _ := prekey.MarshalIdentityKeyPair(id)
	f.Add(ib)
	for _, b := range loadMauPreKeys(f) { // go.mau.fi's JSON form (issue #15)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := prekey.UnmarshalPreKeyRecord(b); err == nil {
			if _, err := r.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
		if r, err := prekey.UnmarshalSignedPreKeyRecord(b); err == nil {
			if _, err := r.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
		if r, err := prekey.UnmarshalKyberPreKeyRecord(b); err == nil {
			if _, err := r.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
		if p, err := prekey.UnmarshalIdentityKeyPair(b); err == nil && p.IsZero() {
			t.Fatal("zero identity without error")
		}
	})
}

func FuzzBundleKeys(f *testing.F) {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	f.Add(id.PublicKey().Bytes(), []byte{0x08})
	f.Fuzz(func(t *testing.T, ec, kem []byte) {
		if k, err := prekey.NewIdentityKey(ec); err == nil && len(k.Bytes()) != 33 {
			t.Fatal("bad length")
		}
		if k, err := prekey.NewKEMPublicKey(kem); err == nil && len(k.Bytes()) != len(kem) {
			t.Fatal("KEM key does not round-trip")
		}
	})
}
