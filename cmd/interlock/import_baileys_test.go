package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// TestIssue15ImportBaileysCommand: issue #15 item 4, `interlock import
// baileys`: --dry-run writes nothing, a damaged file exits 1 naming it and
// writes nothing, --skip-bad imports the rest and lists it, and the summary
// names what was not imported and why.
func TestIssue15ImportBaileysCommand(t *testing.T) {
	src := filepath.Join(t.TempDir(), "auth")
	if err := os.CopyFS(src, os.DirFS("../../store/importer/testdata/baileys")); err != nil {
		t.Fatal(err)
	}
	runIt := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"import", "baileys"}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, _ := runIt("--from", filepath.Join(src, "creds.json"), "--dry-run"); code != exitUsage {
		t.Errorf("--from a file: exit %d, want 2", code)
	}
	dstPath := filepath.Join(t.TempDir(), "interlock.db")
	code, out, _ := runIt("--from", src, "--dry-run")
	if code != exitOK || !strings.Contains(out, "would import (dry run) 1 account(s): 3 sessions, 2 sender keys, 3 prekeys (2 not yet uploaded), 1 signed prekeys, 3 identities") ||
		!strings.Contains(out, "not imported: 1 file(s) of app-state-sync-key:") || !strings.Contains(out, "1 identities taken from sessions") {
		t.Fatalf("dry run: %d %q", code, out)
	}
	if _, err := os.Stat(dstPath); err == nil {
		t.Fatal("the dry run created the destination")
	}
	bad := filepath.Join(src, "session-15550002222.0.json")
	if err := os.WriteFile(bad, []byte(`{"_sessions":{},"version":"v9"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runIt("--from", src, "--to", dstPath)
	if code != exitFail || !strings.Contains(stderr, "session row session-15550002222.0.json") || !strings.Contains(stderr, `version "v9"`) {
		t.Fatalf("bad file: %d %q", code, stderr)
	}
	dst, err := sqlstore.Open(context.Background(), dstPath)
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := dst.Accounts(context.Background()); len(names) != 0 {
		t.Fatalf("failed import left %v", names)
	}
	dst.Close()
	code, out, _ = runIt("--from", src, "--to", dstPath, "--skip-bad")
	if code != exitOK || !strings.Contains(out, "imported 1 account(s): 2 sessions, 2 sender keys") ||
		!strings.Contains(out, "skipped 1 row(s):") || !strings.Contains(out, "session session-15550002222.0.json") {
		t.Fatalf("--skip-bad: %d %q", code, out)
	}
}
