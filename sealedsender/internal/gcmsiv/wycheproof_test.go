package gcmsiv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/wycheproof"
)

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for AES-GCM-SIV
// (RFC 8452), the AEAD of sealed sender v2.
var wycheproofFiles = []string{"aes_gcm_siv_test.json"}

// gcmSIVDecisions: the file has no acceptable cases; one that appears fails
// the run until it is decided here.
var gcmSIVDecisions = []wycheproof.Decision{}

type aeadGroup struct {
	Type    string `json:"type"`
	KeySize int    `json:"keySize"`
	IVSize  int    `json:"ivSize"`
	TagSize int    `json:"tagSize"`
	Tests   []struct {
		wycheproof.Test
		Key wycheproof.Hex `json:"key"`
		IV  wycheproof.Hex `json:"iv"`
		AAD wycheproof.Hex `json:"aad"`
		Msg wycheproof.Hex `json:"msg"`
		CT  wycheproof.Hex `json:"ct"`
		Tag wycheproof.Hex `json:"tag"`
	} `json:"tests"`
}

// checkGCMSIV: a valid case seals msg to ct ‖ tag and opens it back; an
// invalid one (a modified tag) must fail to open with ErrOpen and release
// no plaintext. A key or nonce of an unsupported size must be refused by New
// or count as invalid without calling Seal (cipher.AEAD panics on a wrong
// nonce length, the caller's bug, never reached with untrusted sizes).
func checkGCMSIV(f *wycheproof.File[aeadGroup]) *wycheproof.Report {
	r := &wycheproof.Report{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "AeadTest" {
				r.Skipped++
				continue
			}
			want, err := r.Want(tc.Test, gcmSIVDecisions)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Checked++
			a, err := New(tc.Key)
			if err != nil || len(tc.IV) != NonceSize || len(tc.Tag) != TagSize {
				if want {
					r.Fail(tc.Test, "unsupported parameters (key %d, iv %d, tag %d bytes): %v", len(tc.Key), len(tc.IV), len(tc.Tag), err)
				}
				continue
			}
			sealed := append(append([]byte(nil), tc.CT...), tc.Tag...)
			pt, err := a.Open(nil, tc.IV, sealed, tc.AAD)
			if !want {
				if err == nil || !errors.Is(err, ErrOpen) || pt != nil {
					r.Fail(tc.Test, "opened: %x, %v", pt, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(pt, tc.Msg) {
				r.Fail(tc.Test, "open: %x, %v", pt, err)
			}
			if got := a.Seal(nil, tc.IV, tc.Msg, tc.AAD); !bytes.Equal(got, sealed) {
				r.Fail(tc.Test, "seal: %x, want %x", got, sealed)
			}
		}
	}
	return r
}

func TestWycheproofAESGCMSIV(t *testing.T) {
	var f wycheproof.File[aeadGroup]
	wycheproof.Load(t, wycheproof.Dir(), "aes_gcm_siv_test.json", wycheproofFiles, &f)
	checkGCMSIV(&f).Finish(t, "aes_gcm_siv_test.json")
}

// TestWycheproofHarness runs the harness over a file in the Wycheproof
// schema typed from RFC 8452, Appendix C.1 (the first AEAD_AES_128_GCM_SIV
// example): it passes as is, and a flipped ciphertext byte (valid), a case
// relabelled invalid and an undecided acceptable case are all reported.
func TestWycheproofHarness(t *testing.T) {
	dir := t.TempDir()
	const h = `{"algorithm":"AES-GCM-SIV","schema":"aead_test_schema_v1.json","numberOfTests":2,"testGroups":[{"type":"AeadTest","keySize":128,"ivSize":96,"tagSize":128,"tests":[
 {"tcId":1,"comment":"RFC 8452 C.1","flags":["Ktv"],"key":"01000000000000000000000000000000","iv":"030000000000000000000000","aad":"","msg":"","ct":"","tag":"dc20e2d83f25705bb49e439eca56de25","result":"valid"},
 {"tcId":2,"comment":"RFC 8452 C.1","flags":["Ktv"],"key":"01000000000000000000000000000000","iv":"030000000000000000000000","aad":"","msg":"0100000000000000","ct":"b5d839330ac7b786","tag":"578782fff6013b815b287c22493a364c","result":"valid"}]}]}`
	wycheproof.WriteFile(t, dir, "aes_gcm_siv_test.json", h)
	var f wycheproof.File[aeadGroup]
	wycheproof.Load(t, dir, "aes_gcm_siv_test.json", wycheproofFiles, &f)
	if r := checkGCMSIV(&f); len(r.Problems) != 0 || r.Checked != 2 {
		t.Fatalf("%d checked, problems %v", r.Checked, r.Problems)
	}
	tests := f.TestGroups[0].Tests
	tests[1].CT[0] ^= 1         // open fails, seal differs
	tests[0].Result = "invalid" // opens although invalid
	if r := checkGCMSIV(&f); len(r.Problems) != 3 {
		t.Fatalf("broken: problems %v", r.Problems)
	}
	tests[0].Result = "acceptable"
	if r := checkGCMSIV(&f); len(r.Problems) != 3 {
		t.Fatalf("undecided: problems %v", r.Problems)
	}
}
