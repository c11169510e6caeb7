package mutant_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/conformance/live"
	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// TestDefaultBuildHasNoMutants builds the interlock command without the
// interlock_mutants tag and checks that the mutants cost nothing there: no
// symbol of this package, and none of the mutant names or the environment
// variable in the binary, so every `if mutant.On(…)` branch was removed by
// the compiler (issue #21 item 1).
func TestDefaultBuildHasNoMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/interlock")
	}
	exe := filepath.Join(t.TempDir(), "interlock")
	if out, err := exec.Command("go", "build", "-o", exe, "../../cmd/interlock").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nm, err := exec.Command("go", "tool", "nm", exe).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool nm: %v\n%s", err, nm)
	}
	for _, line := range strings.Split(string(nm), "\n") {
		if strings.Contains(line, "interlock/internal/mutant.") {
			t.Errorf("default binary has a mutant symbol: %s", line)
		}
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bin, []byte(mutant.Env)) {
		t.Errorf("default binary contains %q", mutant.Env)
	}
	// A few names are also the last part of a live scenario's ID
	// ("malicious/ghost-device"): those strings are there for the
	// scenarios, not for a mutant.
	var ids []string
	for _, s := range live.All() {
		ids = append(ids, s.ID)
	}
	for _, name := range mutant.All {
		if strings.Contains(strings.Join(ids, " "), name) {
			continue
		}
		if bytes.Contains(bin, []byte(name)) {
			t.Errorf("default binary contains the mutant name %q: a mutant.On branch was not removed", name)
		}
	}
}

// TestNamesUnique: every mutant has its own name.
func TestNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range mutant.All {
		if seen[n] {
			t.Errorf("duplicate mutant %s", n)
		}
		seen[n] = true
	}
}

// BenchmarkOn measures a guarded branch in the default build: it is
// removed, so the loop body is empty.
func BenchmarkOn(b *testing.B) {
	n := 0
	for b.Loop() {
		if mutant.On(mutant.MACUnchecked) {
			n++
		}
	}
	if n != 0 {
		b.Fatal("mutant on in the default build")
	}
}
