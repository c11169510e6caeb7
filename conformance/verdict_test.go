package conformance

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// reportWith builds a report whose guarantees all have one passing check,
// then applies edit.
func reportWith(edit func(r *Report)) *Report {
	r := NewReport("t", "s", time.Unix(0, 0))
	for _, g := range Guarantees {
		r.add([]string{g.ID}, Check{ID: "derived/" + g.ID, Kind: "derived", Status: StatusPass})
	}
	if edit != nil {
		edit(r)
	}
	r.Finish()
	return r
}

// TestIssue17Item1Verdicts: every verdict path and its exit status (issue
// #17 item 1, #21 item 4): a failure is FAIL (1); an unrun check, a
// guarantee with no check or one not implemented is INCOMPLETE (3), unless
// the guarantee is skipped; a skip never hides a failure.
func TestIssue17Item1Verdicts(t *testing.T) {
	notRun := Check{ID: "live/group", Kind: "live", Status: StatusNotRun, Detail: "x does not list op group_encrypt"}
	failed := Check{ID: "live/tamper/signal-message", Kind: "live", Status: StatusFail, Evidence: []string{"FAIL …"}}
	for _, tc := range []struct {
		name    string
		edit    func(r *Report)
		verdict string
		exit    int
		status  string // of integrity
	}{
		{"all pass", nil, StatusPass, ExitPass, StatusPass},
		{"a check failed", func(r *Report) { r.add([]string{"integrity"}, failed) }, StatusFail, ExitFail, StatusFail},
		{"a check did not run", func(r *Report) { r.add([]string{"integrity"}, notRun) }, VerdictIncomplete, ExitIncomplete, StatusNotRun},
		{"no check at all", func(r *Report) { r.byID["integrity"].Checks = []Check{} }, VerdictIncomplete, ExitIncomplete, StatusNotRun},
		{"not applicable only", func(r *Report) {
			r.byID["integrity"].Checks = []Check{}
			r.add([]string{"integrity"}, Check{ID: "live/x", Kind: "live", Status: StatusNotApplicable})
		}, VerdictIncomplete, ExitIncomplete, StatusNotRun},
		{"not implemented", func(r *Report) { r.byID["integrity"].NotImplemented = "later" }, VerdictIncomplete, ExitIncomplete, StatusNotImplemented},
		{"unrun but skipped", func(r *Report) {
			r.add([]string{"integrity"}, notRun)
			r.Skip("integrity", "--skip integrity")
		}, StatusPass, ExitPass, StatusSkipped},
		{"failed and skipped", func(r *Report) {
			r.add([]string{"integrity"}, failed)
			r.Skip("integrity", "--skip integrity")
		}, StatusFail, ExitFail, StatusFail},
		{"failed and unrun elsewhere", func(r *Report) {
			r.add([]string{"integrity"}, failed)
			r.add([]string{"pq-ratchet"}, notRun)
		}, StatusFail, ExitFail, StatusFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reportWith(tc.edit)
			if r.Summary.Verdict != tc.verdict || r.ExitStatus() != tc.exit {
				t.Errorf("verdict %s exit %d, want %s %d", r.Summary.Verdict, r.ExitStatus(), tc.verdict, tc.exit)
			}
			if g := r.Guarantee("integrity"); g.Status != tc.status {
				t.Errorf("integrity %s (%s), want %s", g.Status, g.Why, tc.status)
			}
			var b bytes.Buffer
			if err := r.Render(&b, "json"); err != nil {
				t.Fatal(err)
			}
			checkJSON(t, loadSchema(t), b.Bytes())
			compareHTMLJSON(t, r)
		})
	}
}

// TestIssue17Item1SkipRecorded: --skip is in the report, in every format.
func TestIssue17Item1SkipRecorded(t *testing.T) {
	r := reportWith(func(r *Report) {
		r.add([]string{"interop-libsignal"}, Check{ID: "live/pairing", Status: StatusNotRun, Detail: "no reference"})
		if !r.Skip("interop-libsignal", "--skip interop-libsignal") || r.Skip("no-such-guarantee", "") {
			t.Error("Skip accepts unknown guarantees or refuses known ones")
		}
	})
	if len(r.Skipped) != 1 || r.Skipped[0].Guarantee != "interop-libsignal" || r.Summary.Skipped != 1 {
		t.Errorf("skipped %+v, summary %+v", r.Skipped, r.Summary)
	}
	for _, f := range Formats {
		var b bytes.Buffer
		r.Render(&b, f)
		if !strings.Contains(b.String(), "--skip interop-libsignal") {
			t.Errorf("%s report does not record the skip", f)
		}
	}
}

// TestIssue21Item3SelfDescriptionNotTrusted: a pairing whose peer calls
// itself "libsignal-client 0.103.0" earns no interop credit; the same
// pairing against a reference the tool verified does.
func TestIssue21Item3SelfDescriptionNotTrusted(t *testing.T) {
	sc := live.All()
	var res []live.Result
	for _, s := range sc {
		for dir := 0; dir < 2; dir++ {
			res = append(res, live.Result{Scenario: s.ID, A: "interlock", B: "libsignal-client 0.103.0", Status: live.Pass})
		}
	}
	for _, tc := range []struct {
		reference string
		credited  bool
	}{{"", false}, {RefLibsignal, true}} {
		r := NewReport("t", "s", time.Unix(0, 0))
		r.AddLive(LiveInfo{A: "interlock", B: "libsignal-client 0.103.0", CommandA: "interlock peer", CommandB: "proxy",
			Flavour: "signal", Seed: 1, Reference: tc.reference}, sc, res)
		r.Finish()
		credited := false
		for _, c := range r.Guarantee("interop-libsignal").Checks {
			credited = credited || (c.ID == "live/pairing" && c.Status == StatusPass)
		}
		if credited != tc.credited {
			t.Errorf("reference %q: interop-libsignal credited %v, want %v", tc.reference, credited, tc.credited)
		}
		if s := r.Guarantee("interop-libsignal").Status; !tc.credited && s == StatusPass {
			t.Errorf("self-described libsignal: interop-libsignal %s", s)
		}
		if !tc.credited && !strings.Contains(strings.Join(r.Notes, " "), "self-descriptions earn no interop credit") {
			t.Errorf("notes %q do not say why", r.Notes)
		}
	}
}

// TestIssue21Item3VerifyReference: a libsignal reference is verified from
// its package.json and digested; anything else is refused.
func TestIssue21Item3VerifyReference(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "node_modules", "libsignal-client-0.103")
	os.MkdirAll(filepath.Join(pkg, "dist"), 0o755)
	os.WriteFile(filepath.Join(dir, "peer.js"), []byte("// peer\n"), 0o644)
	write := func(name, version string) {
		b, _ := json.Marshal(map[string]string{"name": name, "version": version})
		os.WriteFile(filepath.Join(pkg, "package.json"), b, 0o644)
		os.WriteFile(filepath.Join(pkg, "dist", "index.js"), []byte("x"), 0o644)
	}
	write("libsignal-client-impostor", "0.103.0")
	if _, err := ParseReference("libsignal=" + dir); err == nil {
		t.Error("a package not named @signalapp/libsignal-client verified")
	}
	write("@signalapp/libsignal-client", "0.90.0")
	if _, err := ParseReference("libsignal@0.103=" + dir); err == nil {
		t.Error("version 0.90.0 verified as 0.103")
	}
	write("@signalapp/libsignal-client", "0.103.0")
	ref, err := ParseReference("libsignal=" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Version != "0.103.0" || !strings.HasPrefix(ref.Digest, "sha256:") || ref.WrapperDigest == "" || ref.Spec.Argv[0] != "node" {
		t.Errorf("reference %+v", ref)
	}
	before := ref.Digest
	os.WriteFile(filepath.Join(pkg, "dist", "index.js"), []byte("y"), 0o644)
	if ref2, _ := ParseReference("libsignal=" + dir); ref2 == nil || ref2.Digest == before {
		t.Error("the digest does not cover the package's files")
	}
	if _, err := ParseReference("mau=" + filepath.Join(dir, "peer.js")); err == nil {
		t.Error("a file without Go build information verified as the mau reference")
	}
	for _, bad := range []string{"libsignal", "other=x", "mau@1=x"} {
		if _, err := ParseReference(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestIssue17Item1EmbeddedCorpus: the embedded corpus is the committed
// one, byte for byte, and its digest is the sha256sum listing's.
func TestIssue17Item1EmbeddedCorpus(t *testing.T) {
	emb := EmbeddedCorpus()
	dir := os.DirFS(vectorDir)
	files := presentFiles(emb)
	if len(files) != len(dedupe(corpusFileNames())) {
		t.Errorf("embedded corpus has %d of the %d corpus files", len(files), len(dedupe(corpusFileNames())))
	}
	de, err1 := corpusDigest(emb, files)
	dd, err2 := corpusDigest(dir, presentFiles(dir))
	if err1 != nil || err2 != nil || de != dd {
		t.Errorf("embedded digest %s (%v), directory %s (%v)", de, err1, dd, err2)
	}
}

// TestIssue17Item1EmptyVectorsIncomplete: a corpus directory without
// files runs no corpus check and says so: every corpus check is not run
// with the reason, and the verdict is incomplete.
func TestIssue17Item1EmptyVectorsIncomplete(t *testing.T) {
	r, err := Run(Options{Tool: "t", Corpus: Interlock{}, VectorDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Verdict != VerdictIncomplete || r.ExitStatus() != ExitIncomplete {
		t.Errorf("verdict %s exit %d", r.Summary.Verdict, r.ExitStatus())
	}
	if len(r.Corpus.Missing) != len(dedupe(corpusFileNames())) || len(r.Corpus.Files) != 0 {
		t.Errorf("corpus %+v", r.Corpus)
	}
	g := r.Guarantee("forward-secrecy")
	if g.Status != StatusNotRun || len(g.Checks) == 0 || !strings.Contains(g.Checks[0].Detail, "not found") {
		t.Errorf("forward-secrecy: %+v", g)
	}
	// The full embedded corpus, no live run: valid against the schema,
	// incomplete (the live-only checks have not run).
	full, err := Run(Options{Tool: "t", Corpus: Interlock{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range []*Report{r, full} {
		var b bytes.Buffer
		rep.Render(&b, "json")
		checkJSON(t, loadSchema(t), b.Bytes())
	}
	if full.Summary.Verdict != VerdictIncomplete || full.Corpus.Digest != full.Corpus.EmbeddedDigest || len(full.Corpus.Missing) != 0 {
		t.Errorf("corpus-only run: %s, corpus %+v", full.Summary.Verdict, full.Corpus)
	}
	if _, err := Run(Options{Tool: "t", Corpus: Interlock{}, VectorDir: filepath.Join(t.TempDir(), "absent")}); err == nil {
		t.Error("a --vectors directory that does not exist is accepted")
	}
}

// TestIssue21HardeningTier: a guarantee beyond libsignal (bounded-work:
// libsignal 0.90 and 0.103 walk every archived state for a forged message)
// is checked and reported like any other — the failed check is named, the
// guarantee FAILs, the summary and the verdict line say so — but does not
// decide the Signal-equivalence verdict; a Signal-tier failure still does.
func TestIssue21HardeningTier(t *testing.T) {
	amp := Check{ID: "live/adversarial/forged-amplification", Kind: "live", Status: StatusFail, Evidence: []string{"forged/honest 261×"}}
	r := reportWith(func(r *Report) { r.add([]string{"bounded-work"}, amp) })
	if r.Summary.Verdict != StatusPass || r.ExitStatus() != ExitPass {
		t.Errorf("verdict %s exit %d, want pass 0", r.Summary.Verdict, r.ExitStatus())
	}
	g := r.Guarantee("bounded-work")
	if g.Status != StatusFail || g.Tier != TierHardening {
		t.Errorf("bounded-work %s tier %s, want fail hardening", g.Status, g.Tier)
	}
	if h := r.Summary.Hardening; len(h.Failed) != 1 || h.Failed[0] != "bounded-work" || r.Summary.ChecksFailed != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
	if l := r.verdictLine(); !strings.Contains(l, "FAILED bounded-work") {
		t.Errorf("verdict line hides the hardening failure: %s", l)
	}
	for _, format := range []string{"text", "markdown", "html", "json"} {
		var b bytes.Buffer
		if err := r.Render(&b, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "forged-amplification") {
			t.Errorf("%s: the failed hardening check is not named", format)
		}
		if format == "json" {
			checkJSON(t, loadSchema(t), b.Bytes())
		}
	}
	// Unrun hardening checks do not make the verdict incomplete either.
	r = reportWith(func(r *Report) {
		r.byID["bounded-work"].Checks = []Check{{ID: "live/adversarial/forged-amplification", Kind: "live", Status: StatusNotRun}}
	})
	if r.Summary.Verdict != StatusPass || len(r.Summary.Hardening.NotRun) != 1 {
		t.Errorf("unrun hardening: verdict %s, %+v", r.Summary.Verdict, r.Summary.Hardening)
	}
	// Every guarantee but bounded-work is in the Signal tier.
	for _, g := range Guarantees {
		if g.Hardening != (g.ID == "bounded-work") {
			t.Errorf("%s: hardening %v", g.ID, g.Hardening)
		}
	}
}
