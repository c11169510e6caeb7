package aescbc

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/wycheproof"
)

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for AES-256-CBC
// with PKCS#7 padding and for HMAC-SHA256.
var wycheproofFiles = []string{"aes_cbc_pkcs5_test.json", "hmac_sha256_test.json"}

// Neither file has acceptable cases; any that appears fails the run until
// it is decided here.
var (
	cbcDecisions  = []wycheproof.Decision{}
	hmacDecisions = []wycheproof.Decision{}
)

type cbcGroup struct {
	Type    string `json:"type"`
	KeySize int    `json:"keySize"` // bits
	IVSize  int    `json:"ivSize"`  // bits
	Tests   []struct {
		wycheproof.Test
		Key wycheproof.Hex `json:"key"`
		IV  wycheproof.Hex `json:"iv"`
		Msg wycheproof.Hex `json:"msg"`
		CT  wycheproof.Hex `json:"ct"`
	} `json:"tests"`
}

// checkCBC runs the 256-bit-key groups (the package is AES-256 only; the
// 128- and 192-bit groups are counted as skipped): a valid case must
// encrypt to ct and decrypt back, an invalid one must fail to decrypt.
func checkCBC(f *wycheproof.File[cbcGroup]) *wycheproof.Report {
	r := &wycheproof.Report{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "IndCpaTest" || g.KeySize != 8*KeySize || g.IVSize != 8*IVSize {
				r.Skipped++
				continue
			}
			want, err := r.Want(tc.Test, cbcDecisions)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Checked++
			pt, err := Decrypt(tc.Key, tc.IV, tc.CT)
			switch {
			case want && err != nil:
				r.Fail(tc.Test, "decrypt: %v", err)
			case want && !bytes.Equal(pt, tc.Msg):
				r.Fail(tc.Test, "decrypts to %x, want %x", pt, []byte(tc.Msg))
			case !want && err == nil:
				r.Fail(tc.Test, "decrypted to %x", pt)
			case !want && !errors.Is(err, ErrInvalidCiphertext):
				r.Fail(tc.Test, "error %v is not ErrInvalidCiphertext", err)
			}
			if want {
				if ct, err := Encrypt(tc.Key, tc.IV, tc.Msg); err != nil || !bytes.Equal(ct, tc.CT) {
					r.Fail(tc.Test, "encrypts to %x (%v), want %x", ct, err, []byte(tc.CT))
				}
			}
		}
	}
	return r
}

type hmacGroup struct {
	Type    string `json:"type"`
	KeySize int    `json:"keySize"` // bits
	TagSize int    `json:"tagSize"` // bits: the tag is truncated to this
	Tests   []struct {
		wycheproof.Test
		Key wycheproof.Hex `json:"key"`
		Msg wycheproof.Hex `json:"msg"`
		Tag wycheproof.Hex `json:"tag"`
	} `json:"tests"`
}

// checkHMAC: the first tagSize bits of HMACSHA256(key, msg) must equal tag
// (hmac.Equal) for a valid case and differ for an invalid one.
func checkHMAC(f *wycheproof.File[hmacGroup]) *wycheproof.Report {
	r := &wycheproof.Report{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "MacTest" || g.TagSize%8 != 0 || g.TagSize <= 0 || g.TagSize > 256 {
				r.Skipped++
				continue
			}
			want, err := r.Want(tc.Test, hmacDecisions)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Checked++
			mac := HMACSHA256(tc.Key, tc.Msg)
			if got := hmac.Equal(mac[:g.TagSize/8], tc.Tag); got != want {
				r.Fail(tc.Test, "tag match = %v, want %v (computed %x)", got, want, mac[:g.TagSize/8])
			}
		}
	}
	return r
}

func TestWycheproofAESCBC(t *testing.T) {
	var f wycheproof.File[cbcGroup]
	wycheproof.Load(t, wycheproof.Dir(), "aes_cbc_pkcs5_test.json", wycheproofFiles, &f)
	checkCBC(&f).Finish(t, "aes_cbc_pkcs5_test.json")
}

func TestWycheproofHMACSHA256(t *testing.T) {
	var f wycheproof.File[hmacGroup]
	wycheproof.Load(t, wycheproof.Dir(), "hmac_sha256_test.json", wycheproofFiles, &f)
	checkHMAC(&f).Finish(t, "hmac_sha256_test.json")
}

// TestWycheproofHarness runs the harness over synthetic files in the
// Wycheproof schema, typed from NIST SP 800-38A F.2.5 (AES-256-CBC, first
// block, PKCS#7 padding block appended) and RFC 4231: correct files pass,
// wrong answers and undecided acceptable cases are reported, and a 128-bit
// group is skipped.
func TestWycheproofHarness(t *testing.T) {
	dir := t.TempDir()
	key := "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
	iv := "000102030405060708090a0b0c0d0e0f"
	msg := "6bc1bee22e409f96e93d7e117393172a"
	ct, err := Encrypt(mustHexW(t, key), mustHexW(t, iv), mustHexW(t, msg))
	if err != nil || hex.EncodeToString(ct[:16]) != "f58c4c04d6e5f1ba779eabfb5f7bfbd6" {
		t.Fatalf("SP 800-38A F.2.5 block 1: %x %v", ct, err)
	}
	// ct = C1 (typed above) || the PKCS#7 padding block E(K, C1 xor 16*0x10).
	cbc := `{"algorithm":"AES-CBC-PKCS5","schema":"ind_cpa_test_schema_v1.json","numberOfTests":4,"testGroups":[
 {"type":"IndCpaTest","keySize":256,"ivSize":128,"tests":[
  {"tcId":1,"comment":"SP 800-38A F.2.5 block 1 + padding","flags":["Pseudorandom"],"key":"` + key + `","iv":"` + iv + `","msg":"` + msg + `","ct":"` + hex.EncodeToString(ct) + `","result":"valid"},
  {"tcId":2,"comment":"no padding block","flags":["NoPadding"],"key":"` + key + `","iv":"` + iv + `","msg":"` + msg + `","ct":"f58c4c04d6e5f1ba779eabfb5f7bfbd6","result":"invalid"},
  {"tcId":3,"comment":"not a multiple of the block size","flags":["BadPadding"],"key":"` + key + `","iv":"` + iv + `","msg":"","ct":"f58c4c04d6e5f1ba779eabfb5f7bfb","result":"invalid"}]},
 {"type":"IndCpaTest","keySize":128,"ivSize":128,"tests":[
  {"tcId":4,"comment":"AES-128: skipped","flags":["Pseudorandom"],"key":"2b7e151628aed2a6abf7158809cf4f3c","iv":"` + iv + `","msg":"","ct":"00","result":"valid"}]}]}`
	mac := `{"algorithm":"HMACSHA256","schema":"mac_test_schema_v1.json","numberOfTests":4,"testGroups":[
 {"type":"MacTest","keySize":160,"tagSize":256,"tests":[
  {"tcId":1,"comment":"RFC 4231 test case 1","flags":["Pseudorandom"],"key":"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b","msg":"4869205468657265","tag":"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7","result":"valid"},
  {"tcId":2,"comment":"RFC 4231 test case 1, modified tag","flags":["ModifiedTag"],"key":"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b","msg":"4869205468657265","tag":"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff6","result":"invalid"}]},
 {"type":"MacTest","keySize":160,"tagSize":128,"tests":[
  {"tcId":3,"comment":"RFC 4231 test case 5 (truncated to 128 bits)","flags":["Pseudorandom"],"key":"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c","msg":"546573742057697468205472756e636174696f6e","tag":"a3b6167473100ee06e0c796c2955552b","result":"valid"},
  {"tcId":4,"comment":"RFC 4231 test case 2 truncated","flags":["Pseudorandom"],"key":"4a656665","msg":"7768617420646f2079612077616e7420666f72206e6f7468696e673f","tag":"5bdcc146bf60754e6a042426089575c7","result":"valid"}]}]}`
	wycheproof.WriteFile(t, dir, "aes_cbc_pkcs5_test.json", cbc)
	wycheproof.WriteFile(t, dir, "hmac_sha256_test.json", mac)
	var cf wycheproof.File[cbcGroup]
	wycheproof.Load(t, dir, "aes_cbc_pkcs5_test.json", wycheproofFiles, &cf)
	if r := checkCBC(&cf); len(r.Problems) != 0 || r.Checked != 3 || r.Skipped != 1 {
		t.Fatalf("cbc: %d checked, %d skipped, problems %v", r.Checked, r.Skipped, r.Problems)
	}
	var hf wycheproof.File[hmacGroup]
	wycheproof.Load(t, dir, "hmac_sha256_test.json", wycheproofFiles, &hf)
	if r := checkHMAC(&hf); len(r.Problems) != 0 || r.Checked != 4 {
		t.Fatalf("hmac: %d checked, problems %v", r.Checked, r.Problems)
	}

	cf.TestGroups[0].Tests[0].CT[20] ^= 1 // bad padding, and Encrypt no longer matches
	cf.TestGroups[0].Tests[1].Result = "acceptable"
	if r := checkCBC(&cf); len(r.Problems) != 3 {
		t.Fatalf("cbc, broken: problems %v", r.Problems)
	}
	hf.TestGroups[1].Tests[0].Tag[0] ^= 1
	if r := checkHMAC(&hf); len(r.Problems) != 1 {
		t.Fatalf("hmac, broken: problems %v", r.Problems)
	}
}

func mustHexW(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
