package kdf

import (
	"bytes"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/wycheproof"
)

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for HKDF-SHA256.
var wycheproofFiles = []string{"hkdf_sha256_test.json"}

// hkdfDecisions: hkdf_sha256_test.json has no acceptable cases; any that
// appears fails the run until it is decided here.
var hkdfDecisions = []wycheproof.Decision{}

type hkdfGroup struct {
	Type  string `json:"type"`
	Tests []struct {
		wycheproof.Test
		IKM  wycheproof.Hex `json:"ikm"`
		Salt wycheproof.Hex `json:"salt"`
		Info wycheproof.Hex `json:"info"`
		Size int            `json:"size"`
		OKM  wycheproof.Hex `json:"okm"`
	} `json:"tests"`
}

// checkHKDF: a valid case derives okm (through HKDF and HKDFInto); an
// invalid one (an output size over 255*32) must fail with ErrLength.
func checkHKDF(f *wycheproof.File[hkdfGroup]) *wycheproof.Report {
	r := &wycheproof.Report{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "HkdfTest" {
				r.Skipped++
				continue
			}
			want, err := r.Want(tc.Test, hkdfDecisions)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Checked++
			okm, err := HKDF(tc.IKM, tc.Salt, tc.Info, tc.Size)
			switch {
			case want && err != nil:
				r.Fail(tc.Test, "rejected: %v", err)
			case want && !bytes.Equal(okm, tc.OKM):
				r.Fail(tc.Test, "okm %x, want %x", okm, []byte(tc.OKM))
			case !want && !errors.Is(err, ErrLength):
				r.Fail(tc.Test, "size %d: got %d bytes, error %v; want ErrLength", tc.Size, len(okm), err)
			}
			if want && err == nil {
				dst := make([]byte, tc.Size)
				if err := HKDFInto(dst, tc.IKM, tc.Salt, tc.Info); err != nil || !bytes.Equal(dst, tc.OKM) {
					r.Fail(tc.Test, "HKDFInto: %x, %v", dst, err)
				}
			}
		}
	}
	return r
}

func TestWycheproofHKDFSHA256(t *testing.T) {
	var f wycheproof.File[hkdfGroup]
	wycheproof.Load(t, wycheproof.Dir(), "hkdf_sha256_test.json", wycheproofFiles, &f)
	checkHKDF(&f).Finish(t, "hkdf_sha256_test.json")
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
	wycheproof.WriteFile(t, dir, "hkdf_sha256_test.json", h)
	var f wycheproof.File[hkdfGroup]
	wycheproof.Load(t, dir, "hkdf_sha256_test.json", wycheproofFiles, &f)
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
	if r := checkHKDF(&f); len(r.Problems) != 0 || r.Checked != 4 {
		t.Fatalf("%d checked, problems %v", r.Checked, r.Problems)
	}
	f.TestGroups[0].Tests[0].OKM[41] ^= 1
	f.TestGroups[0].Tests[2].Size = MaxLength + 1
	f.TestGroups[0].Tests[3].Result = "acceptable"
	if r := checkHKDF(&f); len(r.Problems) != 4 { // okm twice (HKDF, HKDFInto), size, undecided
		t.Fatalf("broken: problems %v", r.Problems)
	}
}
