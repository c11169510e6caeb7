package wycheproof

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

// TestReadMissing: an absent directory skips; a file missing from a
// directory that exists is an error, never a skip.
func TestReadMissing(t *testing.T) {
	dir := t.TempDir()
	if _, skip, err := read(filepath.Join(dir, "absent"), "x.json"); !skip || err != nil {
		t.Errorf("absent directory: skip %v, err %v; want a skip", skip, err)
	}
	if _, skip, err := read(dir, "x.json"); skip || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: skip %v, err %v; want an error", skip, err)
	}
	WriteFile(t, dir, "x.json", "{}")
	if b, skip, err := read(dir, "x.json"); skip || err != nil || string(b) != "{}" {
		t.Errorf("present file: %q, %v, %v", b, skip, err)
	}
}
