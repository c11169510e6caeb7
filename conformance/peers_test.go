package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// peersBin returns the directory `make peers` builds into (the Makefile
// sets INTERLOCK_PEERS_BIN). Without it the live-report tests skip, except
// on CI, where they fail.
func peersBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("INTERLOCK_PEERS_BIN")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("INTERLOCK_PEERS_BIN is not set on CI: run these tests through make interop")
		}
		t.Skip("INTERLOCK_PEERS_BIN not set (make interop sets it)")
	}
	return dir
}

func liveReport(t *testing.T, a, b live.Spec, corpus Implementation) *Report {
	t.Helper()
	r, err := Run(Options{Tool: "test", A: a, B: b, Corpus: corpus, VectorDir: vectorDir, Adversary: adversaryPeer(t)})
	if err != nil {
		t.Fatal(err)
	}
	compareHTMLJSON(t, r)
	return r
}

func spec(cmd ...string) live.Spec { return live.Spec{Argv: cmd} }

// adversaryPeer is the adversary the CLI starts (`interlock peer
// --adversary`), from the binary make peers built.
func adversaryPeer(t *testing.T) live.Spec {
	return spec(filepath.Join(peersBin(t), "interlock"), "peer", "--adversary")
}

func libsignalPeer(t *testing.T) live.Spec { return libsignalVersion(t, "0.90") }

func libsignalVersion(t *testing.T, v string) live.Spec {
	js, err := filepath.Abs(filepath.Join("..", "interop", "libsignal", "peer.js"))
	if err != nil {
		t.Fatal(err)
	}
	return spec("node", js, "--lib", v)
}

// failedChecks lists the IDs of the checks that failed.
func failedChecks(r *Report) map[string]bool {
	failed := map[string]bool{}
	for _, g := range r.Guarantees {
		for _, c := range g.Checks {
			if c.Status == StatusFail {
				failed[c.ID] = true
			}
		}
	}
	return failed
}

// checkStatus returns the status of check id under guarantee g.
func checkStatus(r *Report, g, id string) string {
	for _, c := range r.Guarantee(g).Checks {
		if c.ID == id {
			return c.Status
		}
	}
	return "absent"
}

// TestLiveReportLibsignalPasses: no check libsignal 0.103 can do fails but
// one: it tries every archived session state with a forward jump of
// 25,000 (rust/protocol/src/session_cipher_legacy.rs,
// decrypt_message_with_record, v0.101.0), so a forged message on an
// archived chain costs it hundreds of times an honest one
// (adversarial/forged-amplification). That check belongs to a hardening
// guarantee beyond libsignal (bounded-work): it fails, named, but no
// Signal-tier guarantee fails, and the verdict is incomplete only because
// the corpus files the peer protocol cannot carry did not run. Most of the
// corpus cannot run through the peer protocol (issue #21 item 3), and what
// can (safety numbers, libsignal's sender-key recording) runs and passes.
// SPQR, which 0.103 requires, is observed on the wire, and the adversary's
// downgrades are refused.
func TestLiveReportLibsignalPasses(t *testing.T) {
	peersBin(t)
	r := liveReport(t, libsignalVersion(t, "0.103"), live.Spec{}, nil)
	failed := failedChecks(r)
	for id := range failed {
		if id != "live/adversarial/forged-amplification" {
			t.Errorf("libsignal 0.103 fails %s", id)
		}
	}
	if !failed["live/adversarial/forged-amplification"] {
		t.Errorf("libsignal 0.103 passes adversarial/forged-amplification: if it no longer walks archived chains, the report and this test must say so")
	}
	// No Signal-tier check fails; the corpus files the peer protocol
	// cannot carry make the verdict incomplete, not pass (issue #21 item 4).
	if r.Summary.Verdict != VerdictIncomplete || r.ExitStatus() != ExitIncomplete || r.Summary.Failed != 0 {
		t.Errorf("verdict %s, exit %d, %d failed; want incomplete, 3, 0", r.Summary.Verdict, r.ExitStatus(), r.Summary.Failed)
		for _, g := range r.Guarantees {
			if g.Status != StatusPass {
				t.Logf("%s: %s %s", g.ID, g.Status, g.Why)
			}
		}
	}
	if h := r.Summary.Hardening; len(h.Failed) != 1 || h.Failed[0] != "bounded-work" {
		t.Errorf("hardening: %+v, want bounded-work failed", h)
	}
	for _, c := range [][2]string{
		{"pq-ratchet", "live/spqr/observed"},
		{"pq-ratchet", "live/spqr/downgrade"},
		{"pq-ratchet", "live/spqr/unknown-version"},
		{"identity-binding", "corpus/fingerprint:libsignal-fingerprint.json"},
		{"interop-libsignal", "corpus/sender-key:libsignal-sender-key.json"},
		{"integrity", "live/tamper/signal-message"},
		{"replay-protection", "live/replay/prekey-message"},
		{"replay-protection", "live/adversarial/last-resort-replay"},
		{"sender-anonymity", "live/sealed-sender"},
		{"pq-key-agreement", "live/setup/one-time+kyber"},
	} {
		g, id := c[0], c[1]
		if s := checkStatus(r, g, id); s != StatusPass {
			t.Errorf("%s: %s %s, want pass", g, id, s)
		}
	}
	if s := checkStatus(r, "forward-secrecy", "corpus/ratchet:libsignal-pqxdh-session.json"); s != StatusNotRun {
		t.Errorf("forward-secrecy: the recorded session through the peer: %s, want not_run", s)
	}
}

// TestLiveReportLibsignal090Relabelling: libsignal 0.90 predates the
// address binding (0.91), so the malicious-server scenarios that relabel a
// first message fail against it: minted-certificate fails; relabelled-sender
// fails, or, when the sender is 0.90 too and writes no binding, does not
// apply (scenarios_malicious.go). Its SPQR (SparsePostQuantumRatchet
// v1.5.1, src/lib.rs recv) ignores a pq_ratchet of an unknown version even
// after negotiation, so spqr/unknown-version fails too (it refuses the
// downgrade). Like 0.103 it walks archived chains for forged messages, more
// than 30 s each (adversarial/forged-amplification stops at 2 s). Nothing else fails.
func TestLiveReportLibsignal090Relabelling(t *testing.T) {
	peersBin(t)
	r := liveReport(t, libsignalPeer(t), live.Spec{}, nil)
	failed := failedChecks(r)
	for id := range failed {
		switch id {
		case "live/malicious/relabelled-sender", "live/malicious/minted-certificate", "live/spqr/unknown-version", "live/adversarial/forged-amplification":
		default:
			t.Errorf("libsignal 0.90 fails %s", id)
		}
	}
	if !failed["live/spqr/unknown-version"] || failed["live/spqr/downgrade"] {
		t.Errorf("libsignal 0.90: spqr/unknown-version failed %v, spqr/downgrade failed %v; want true, false",
			failed["live/spqr/unknown-version"], failed["live/spqr/downgrade"])
	}
	if !failed["live/malicious/minted-certificate"] {
		t.Errorf("libsignal 0.90 passes minted-certificate: %v", failed)
	}
	if s := checkStatus(r, "identity-binding", "live/malicious/relabelled-sender"); s != StatusFail && s != StatusNotApplicable {
		t.Errorf("libsignal 0.90: relabelled-sender %s, want fail or not_applicable", s)
	}
	if r.Summary.Verdict != StatusFail || r.ExitStatus() != ExitFail {
		t.Errorf("verdict %s, exit %d; want fail, 1", r.Summary.Verdict, r.ExitStatus())
	}
}

// TestLiveReportMauFailures: go.mau.fi/libsignal's real defects show: the
// version byte is not authenticated, and crossing simultaneous initiation
// corrupts its state.
func TestLiveReportMauFailures(t *testing.T) {
	bin := peersBin(t)
	r := liveReport(t, spec(filepath.Join(bin, "mau-peer")), live.Spec{}, nil)
	g := r.Guarantee("integrity")
	found := false
	for _, c := range g.Checks {
		if c.ID == "derived/authenticated-bytes" && c.Status == StatusFail && strings.Contains(strings.Join(c.Evidence, " "), "version(low nibble)") {
			found = true
		}
	}
	if g.Status != StatusFail || !found {
		t.Errorf("integrity: %s, want a failure for the unauthenticated version byte: %+v", g.Status, g.Checks)
	}
	if s := r.Guarantee("safe-failure").Status; s != StatusFail {
		t.Errorf("safe-failure: %s, want fail (simultaneous-initiation/crossing)", s)
	}
	if s := r.Guarantee("pq-key-agreement").Status; s != StatusNotRun {
		t.Errorf("pq-key-agreement: %s, want not_run (no Kyber in the whatsapp flavour)", s)
	}
	if r.Summary.Verdict != StatusFail {
		t.Error("verdict pass")
	}
}

// TestLiveReportInteropPairings: Interlock against a libsignal the tool
// verified and started earns interop-libsignal; the same peer command
// given as --against (self-described only) earns nothing (issue #21 item 3).
func TestLiveReportInteropPairings(t *testing.T) {
	bin := peersBin(t)
	il := spec(filepath.Join(bin, "interlock"), "peer")
	ref, err := VerifyLibsignal(filepath.Join("..", "interop", "libsignal"), "0.103")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(Options{Tool: "test", A: il, Reference: ref, Corpus: Interlock{}, Filter: regexp.MustCompile(`^(setup|conversation|tamper)/`)})
	if err != nil {
		t.Fatal(err)
	}
	if s := checkStatus(r, "interop-libsignal", "live/pairing"); s != StatusPass {
		t.Errorf("interlock ↔ verified libsignal: live/pairing %s", s)
	}
	if len(r.References) != 1 || r.References[0].Version != "0.103.0" || r.Live.Reference != RefLibsignal {
		t.Errorf("references %+v, live %+v", r.References, r.Live)
	}
	r, err = Run(Options{Tool: "test", A: il, B: libsignalVersion(t, "0.103"), Corpus: Interlock{}, Filter: regexp.MustCompile(`^setup/`)})
	if err != nil {
		t.Fatal(err)
	}
	if s := checkStatus(r, "interop-libsignal", "live/pairing"); s != "absent" {
		t.Errorf("interlock ↔ unverified libsignal: live/pairing %s, want no credit", s)
	}
}

// TestLiveReportBrokenMACFailsIntegrity builds Interlock with the test-only
// interlock_broken_mac tag (session/mac_check_broken.go: every MAC
// accepted) and checks the report's integrity guarantee fails, from the
// corpus and from the live tamper scenarios.
func TestLiveReportBrokenMACFailsIntegrity(t *testing.T) {
	peersBin(t)
	exe := filepath.Join(t.TempDir(), "interlock-broken")
	build := exec.Command("go", "build", "-tags", "interlock_broken_mac", "-o", exe, "../cmd/interlock")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	json := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(exe, "conformance", "-q", "--vectors", vectorDir, "--run", "^(tamper|truncation|setup/one-time\\+kyber$)", "--format", "json", "-o", json)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitFail {
		t.Fatalf("broken build: exit %v, want 1\n%s", err, out)
	}
	b, err := os.ReadFile(json)
	if err != nil {
		t.Fatal(err)
	}
	v := checkJSON(t, loadSchema(t), b)
	failing := map[string]bool{}
	for _, g := range v["guarantees"].([]any) {
		g := g.(map[string]any)
		if g["status"] == StatusFail {
			failing[g["id"].(string)] = true
		}
		if g["id"] != "integrity" {
			continue
		}
		kinds := map[string]bool{}
		for _, c := range g["checks"].([]any) {
			c := c.(map[string]any)
			if c["status"] == StatusFail {
				kinds[c["kind"].(string)] = true
			}
		}
		if !kinds["corpus"] || !kinds["live"] {
			t.Errorf("integrity: failing check kinds %v, want corpus and live", kinds)
		}
	}
	if !failing["integrity"] {
		t.Errorf("the broken-MAC build passes integrity (failing: %v): does session/message.go's verifyMAC call macEqual?", failing)
	}
}
