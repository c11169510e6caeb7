package mlkem768

import (
	"bytes"
	"crypto/sha3"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/wycheproof"
)

// Wycheproof (github.com/C2SP/wycheproof, testvectors_v1) for ML-KEM-768.
// This package's API is SPQR's incremental one, so each file is mapped onto
// it:
//
//   - mlkem_768_keygen_seed_test.json: GenerateKey(d ‖ z) must give ek and
//     the expanded dk byte for byte. Every group maps.
//   - mlkem_768_encaps_test.json: header = ρ ‖ SHA3-256(ek) and vector =
//     ek without ρ; Encapsulate1(header, m) then, after CheckHeader,
//     Encapsulate2(vector) must give c = c1 ‖ c2 and K. An invalid ek (a
//     coefficient ≥ q, the ModulusOverflow group, or a wrong length) must be
//     refused by CheckHeader or Encapsulate2: Encapsulate1 sees only the
//     64-byte header and cannot refuse it, so the Braid, like this
//     harness, checks the vector before finishing (see the package doc).
//   - mlkem_768_test.json: GenerateKey(seed), then Decapsulate(dk, c1, c2)
//     with c split after 960 bytes must give K (implicit rejection
//     included); a ciphertext of the wrong length must be refused, and so
//     must a private key (seed) of the wrong length, by GenerateKey.
//
// No group is left unmapped; what the mapping cannot express is an
// encapsulation to an invalid ek refused before any key exists (the
// incremental split derives K from the header alone).
var wycheproofFiles = []string{"mlkem_768_test.json", "mlkem_768_encaps_test.json", "mlkem_768_keygen_seed_test.json"}

// mlkemDecisions: the files have no acceptable cases; one that appears
// fails the run until it is decided here.
var mlkemDecisions = []wycheproof.Decision{}

type mlkemGroup = wycheproof.MLKEMGroup

func checkMLKEM(f *wycheproof.File[mlkemGroup]) *wycheproof.Report {
	r := &wycheproof.Report{}
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			if g.ParameterSet != "ML-KEM-768" {
				r.Skipped++
				continue
			}
			want, err := r.Want(tc.Test, mlkemDecisions)
			if err != nil {
				r.Problems = append(r.Problems, err.Error())
				continue
			}
			r.Checked++
			var problem string
			switch g.Type {
			case "MLKEMKeyGen":
				problem = checkKeyGen(want, tc.Seed, tc.EK, tc.DK)
			case "MLKEMEncapsTest":
				problem = checkEncaps(want, tc.EK, tc.M, tc.C, tc.K)
			case "MLKEMTest":
				problem = checkDecaps(want, tc.Seed, tc.EK, tc.C, tc.K)
			default:
				r.Checked--
				r.Skipped++
			}
			if problem != "" {
				r.Fail(tc.Test, "%s", problem)
			}
		}
	}
	return r
}

func checkKeyGen(want bool, seed, ek, dk []byte) string {
	kp, err := GenerateKey(seed)
	ok := err == nil && bytes.Equal(kp.EncapsulationKey[:], ek) && (dk == nil || bytes.Equal(kp.DecapsulationKey[:], dk))
	if ok != want {
		return "key generation: match " + yes(ok)
	}
	return ""
}

func checkEncaps(want bool, ek, m, c, key []byte) string {
	if len(ek) < 32 {
		if want {
			return "ek too short to split"
		}
		return "" // no header can be formed: refused before any call
	}
	h := sha3.Sum256(ek)
	header := append(append([]byte(nil), ek[len(ek)-32:]...), h[:]...)
	vector := ek[:len(ek)-32]
	c1, st, k, err := Encapsulate1(header, m)
	if err != nil {
		return "Encapsulate1: " + err.Error()
	}
	if err := CheckHeader(header, vector); err != nil {
		if want {
			return "CheckHeader: " + err.Error()
		}
		if !errors.Is(err, ErrLength) && !errors.Is(err, ErrEncoding) {
			return "CheckHeader: unexpected error " + err.Error()
		}
		// Encapsulate2 must refuse the vector on its own too.
		if _, err := st.Encapsulate2(vector); err == nil {
			return "Encapsulate2 accepted an invalid vector"
		}
		return ""
	}
	c2, err := st.Encapsulate2(vector)
	if err != nil {
		if want {
			return "Encapsulate2: " + err.Error()
		}
		return ""
	}
	ok := bytes.Equal(append(c1, c2...), c) && bytes.Equal(k, key)
	if ok != want {
		return "encapsulation: match " + yes(ok)
	}
	return ""
}

func checkDecaps(want bool, seed, ek, c, key []byte) string {
	kp, err := GenerateKey(seed)
	if err != nil {
		if want || !errors.Is(err, ErrLength) {
			return "GenerateKey: " + err.Error()
		}
		return "" // a seed (private key) of the wrong length is refused
	}
	if !bytes.Equal(kp.EncapsulationKey[:], ek) {
		return "key generation from seed does not give ek"
	}
	split := min(len(c), Ciphertext1Size)
	k, err := Decapsulate(kp.DecapsulationKey[:], c[:split], c[split:])
	if !want {
		if err == nil {
			return "Decapsulate accepted an invalid ciphertext"
		}
		return ""
	}
	if err != nil || !bytes.Equal(k, key) {
		return "Decapsulate: key mismatch or error"
	}
	return ""
}

func yes(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestWycheproofMLKEM768(t *testing.T) {
	for _, name := range wycheproofFiles {
		t.Run(name, func(t *testing.T) {
			var f wycheproof.File[mlkemGroup]
			wycheproof.Load(t, wycheproof.Dir(), name, wycheproofFiles, &f)
			checkMLKEM(&f).Finish(t, name)
		})
	}
}

// TestWycheproofHarness: the harness reports a wrong K, a wrong ek, a
// corrupted vector accepted as valid and an undecided acceptable case, on
// cases built from this package's own (crypto/mlkem-checked) key generation.
func TestWycheproofHarness(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, SeedSize)
	kp, err := GenerateKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	m := bytes.Repeat([]byte{9}, 32)
	h := kp.Header()
	c1, st, key, _ := Encapsulate1(h[:], m)
	v := kp.Vector()
	c2, _ := st.Encapsulate2(v[:])
	ct := append(c1, c2...)
	ek := kp.EncapsulationKey[:]
	dk := kp.DecapsulationKey[:]
	if p := checkKeyGen(true, seed, ek, dk); p != "" {
		t.Error(p)
	}
	if p := checkEncaps(true, ek, m, ct, key); p != "" {
		t.Error(p)
	}
	if p := checkDecaps(true, seed, ek, ct, key); p != "" {
		t.Error(p)
	}
	if p := checkDecaps(false, seed, ek, ct[:len(ct)-1], nil); p != "" {
		t.Error(p)
	}
	bad := append([]byte(nil), ek...)
	bad[0], bad[1] = 0xff, 0xff // first coefficient 4095 ≥ q
	if p := checkEncaps(false, bad, m, nil, nil); p != "" {
		t.Error(p)
	}
	// Broken cases are reported.
	wrongK := append([]byte(nil), key...)
	wrongK[0] ^= 1
	for name, p := range map[string]string{
		"wrong K (encaps)": checkEncaps(true, ek, m, ct, wrongK),
		"wrong K (decaps)": checkDecaps(true, seed, ek, ct, wrongK),
		"wrong ek":         checkKeyGen(true, seed, bad, dk),
		"overflow valid":   checkEncaps(true, bad, m, ct, key),
		"short ct valid":   checkDecaps(true, seed, ek, ct[:len(ct)-1], key),
	} {
		if p == "" {
			t.Errorf("%s: not reported", name)
		}
	}
	var r wycheproof.Report
	if _, err := r.Want(wycheproof.Test{TcID: "1", Result: "acceptable"}, mlkemDecisions); err == nil {
		t.Error("an undecided acceptable case is not reported")
	}
}
