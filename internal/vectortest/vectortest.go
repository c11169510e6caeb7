package vectortest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Find returns the path of testdata/vectors/name, looking from the working
// directory (a test's package directory) upwards; the file itself need not
// exist.
func Find(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "testdata", "vectors")); err == nil && st.IsDir() {
			return filepath.Join(dir, "testdata", "vectors", name), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("vectortest: no testdata/vectors above the working directory")
		}
		dir = parent
	}
}

// Read returns the bytes of testdata/vectors/name.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	path, err := Find(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("vector file %s: %v (regenerate it with the generator named in testdata/vectors/README.md)", path, err)
	}
	return b
}

// Load decodes the JSON file testdata/vectors/name into v.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(Read(t, name), v); err != nil {
		t.Fatalf("vector file %s: %v", name, err)
	}
}
