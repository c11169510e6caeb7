package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/store/importer/whatsmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

func whatsmeowSource(t *testing.T) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "whatsmeow.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	whatsmeowtest.Fill(t, db, whatsmeowtest.LoadVector(t, "../../testdata/vectors/mau-records.json"))
	return path, db
}

// TestIssue15ImportCommand: issue #15 item 4, `interlock import whatsmeow`:
// the summary on stdout, usage errors exit 2, a bad row exits 1 and writes
// nothing, --skip-bad imports the rest and lists it, --dry-run writes
// nothing.
func TestIssue15ImportCommand(t *testing.T) {
	src, db := whatsmeowSource(t)
	runIt := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"import"}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	for _, args := range [][]string{{}, {"whatsmeow"}, {"nosuch", "--from", src, "--to", "x"}, {"whatsmeow", "--from", src}, {"whatsmeow", "--bogus"}} {
		if code, _, _ := runIt(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := runIt("--help"); code != exitOK || !strings.Contains(out, "usage: interlock import whatsmeow") {
		t.Errorf("--help: %d %q", code, out)
	}
	dstPath := filepath.Join(t.TempDir(), "interlock.db")
	if code, out, _ := runIt("whatsmeow", "--from", src, "--dry-run"); code != exitOK || !strings.Contains(out, "would import (dry run) 1 account(s): 2 sessions, 2 sender keys, 3 prekeys (1 not yet uploaded)") {
		t.Fatalf("dry run: %d %q", code, out)
	}
	// A corrupt row: exit 1, nothing written.
	if _, err := db.Exec(`UPDATE whatsmeow_sessions SET session = X'0aff' WHERE their_id = '15550000003:0'`); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runIt("whatsmeow", "--from", "sqlite:"+src, "--to", dstPath)
	if code != exitFail || !strings.Contains(stderr, "whatsmeow_sessions row 15550000003:0") || !strings.Contains(stderr, "15550000001:7@s.whatsapp.net") {
		t.Fatalf("bad row: %d %q", code, stderr)
	}
	dst, err := sqlstore.Open(context.Background(), dstPath)
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := dst.Accounts(context.Background()); len(names) != 0 {
		t.Fatalf("failed import left %v", names)
	}
	dst.Close()
	code, out, _ := runIt("whatsmeow", "--from", src, "--to", dstPath, "--skip-bad")
	if code != exitOK || !strings.Contains(out, "imported 1 account(s): 1 sessions") || !strings.Contains(out, "skipped 1 row(s):") ||
		!strings.Contains(out, "whatsmeow_sessions 15550000003:0") {
		t.Fatalf("--skip-bad: %d %q", code, out)
	}
}
