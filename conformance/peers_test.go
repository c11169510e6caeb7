package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
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
	r, err := Run(Options{Tool: "test", A: a, B: b, Corpus: corpus, VectorDir: vectorDir})
	if err != nil {
		t.Fatal(err)
	}
	compareHTMLJSON(t, r)
	return r
}

func spec(cmd ...string) live.Spec { return live.Spec{Argv: cmd} }

func libsignalPeer(t *testing.T) live.Spec { return libsignalVersion(t, "0.90") }

func libsignalVersion(t *testing.T, v string) live.Spec {
	js, err := filepath.Abs(filepath.Join("..", "interop", "libsignal", "peer.js"))
	if err != nil {
		t.Fatal(err)
	}
	return spec("node", js, "--lib", v)
}

// TestLiveReportLibsignalPasses: every check libsignal 0.103 can do passes.
func TestLiveReportLibsignalPasses(t *testing.T) {
	peersBin(t)
	r := liveReport(t, libsignalVersion(t, "0.103"), live.Spec{}, nil)
	if r.Summary.Verdict != StatusPass {
		for _, g := range r.Guarantees {
			for _, c := range g.Checks {
				if c.Status == StatusFail {
					t.Errorf("%s: %s: %v", g.ID, c.ID, c.Evidence)
				}
			}
		}
	}
	for _, id := range []string{"integrity", "replay-protection", "safe-failure", "pq-key-agreement", "sender-anonymity", "identity-binding"} {
		if g := r.Guarantee(id); g.Status != StatusPass {
			t.Errorf("%s: %s", id, g.Status)
		}
	}
}

// TestLiveReportLibsignal090Relabelling: libsignal 0.90 predates the
// address binding (0.91), so the malicious-server scenarios that relabel a
// first message fail against it, and only those.
func TestLiveReportLibsignal090Relabelling(t *testing.T) {
	peersBin(t)
	r := liveReport(t, libsignalPeer(t), live.Spec{}, nil)
	failed := map[string]bool{}
	for _, g := range r.Guarantees {
		for _, c := range g.Checks {
			if c.Status == StatusFail {
				failed[c.ID] = true
			}
		}
	}
	for id := range failed {
		if id != "live/malicious/relabelled-sender" && id != "live/malicious/minted-certificate" {
			t.Errorf("libsignal 0.90 fails %s", id)
		}
	}
	if !failed["live/malicious/relabelled-sender"] {
		t.Errorf("libsignal 0.90 passes relabelled-sender: %v", failed)
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

// TestLiveReportInteropPairings: Interlock against each peer fills the interop
// guarantees.
func TestLiveReportInteropPairings(t *testing.T) {
	bin := peersBin(t)
	il := spec(filepath.Join(bin, "interlock"), "peer")
	r := liveReport(t, il, libsignalPeer(t), nil)
	if s := r.Guarantee("interop-libsignal").Status; s != StatusPass {
		t.Errorf("interlock ↔ libsignal: interop-libsignal %s", s)
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
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
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
