package kdf

import (
	"bytes"
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

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for HKDF-SHA256.
var wycheproofFiles = []string{"hkdf_sha256_test.json"}

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

// hkdfDecisions: hkdf_sha256_test.json has no acceptable cases; any that
// appears fails the run until it is decided here.
var hkdfDecisions = []wpDecision{}

type hkdfGroup struct {
	Type  string `json:"type"`
	Tests []struct {
		wpTest
		IKM  wpHex `json:"ikm"`
		Salt wpHex `json:"salt"`
		Info wpHex `json:"info"`
		Size int   `json:"size"`
		OKM  wpHex `json:"okm"`
	} `json:"tests"`
}

// checkHKDF: a valid case derives okm (through HKDF and HKDFInto); an
// invalid one (an output size over 255*32) must fail with ErrLength.
func checkHKDF(f *wpFile[hkdfGroup]) *wpReport {
	r := &wpReport{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "HkdfTest" {
				r.skipped++
				continue
			}
			want, err := r.want(tc.wpTest, hkdfDecisions)
			if err != nil {
				r.problems = append(r.problems, err.Error())
				continue
			}
			r.checked++
			okm, err := HKDF(tc.IKM, tc.Salt, tc.Info, tc.Size)
			switch {
			case want && err != nil:
				r.fail(tc.wpTest, "rejected: %v", err)
			case want && !bytes.Equal(okm, tc.OKM):
				r.fail(tc.wpTest, "okm %x, want %x", okm, []byte(tc.OKM))
			case !want && !errors.Is(err, ErrLength):
				r.fail(tc.wpTest, "size %d: got %d bytes, error %v; want ErrLength", tc.Size, len(okm), err)
			}
			if want && err == nil {
				dst := make([]byte, tc.Size)
				if err := HKDFInto(dst, tc.IKM, tc.Salt, tc.Info); err != nil || !bytes.Equal(dst, tc.OKM) {
					r.fail(tc.wpTest, "HKDFInto: %x, %v", dst, err)
				}
			}
		}
	}
	return r
}

func TestWycheproofHKDFSHA256(t *testing.T) {
	var f wpFile[hkdfGroup]
	loadWycheproof(t, wycheproofDir(), "hkdf_sha256_test.json", &f)
	checkHKDF(&f).report(t, "hkdf_sha256_test.json")
}

// TestWycheproofHarness runs the harness over a synthetic file in the
// Wycheproof schema, typed from RFC 5869, Appendix A.1 and A.3: the correct
// file passes, and a wrong okm, a wrongly accepted size and an undecided
// acceptable case are reported.
func TestWycheproofHarness(t *testing.T) {
	dir := t.TempDir()
	const h = `{"algorithm":"HKDF-SHA-256","schema":"hkdf_test_schema_v1.json","numberOfTests":4,"testGroups":[{"type":"HkdfTest","keySize":176,"tests":[
 {"tcId":1,"comment":"RFC 5869 A.1","flags":[],"ikm":"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b","salt":"000102030405060708090a0b0c","info":"f0f1f2f3f4f5f6f7f8f9","size":42,"okm":"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865","result":"valid"},
 {"tcId":2,"comment":"RFC 5869 A.3 (no salt, no info)","flags":["EmptySalt"],"ikm":"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b","salt":"","info":"","size":42,"okm":"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8","result":"valid"},
 {"tcId":3,"comment":"maximal size","flags":["MaximalOutputSize"],"ikm":"0b0b","salt":"","info":"","size":8160,"okm":"","result":"valid"},
 {"tcId":4,"comment":"size too large","flags":["SizeTooLarge"],"ikm":"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b","salt":"","info":"","size":8161,"okm":"","result":"invalid"}]}]}`
	writeWycheproof(t, dir, "hkdf_sha256_test.json", h)
	var f wpFile[hkdfGroup]
	loadWycheproof(t, dir, "hkdf_sha256_test.json", &f)
	// The 8160-byte okm is not typed: it is HKDF's own output, checked
	// against the first 42 bytes of the same derivation below.
	full, err := HKDF([]byte{0x0b, 0x0b}, nil, nil, MaxLength)
	if err != nil {
		t.Fatal(err)
	}
	short, _ := HKDF([]byte{0x0b, 0x0b}, nil, nil, 42)
	if !bytes.Equal(full[:42], short) {
		t.Fatal("a longer output does not extend the shorter one")
	}
	f.TestGroups[0].Tests[2].OKM = full
	if r := checkHKDF(&f); len(r.problems) != 0 || r.checked != 4 {
		t.Fatalf("%d checked, problems %v", r.checked, r.problems)
	}
	f.TestGroups[0].Tests[0].OKM[41] ^= 1
	f.TestGroups[0].Tests[2].Size = MaxLength + 1
	f.TestGroups[0].Tests[3].Result = "acceptable"
	if r := checkHKDF(&f); len(r.problems) != 4 { // okm twice (HKDF, HKDFInto), size, undecided
		t.Fatalf("broken: problems %v", r.problems)
	}
}
