package curve

import (
	"bytes"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/wycheproof"

	"filippo.io/edwards25519"
)

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for X25519 and for
// the Ed25519 core of XEdDSA verification (verifyEdwards).
var wycheproofFiles = []string{"x25519_test.json", "ed25519_test.json"}

// x25519Decisions settles x25519_test.json's acceptable cases (every one
// carries at least one of these flags; the first match decides).
var x25519Decisions = []wycheproof.Decision{
	{Flag: "ZeroSharedSecret", Valid: false, Why: "ECDH refuses an all-zero output with ErrLowOrder (the RFC 7748, Section 6.1 check)"},
	{Flag: "LowOrderPublic", Valid: false, Why: "a low-order public key gives an all-zero output: ErrLowOrder"},
	{Flag: "Twist", Valid: true, Why: "X25519 is defined for points on the twist (RFC 7748, Section 5); ECDH computes it"},
	{Flag: "NonCanonicalPublic", Valid: true, Why: "u >= p is decoded as RFC 7748, Section 5 says (top bit masked, reduced mod p)"},
	{Flag: "SmallPublicKey", Valid: true, Why: "computed as X25519 defines it; only an all-zero output is refused"},
	{Flag: "SpecialPublicKey", Valid: true, Why: "computed as X25519 defines it"},
	{Flag: "EdgeCaseMultiplication", Valid: true, Why: "computed as X25519 defines it"},
	{Flag: "EdgeCaseShared", Valid: true, Why: "computed as X25519 defines it"},
	{Flag: "Ktv", Valid: true, Why: "known test vector"},
}

// ed25519Decisions: ed25519_test.json has no acceptable cases; any that
// appears fails the run until it is decided here.
var ed25519Decisions = []wycheproof.Decision{}

type x25519Group struct {
	Type  string `json:"type"`
	Curve string `json:"curve"`
	Tests []struct {
		wycheproof.Test
		Public  wycheproof.Hex `json:"public"`
		Private wycheproof.Hex `json:"private"`
		Shared  wycheproof.Hex `json:"shared"`
	} `json:"tests"`
}

func checkX25519(f *wycheproof.File[x25519Group]) *wycheproof.Report {
	r := &wycheproof.Report{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "XdhComp" || g.Curve != "curve25519" {
				r.Skipped++
				continue
			}
			want, err := r.Want(tc.Test, x25519Decisions)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Checked++
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
				r.Fail(tc.Test, "rejected: %v", err)
			case !want && err == nil:
				r.Fail(tc.Test, "accepted, shared %x", shared)
			case want && !bytes.Equal(shared[:], tc.Shared):
				r.Fail(tc.Test, "shared %x, want %x", shared, []byte(tc.Shared))
			}
		}
	}
	return r
}

type ed25519Group struct {
	Type      string `json:"type"`
	PublicKey struct {
		Curve string         `json:"curve"`
		PK    wycheproof.Hex `json:"pk"`
	} `json:"publicKey"`
	Tests []struct {
		wycheproof.Test
		Msg wycheproof.Hex `json:"msg"`
		Sig wycheproof.Hex `json:"sig"`
	} `json:"tests"`
}

func checkEd25519(f *wycheproof.File[ed25519Group]) *wycheproof.Report {
	r := &wycheproof.Report{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.Type != "EddsaVerify" || g.PublicKey.Curve != "edwards25519" {
				r.Skipped++
				continue
			}
			want, err := r.Want(tc.Test, ed25519Decisions)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Checked++
			ok := false
			if A, err := new(edwards25519.Point).SetBytes(g.PublicKey.PK); err == nil && len(tc.Sig) == SignatureSize {
				ok = verifyEdwards(A, tc.Msg, tc.Sig[:32], tc.Sig[32:])
			}
			if ok != want {
				r.Fail(tc.Test, "verify = %v, want %v", ok, want)
			}
		}
	}
	return r
}

func TestWycheproofX25519(t *testing.T) {
	var f wycheproof.File[x25519Group]
	wycheproof.Load(t, wycheproof.Dir(), "x25519_test.json", wycheproofFiles, &f)
	checkX25519(&f).Finish(t, "x25519_test.json")
}

func TestWycheproofEd25519(t *testing.T) {
	var f wycheproof.File[ed25519Group]
	wycheproof.Load(t, wycheproof.Dir(), "ed25519_test.json", wycheproofFiles, &f)
	checkEd25519(&f).Finish(t, "ed25519_test.json")
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
	wycheproof.WriteFile(t, dir, "x25519_test.json", x)
	wycheproof.WriteFile(t, dir, "ed25519_test.json", e)
	var xf wycheproof.File[x25519Group]
	wycheproof.Load(t, dir, "x25519_test.json", wycheproofFiles, &xf)
	if r := checkX25519(&xf); len(r.Problems) != 0 || r.Checked != 4 {
		t.Fatalf("x25519: %d checked, problems %v", r.Checked, r.Problems)
	}
	var ef wycheproof.File[ed25519Group]
	wycheproof.Load(t, dir, "ed25519_test.json", wycheproofFiles, &ef)
	if r := checkEd25519(&ef); len(r.Problems) != 0 || r.Checked != 5 {
		t.Fatalf("ed25519: %d checked, problems %v", r.Checked, r.Problems)
	}

	// The harness notices a wrong answer and an undecided acceptable case.
	xf.TestGroups[0].Tests[0].Shared[0] ^= 1
	xf.TestGroups[0].Tests[3].Flags = []string{"NotInTheTable"}
	if r := checkX25519(&xf); len(r.Problems) != 2 {
		t.Fatalf("x25519, broken: problems %v", r.Problems)
	}
	ef.TestGroups[0].Tests[1].Result = "valid"
	if r := checkEd25519(&ef); len(r.Problems) != 1 {
		t.Fatalf("ed25519, broken: problems %v", r.Problems)
	}
}
