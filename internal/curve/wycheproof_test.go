package curve

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

	"filippo.io/edwards25519"
)

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for X25519 and for
// the Ed25519 core of XEdDSA verification (verifyEdwards).
var wycheproofFiles = []string{"x25519_test.json", "ed25519_test.json"}

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

// x25519Decisions settles x25519_test.json's acceptable cases (every one
// carries at least one of these flags; the first match decides).
var x25519Decisions = []wpDecision{
	{"ZeroSharedSecret", false, "ECDH refuses an all-zero output with ErrLowOrder (the RFC 7748, Section 6.1 check)"},
	{"LowOrderPublic", false, "a low-order public key gives an all-zero output: ErrLowOrder"},
	{"Twist", true, "X25519 is defined for points on the twist (RFC 7748, Section 5); ECDH computes it"},
	{"NonCanonicalPublic", true, "u >= p is decoded as RFC 7748, Section 5 says (top bit masked, reduced mod p)"},
	{"SmallPublicKey", true, "computed as X25519 defines it; only an all-zero output is refused"},
	{"SpecialPublicKey", true, "computed as X25519 defines it"},
	{"EdgeCaseMultiplication", true, "computed as X25519 defines it"},
	{"EdgeCaseShared", true, "computed as X25519 defines it"},
	{"Ktv", true, "known test vector"},
}

// ed25519Decisions: ed25519_test.json has no acceptable cases; any that
// appears fails the run until it is decided here.
var ed25519Decisions = []wpDecision{}

type x25519Group struct {
	Type  string `json:"type"`
	Curve string `json:"curve"`
	Tests []struct {
		wpTest
		Public  wpHex `json:"public"`
		Private wpHex `json:"private"`
		Shared  wpHex `json:"shared"`
	} `json:"tests"`
}

func checkX25519(f *wpFile[x25519Group]) *wpReport {
	r := &wpReport{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "XdhComp" || g.Curve != "curve25519" {
				r.skipped++
				continue
			}
			want, err := r.want(tc.wpTest, x25519Decisions)
			if err != nil {
				r.problems = append(r.problems, err.Error())
				continue
			}
			r.checked++
			var shared [32]byte
			priv, err := NewPrivateKey(tc.Private)
			if err == nil {
				var pub PublicKey
				if pub, err = NewPublicKeyRaw(tc.Public); err == nil {
					shared, err = priv.ECDH(pub)
				}
			}
			switch {
			case want && err != nil:
				r.fail(tc.wpTest, "rejected: %v", err)
			case !want && err == nil:
				r.fail(tc.wpTest, "accepted, shared %x", shared)
			case want && !bytes.Equal(shared[:], tc.Shared):
				r.fail(tc.wpTest, "shared %x, want %x", shared, []byte(tc.Shared))
			}
		}
	}
	return r
}

type ed25519Group struct {
	Type      string `json:"type"`
	PublicKey struct {
		Curve string `json:"curve"`
		PK    wpHex  `json:"pk"`
	} `json:"publicKey"`
	Tests []struct {
		wpTest
		Msg wpHex `json:"msg"`
		Sig wpHex `json:"sig"`
	} `json:"tests"`
}

func checkEd25519(f *wpFile[ed25519Group]) *wpReport {
	r := &wpReport{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "EddsaVerify" || g.PublicKey.Curve != "edwards25519" {
				r.skipped++
				continue
			}
			want, err := r.want(tc.wpTest, ed25519Decisions)
			if err != nil {
				r.problems = append(r.problems, err.Error())
				continue
			}
			r.checked++
			ok := false
			if A, err := new(edwards25519.Point).SetBytes(g.PublicKey.PK); err == nil && len(tc.Sig) == SignatureSize {
				ok = verifyEdwards(A, tc.Msg, tc.Sig[:32], tc.Sig[32:])
			}
			if ok != want {
				r.fail(tc.wpTest, "verify = %v, want %v", ok, want)
			}
		}
	}
	return r
}

func TestWycheproofX25519(t *testing.T) {
	var f wpFile[x25519Group]
	loadWycheproof(t, wycheproofDir(), "x25519_test.json", &f)
	checkX25519(&f).report(t, "x25519_test.json")
}

func TestWycheproofEd25519(t *testing.T) {
	var f wpFile[ed25519Group]
	loadWycheproof(t, wycheproofDir(), "ed25519_test.json", &f)
	checkEd25519(&f).report(t, "ed25519_test.json")
}

// TestWycheproofHarness runs the harness over synthetic files in the
// Wycheproof schema, typed from RFC 7748 and RFC 8032: correct files pass,
// and a wrong expected value or an undecided acceptable case is reported.
func TestWycheproofHarness(t *testing.T) {
	dir := t.TempDir()
	const x = `{"algorithm":"XDH","schema":"xdh_comp_schema_v1.json","numberOfTests":4,"testGroups":[{"type":"XdhComp","curve":"curve25519","tests":[
 {"tcId":1,"comment":"RFC 7748 5.2 #1","flags":["Ktv"],"public":"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c","private":"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4","shared":"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552","result":"valid"},
 {"tcId":2,"comment":"RFC 7748 5.2 #2 (u with the top bit set)","flags":["Ktv"],"public":"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493","private":"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d","shared":"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957","result":"valid"},
 {"tcId":3,"comment":"RFC 7748 6.1","flags":["Normal"],"public":"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f","private":"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a","shared":"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742","result":"valid"},
 {"tcId":4,"comment":"u = 0","flags":["LowOrderPublic","ZeroSharedSecret"],"public":"0000000000000000000000000000000000000000000000000000000000000000","private":"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a","shared":"0000000000000000000000000000000000000000000000000000000000000000","result":"acceptable"}]}]}`
	const e = `{"algorithm":"EDDSA","schema":"eddsa_verify_schema_v1.json","numberOfTests":5,"testGroups":[
 {"type":"EddsaVerify","publicKey":{"type":"EDDSAPublicKey","curve":"edwards25519","keySize":255,"pk":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},"tests":[
  {"tcId":1,"comment":"RFC 8032 TEST 1","flags":["Ktv"],"msg":"","sig":"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b","result":"valid"},
  {"tcId":2,"comment":"TEST 1, other message","flags":["InvalidSignature"],"msg":"00","sig":"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b","result":"invalid"},
  {"tcId":3,"comment":"TEST 1, truncated","flags":["TruncatedSignature"],"msg":"","sig":"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a10","result":"invalid"}]},
 {"type":"EddsaVerify","publicKey":{"type":"EDDSAPublicKey","curve":"edwards25519","keySize":255,"pk":"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"},"tests":[
  {"tcId":4,"comment":"RFC 8032 TEST 2","flags":["Ktv"],"msg":"72","sig":"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00","result":"valid"},
  {"tcId":5,"comment":"TEST 2, s + L (non-canonical s)","flags":["SignatureMalleability"],"msg":"72","sig":"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69daf52db7415978abc61b2c2eb6aeebfca0387b2eaeb4302aeeb00d291612bb0c10","result":"invalid"}]}]}`
	writeWycheproof(t, dir, "x25519_test.json", x)
	writeWycheproof(t, dir, "ed25519_test.json", e)
	var xf wpFile[x25519Group]
	loadWycheproof(t, dir, "x25519_test.json", &xf)
	if r := checkX25519(&xf); len(r.problems) != 0 || r.checked != 4 {
		t.Fatalf("x25519: %d checked, problems %v", r.checked, r.problems)
	}
	var ef wpFile[ed25519Group]
	loadWycheproof(t, dir, "ed25519_test.json", &ef)
	if r := checkEd25519(&ef); len(r.problems) != 0 || r.checked != 5 {
		t.Fatalf("ed25519: %d checked, problems %v", r.checked, r.problems)
	}

	// The harness notices a wrong answer and an undecided acceptable case.
	xf.TestGroups[0].Tests[0].Shared[0] ^= 1
	xf.TestGroups[0].Tests[3].Flags = []string{"NotInTheTable"}
	if r := checkX25519(&xf); len(r.problems) != 2 {
		t.Fatalf("x25519, broken: problems %v", r.problems)
	}
	ef.TestGroups[0].Tests[1].Result = "valid"
	if r := checkEd25519(&ef); len(r.problems) != 1 {
		t.Fatalf("ed25519, broken: problems %v", r.problems)
	}
}
