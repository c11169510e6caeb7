package wycheproof

import (
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

// Env names the environment variable that points at the vector directory.
const Env = "INTERLOCK_WYCHEPROOF_DIR"

// Dir returns the directory the vectors are read from: $INTERLOCK_WYCHEPROOF_DIR,
// else shared/wycheproof beside the module root (the nearest directory above
// the package under test holding go.mod), whatever the package's depth.
func Dir() string {
	if d := os.Getenv(Env); d != "" {
		return d
	}
	root := "."
	for range 8 {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		root = filepath.Join(root, "..")
	}
	return filepath.Join(root, "..", "shared", "wycheproof")
}

// Hex is a hex string in a Wycheproof file.
type Hex []byte

// UnmarshalJSON decodes a JSON string of hex digits.
func (h *Hex) UnmarshalJSON(b []byte) error {
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

// Test holds the fields every Wycheproof test case has.
type Test struct {
	TcID    json.Number `json:"tcId"`
	Comment string      `json:"comment"`
	Flags   []string    `json:"flags"`
	Result  string      `json:"result"` // valid, invalid or acceptable
}

// File is a Wycheproof file with test groups of type G.
type File[G any] struct {
	Algorithm     string `json:"algorithm"`
	Schema        string `json:"schema"`
	NumberOfTests int    `json:"numberOfTests"`
	TestGroups    []G    `json:"testGroups"`
}

// Load parses dir/name into v. When the directory is absent it skips the
// test, naming the directory and the files the package reads (files); when
// the directory exists but the file does not, the test fails.
func Load(t *testing.T, dir, name string, files []string, v any) {
	t.Helper()
	b, skip, err := read(dir, name)
	if skip {
		t.Skipf("Wycheproof directory %s not found; set %s or place these files there: %s",
			dir, Env, strings.Join(files, ", "))
	}
	if err != nil {
		t.Fatalf("%v; this package reads: %s", err, strings.Join(files, ", "))
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// read returns dir/name, or skip when dir does not exist, or an error (a
// file missing from an existing directory is one).
func read(dir, name string) (b []byte, skip bool, err error) {
	b, err = os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		if _, derr := os.Stat(dir); errors.Is(derr, fs.ErrNotExist) {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("wycheproof: file %s missing from %s, which exists: %w", name, dir, err)
	}
	return b, false, err
}

// Decision settles an "acceptable" case: a case carrying Flag must be
// accepted (Valid) or rejected, for the reason given. The first entry whose
// flag the case carries decides.
type Decision struct {
	Flag  string
	Valid bool
	Why   string
}

// Report collects a harness run: how many cases were checked and what went
// wrong.
type Report struct {
	Checked  int
	Skipped  int
	Problems []string
	decided  map[string]int // acceptable cases per decision
}

// Want returns whether the case must be accepted, counting the decisions
// taken for acceptable cases. An acceptable case that no decision covers is
// an error.
func (r *Report) Want(tc Test, table []Decision) (bool, error) {
	switch tc.Result {
	case "valid":
		return true, nil
	case "invalid":
		return false, nil
	case "acceptable":
		for _, d := range table {
			if slices.Contains(tc.Flags, d.Flag) {
				if r.decided == nil {
					r.decided = map[string]int{}
				}
				r.decided[fmt.Sprintf("%s -> valid=%v (%s)", d.Flag, d.Valid, d.Why)]++
				return d.Valid, nil
			}
		}
		return false, fmt.Errorf("tcId %s: acceptable case with flags %v has no decision", tc.TcID, tc.Flags)
	}
	return false, fmt.Errorf("tcId %s: unknown result %q", tc.TcID, tc.Result)
}

// Fail records a problem with a case.
func (r *Report) Fail(tc Test, format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf("tcId %s (%s, flags %v): ", tc.TcID, tc.Comment, tc.Flags)+fmt.Sprintf(format, args...))
}

// Finish fails t for each problem and logs the counts.
func (r *Report) Finish(t *testing.T, name string) {
	t.Helper()
	for _, p := range r.Problems {
		t.Error(name + ": " + p)
	}
	t.Logf("%s: %d cases checked, %d skipped, %d problems", name, r.Checked, r.Skipped, len(r.Problems))
	for _, d := range slices.Sorted(maps.Keys(r.decided)) {
		t.Logf("%s: %d acceptable cases decided by %s", name, r.decided[d], d)
	}
	if r.Checked == 0 {
		t.Errorf("%s: no case checked", name)
	}
}

// WriteFile writes a synthetic file for the harness self-tests.
func WriteFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// MLKEMGroup is a test group of the ML-KEM files (mlkem_*_test.json,
// mlkem_*_encaps_test.json, mlkem_*_keygen_seed_test.json), whose tests
// use the fields of their group's type.
type MLKEMGroup struct {
	Type         string `json:"type"`
	ParameterSet string `json:"parameterSet"`
	Tests        []struct {
		Test
		Seed Hex `json:"seed"`
		EK   Hex `json:"ek"`
		DK   Hex `json:"dk"`
		M    Hex `json:"m"`
		C    Hex `json:"c"`
		K    Hex `json:"K"`
	} `json:"tests"`
}
