package conformance

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// TestLiveReportMutants is the mutation test of the report (issue #21 item
// 1), run as a user runs it: `interlock conformance --mutants BINARY` with
// BINARY built with -tags interlock_mutants. Every mutant of
// internal/mutant.All must be killed by a check of the guarantee it breaks,
// the same runs with no mutant switched on must fail nothing, and the score
// is in the report's own JSON (checked against the schema). The report is
// also written to $INTERLOCK_MUTANTS_REPORT when set (make mutants).
func TestLiveReportMutants(t *testing.T) {
	bin := peersBin(t)
	stock := filepath.Join(bin, "interlock")
	mut := filepath.Join(bin, "interlock-mutants")
	build := exec.Command("go", "build", "-tags", "interlock_mutants", "-o", mut, "../cmd/interlock")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags interlock_mutants: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "report.json")
	if p := os.Getenv("INTERLOCK_MUTANTS_REPORT"); p != "" {
		out = p
	}
	// The report's own subject: the corpus against stock Interlock (no
	// live scenario: the mutation test runs its own), so incomplete (3).
	cmd := exec.Command(stock, "conformance", "--mutants", mut, "--run", "^$", "--format", "json", "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	t.Logf("interlock conformance --mutants:\n%s", stderr.String())
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatal(rerr)
	}
	v := checkJSON(t, loadSchema(t), b)
	var r struct {
		Mutants *MutationScore `json:"mutants"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Mutants == nil {
		t.Fatalf("no mutants in the report: %v (keys %v)", err, len(v))
	}
	m := r.Mutants
	if m.Total != len(mutant.All) || len(m.Mutants) != len(mutant.All) {
		t.Errorf("total %d, %d results; internal/mutant.All has %d", m.Total, len(m.Mutants), len(mutant.All))
	}
	for _, f := range m.BaselineFailures {
		t.Errorf("with no mutant switched on: %s", f)
	}
	for _, mr := range m.Mutants {
		if !slices.Contains(mutant.All, mr.Name) {
			t.Errorf("unknown mutant %s", mr.Name)
		}
		if !mr.Killed || len(mr.KilledBy) == 0 || mr.Class == "" {
			t.Errorf("%s", mr.Line())
		}
	}
	// Incomplete (3): the subject's own live scenarios were left out
	// with --run; 1 when the mutation test fails.
	if want := map[bool]int{true: ExitIncomplete, false: ExitFail}[m.Passed()]; code != want {
		t.Errorf("exit status %d, want %d", code, want)
	}
	t.Logf("mutants: %d killed / %d total (%gs)", m.Killed, m.Total, m.Seconds)
}
