package fingerprint_test

import (
	"bytes"
	"testing"

	"github.com/interlock-e2ee/interlock/fingerprint"
	"github.com/interlock-e2ee/interlock/prekey"
)

func FuzzParseScannable(f *testing.F) {
	a, err := prekey.NewIdentityKey(append([]byte{0x05}, bytes.Repeat([]byte{1}, 32)...))
	if err != nil {
		f.Fatal(err)
	}
	b, err := prekey.NewIdentityKey(append([]byte{0x05}, bytes.Repeat([]byte{2}, 32)...))
	if err != nil {
		f.Fatal(err)
	}
	fp, err := fingerprint.New(fingerprint.VersionACI, make([]byte, 16), a, make([]byte, 16), b, fingerprint.WithIterations(2))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fp.Scannable().Bytes())
	f.Add([]byte{0x08, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := fingerprint.ParseScannable(in)
		if err != nil {
			if s != nil {
				t.Fatal("non-nil result with an error")
			}
			return
		}
		again, err := fingerprint.ParseScannable(s.Bytes())
		if err != nil || *again != *s {
			t.Fatalf("re-parse: %v", err)
		}
		if _, err := fp.Scannable().Compare(in); err != nil && s.Version == fingerprint.VersionACI {
			t.Fatalf("compare: %v", err)
		}
	})
}
