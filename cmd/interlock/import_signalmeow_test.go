package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/store/importer/signalmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// TestIssue15ImportSignalmeowCommand: issue #15 item 4, `interlock import
// signalmeow`: --dry-run writes nothing, a bad row exits 1 naming account,
// table and address and writes nothing, --skip-bad imports the rest and
// lists it; progress on stderr, the summary on stdout, the ACI and PNI
// accounts.
func TestIssue15ImportSignalmeowCommand(t *testing.T) {
	const aci, pni = "5c0a1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "PNI:6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4"
	src := filepath.Join(t.TempDir(), "signalmeow.db")
	db, err := sql.Open("sqlite", src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	signalmeowtest.Fill(t, db, signalmeowtest.LoadVector(t, "../../testdata/vectors/signalmeow-0.103.json"))
	runIt := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"import", "signalmeow"}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	dstPath := filepath.Join(t.TempDir(), "interlock.db")
	code, out, stderr := runIt("--from", src, "--dry-run")
	if code != exitOK || !strings.Contains(out, "would import (dry run) 2 account(s): 2 sessions, 2 sender keys") ||
		!strings.Contains(out, "1 last resort") || !strings.Contains(out, aci+` → account "`+aci+`"`) ||
		!strings.Contains(out, pni+` → account "`+pni+`"`) || !strings.Contains(stderr, aci+": read") {
		t.Fatalf("dry run: %d %q %q", code, out, stderr)
	}
	if _, err := db.Exec(`UPDATE signalmeow_sessions SET record = X'0aff' WHERE their_service_id = '8f3d4051-6273-4d8e-bf90-a1b2c3d4e5f6'`); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runIt("--from", "sqlite:"+src, "--to", dstPath)
	if code != exitFail || !strings.Contains(stderr, "account "+aci+": signalmeow_sessions row 8f3d4051-6273-4d8e-bf90-a1b2c3d4e5f6.1") ||
		!strings.Contains(stderr, "nothing was imported") {
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
	code, out, stderr = runIt("--from", src, "--to", dstPath, "--skip-bad")
	if code != exitOK || !strings.Contains(out, "imported 2 account(s): 1 sessions") || !strings.Contains(out, "skipped 1 row(s):") ||
		!strings.Contains(out, aci+": signalmeow_sessions 8f3d4051-6273-4d8e-bf90-a1b2c3d4e5f6.1") || !strings.Contains(stderr, pni+": write") {
		t.Fatalf("--skip-bad: %d %q %q", code, out, stderr)
	}
	dst, err = sqlstore.Open(context.Background(), dstPath)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if names, _ := dst.Accounts(context.Background()); len(names) != 2 {
		t.Fatalf("accounts %v", names)
	}
}
