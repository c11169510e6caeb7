package aescbc

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for AES-256-CBC
// with PKCS#7 padding and for HMAC-SHA256.
var wycheproofFiles = []string{"aes_cbc_pkcs5_test.json", "hmac_sha256_test.json"}

// The Wycheproof loader (the same in internal/curve, internal/aescbc,
// internal/kdf and internal/kem). Wycheproof JSON is not committed: it is
// read from $INTERLOCK_WYCHEPROOF_DIR, else from ../../../shared/wycheproof
// (the steering repository's shared folder, which CI clones beside this
// one). Missing files skip the test with the directory and file names.

const wycheproofEnv = "INTERLOCK_WYCHEPROOF_DIR"

func wycheproofDir() string {
	if d := os.Getenv(wycheproofEnv); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "wycheproof")
}

// wpHex is a hex string in a Wycheproof file.
type wpHex []byte

func (h *wpHex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

// wpTest holds the fields every Wycheproof test case has.
type wpTest struct {
	TcID    json.Number `json:"tcId"`
	Comment string      `json:"comment"`
	Flags   []string    `json:"flags"`
	Result  string      `json:"result"` // valid, invalid or acceptable
}

// wpFile is a Wycheproof file with test groups of type G.
type wpFile[G any] struct {
	Algorithm     string `json:"algorithm"`
	Schema        string `json:"schema"`
	NumberOfTests int    `json:"numberOfTests"`
	TestGroups    []G    `json:"testGroups"`
}

// loadWycheproof parses dir/name into v. When the file is absent it skips
// the test, naming the directory and every file this package reads.
func loadWycheproof(t *testing.T, dir, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("Wycheproof file %s not found in %s; set %s or place these files there: %s",
			name, dir, wycheproofEnv, strings.Join(wycheproofFiles, ", "))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// wpDecision settles an "acceptable" Wycheproof case: a case carrying flag
// must be accepted (valid) or rejected, for the reason given. The first
// entry whose flag the case carries decides.
type wpDecision struct {
	flag  string
	valid bool
	why   string
}

// want returns whether the case must be accepted, and counts the
// decisions taken for acceptable cases. An acceptable case that no decision
// covers is an error: every such case is decided explicitly.
func (r *wpReport) want(tc wpTest, table []wpDecision) (bool, error) {
	switch tc.Result {
	case "valid":
		return true, nil
	case "invalid":
		return false, nil
	case "acceptable":
		for _, d := range table {
			if slices.Contains(tc.Flags, d.flag) {
				if r.decided == nil {
					r.decided = map[string]int{}
				}
				r.decided[fmt.Sprintf("%s -> valid=%v (%s)", d.flag, d.valid, d.why)]++
				return d.valid, nil
			}
		}
		return false, fmt.Errorf("tcId %s: acceptable case with flags %v has no decision", tc.TcID, tc.Flags)
	}
	return false, fmt.Errorf("tcId %s: unknown result %q", tc.TcID, tc.Result)
}

// wpReport collects a harness run: how many cases were checked and what
// went wrong.
type wpReport struct {
	checked  int
	skipped  int
	problems []string
	decided  map[string]int // acceptable cases per decision
}

func (r *wpReport) fail(tc wpTest, format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf("tcId %s (%s, flags %v): ", tc.TcID, tc.Comment, tc.Flags)+fmt.Sprintf(format, args...))
}

// report fails t for each problem and logs the counts.
func (r *wpReport) report(t *testing.T, name string) {
	t.Helper()
	for _, p := range r.problems {
		t.Error(name + ": " + p)
	}
	t.Logf("%s: %d cases checked, %d skipped, %d problems", name, r.checked, r.skipped, len(r.problems))
	for _, d := range slices.Sorted(maps.Keys(r.decided)) {
		t.Logf("%s: %d acceptable cases decided by %s", name, r.decided[d], d)
	}
	if r.checked == 0 {
		t.Errorf("%s: no case checked", name)
	}
}

// writeWycheproof writes a synthetic file for the harness self-tests.
func writeWycheproof(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Neither file has acceptable cases; any that appears fails the run until
// it is decided here.
var (
	cbcDecisions  = []wpDecision{}
	hmacDecisions = []wpDecision{}
)

type cbcGroup struct {
	Type    string `json:"type"`
	KeySize int    `json:"keySize"` // bits
	IVSize  int    `json:"ivSize"`  // bits
	Tests   []struct {
		wpTest
		Key wpHex `json:"key"`
		IV  wpHex `json:"iv"`
		Msg wpHex `json:"msg"`
		CT  wpHex `json:"ct"`
	} `json:"tests"`
}

// checkCBC runs the 256-bit-key groups (the package is AES-256 only; the
// 128- and 192-bit groups are counted as skipped): a valid case must
// encrypt to ct and decrypt back, an invalid one must fail to decrypt.
func checkCBC(f *wpFile[cbcGroup]) *wpReport {
	r := &wpReport{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "IndCpaTest" || g.KeySize != 8*KeySize || g.IVSize != 8*IVSize {
				r.skipped++
				continue
			}
			want, err := r.want(tc.wpTest, cbcDecisions)
			if err != nil {
				r.problems = append(r.problems, err.Error())
				continue
			}
			r.checked++
			pt, err := Decrypt(tc.Key, tc.IV, tc.CT)
			switch {
			case want && err != nil:
				r.fail(tc.wpTest, "decrypt: %v", err)
			case want && !bytes.Equal(pt, tc.Msg):
				r.fail(tc.wpTest, "decrypts to %x, want %x", pt, []byte(tc.Msg))
			case !want && err == nil:
				r.fail(tc.wpTest, "decrypted to %x", pt)
			case !want && !errors.Is(err, ErrInvalidCiphertext):
				r.fail(tc.wpTest, "error %v is not ErrInvalidCiphertext", err)
			}
			if want {
				if ct, err := Encrypt(tc.Key, tc.IV, tc.Msg); err != nil || !bytes.Equal(ct, tc.CT) {
					r.fail(tc.wpTest, "encrypts to %x (%v), want %x", ct, err, []byte(tc.CT))
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
		wpTest
		Key wpHex `json:"key"`
		Msg wpHex `json:"msg"`
		Tag wpHex `json:"tag"`
	} `json:"tests"`
}

// checkHMAC: the first tagSize bits of HMACSHA256(key, msg) must equal tag
// (hmac.Equal) for a valid case and differ for an invalid one.
func checkHMAC(f *wpFile[hmacGroup]) *wpReport {
	r := &wpReport{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "MacTest" || g.TagSize%8 != 0 || g.TagSize <= 0 || g.TagSize > 256 {
				r.skipped++
				continue
			}
			want, err := r.want(tc.wpTest, hmacDecisions)
			if err != nil {
				r.problems = append(r.problems, err.Error())
				continue
			}
			r.checked++
			mac := HMACSHA256(tc.Key, tc.Msg)
			if got := hmac.Equal(mac[:g.TagSize/8], tc.Tag); got != want {
				r.fail(tc.wpTest, "tag match = %v, want %v (computed %x)", got, want, mac[:g.TagSize/8])
			}
		}
	}
	return r
}

func TestWycheproofAESCBC(t *testing.T) {
	var f wpFile[cbcGroup]
	loadWycheproof(t, wycheproofDir(), "aes_cbc_pkcs5_test.json", &f)
	checkCBC(&f).report(t, "aes_cbc_pkcs5_test.json")
}

func TestWycheproofHMACSHA256(t *testing.T) {
	var f wpFile[hmacGroup]
	loadWycheproof(t, wycheproofDir(), "hmac_sha256_test.json", &f)
	checkHMAC(&f).report(t, "hmac_sha256_test.json")
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
	writeWycheproof(t, dir, "aes_cbc_pkcs5_test.json", cbc)
	writeWycheproof(t, dir, "hmac_sha256_test.json", mac)
	var cf wpFile[cbcGroup]
	loadWycheproof(t, dir, "aes_cbc_pkcs5_test.json", &cf)
	if r := checkCBC(&cf); len(r.problems) != 0 || r.checked != 3 || r.skipped != 1 {
		t.Fatalf("cbc: %d checked, %d skipped, problems %v", r.checked, r.skipped, r.problems)
	}
	var hf wpFile[hmacGroup]
	loadWycheproof(t, dir, "hmac_sha256_test.json", &hf)
	if r := checkHMAC(&hf); len(r.problems) != 0 || r.checked != 4 {
		t.Fatalf("hmac: %d checked, problems %v", r.checked, r.problems)
	}

	cf.TestGroups[0].Tests[0].CT[20] ^= 1 // bad padding, and Encrypt no longer matches
	cf.TestGroups[0].Tests[1].Result = "acceptable"
	if r := checkCBC(&cf); len(r.problems) != 3 {
		t.Fatalf("cbc, broken: problems %v", r.problems)
	}
	hf.TestGroups[1].Tests[0].Tag[0] ^= 1
	if r := checkHMAC(&hf); len(r.problems) != 1 {
		t.Fatalf("hmac, broken: problems %v", r.problems)
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
