package conformance

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var vectorDir = filepath.Join("..", "testdata", "vectors")

func TestCorpusInterlock(t *testing.T) {
	rs, err := RunCorpus(Interlock{}, vectorDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Failed != 0 || r.Passed == 0 {
			t.Errorf("%s %s: %d passed, %d failed: %v", r.Check, r.File, r.Passed, r.Failed, r.Failures)
		}
	}
}

// TestVectorsRegenerate: the generator reproduces the committed files.
func TestVectorsRegenerate(t *testing.T) {
	files, err := GenerateVectors(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go run ./conformance/cmd/genvectors", name)
		}
	}
}

// TestCorpusSchema: every file names a generator and a source, every
// vector an id and a comment, and every category has positive and negative
// vectors (README.md's envelope).
func TestCorpusSchema(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(vectorDir, "*.json"))
	if len(names) < 10 {
		t.Fatalf("only %d vector files", len(names))
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Source     Sources                      `json:"source"`
			Generator  string                       `json:"generator"`
			Comment    string                       `json:"comment"`
			Vectors    []map[string]json.RawMessage `json:"vectors"`
			Transcript []TranscriptEntry            `json:"transcript"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if len(f.Source) == 0 || f.Generator == "" || f.Comment == "" {
			t.Errorf("%s: source, generator or comment missing", n)
		}
		for i, v := range f.Vectors {
			if v["id"] == nil {
				t.Errorf("%s: vector %d has no id", n, i)
			}
		}
	}
	// Positive and negative vectors per category Interlock generates.
	for _, n := range []string{"interlock-agreement.json", "interlock-xeddsa.json", "interlock-kem.json", "interlock-fingerprint.json", "interlock-session-pqxdh.json", "interlock-session-x3dh.json"} {
		b, _ := os.ReadFile(filepath.Join(vectorDir, n))
		s := string(b)
		neg := strings.Contains(s, `"expect_error"`) || strings.Contains(s, `"expect": "invalid"`)
		if !neg {
			t.Errorf("%s: no negative vectors", n)
		}
	}
}
