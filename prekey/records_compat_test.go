package prekey_test

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
)

// loadMauPreKeys returns the prekey and signed prekey records of
// testdata/vectors/mau-records.json (interop/mau/cmd/mau-records).
func loadMauPreKeys(t testing.TB) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/vectors/mau-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PreKeys       map[string][]byte `json:"prekeys"`
		SignedPreKeys map[string][]byte `json:"signed_prekeys"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k, r := range v.PreKeys {
		out["prekey "+k] = r
	}
	for k, r := range v.SignedPreKeys {
		out["signed "+k] = r
	}
	return out
}

// TestIssue15MauPreKeyRecords: issue #15 item 1. go.mau.fi's prekey and
// signed prekey records (JSON) load and are written back in libsignal's
// form; a raw 32-byte public key is accepted when it matches.
func TestIssue15MauPreKeyRecords(t *testing.T) {
	for name, b := range loadMauPreKeys(t) {
		var out []byte
		var err error
		if name[0] == 's' {
			var r *prekey.SignedPreKeyRecord
			if r, err = prekey.UnmarshalSignedPreKeyRecord(b); err == nil {
				out, err = r.Marshal()
			}
		} else {
			var r *prekey.PreKeyRecord
			if r, err = prekey.UnmarshalPreKeyRecord(b); err == nil {
				out, err = r.Marshal()
				if _, err2 := prekey.UnmarshalPreKeyRecord(out); err2 != nil {
					t.Fatal(err2)
				}
			}
		}
		if err != nil || len(out) == 0 || out[0] == '{' {
			t.Fatalf("%s: %v", name, err)
		}
	}
	pk, _ := prekey.GeneratePreKeys(nil, 1, 2)
	raw := pk[0].KeyPair.Public.Bytes()[1:]
	b, _ := json.Marshal(map[string]any{"ID": 9, "PublicKey": raw, "PrivateKey": pk[0].KeyPair.Private.Bytes()})
	if r, err := prekey.UnmarshalPreKeyRecord(b); err != nil || r.ID != 9 {
		t.Fatalf("raw public key: %v", err)
	}
	b, _ = json.Marshal(map[string]any{"ID": 9, "PublicKey": pk[1].KeyPair.Public.Bytes()[1:], "PrivateKey": pk[0].KeyPair.Private.Bytes()})
	if _, err := prekey.UnmarshalPreKeyRecord(b); !errors.Is(err, prekey.ErrInvalidRecord) {
		t.Fatalf("mismatched raw public key: %v", err)
	}
}
