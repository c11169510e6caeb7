package sqlstore_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Issue #16 item 9: a SQLite-only application does not link pgx, a
// PostgreSQL-only one not the SQLite engine, and sqlstore alone neither.
func TestIssue16Item9_DriverPackagesLinkOneEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	const mod = "github.com/interlock-e2ee/interlock/store/sqlstore"
	const pgx, sqlite = "github.com/jackc/pgx", "modernc.org/sqlite"
	for pkg, forbidden := range map[string][]string{
		mod:               {pgx, sqlite},
		mod + "/sqlite":   {pgx},
		mod + "/postgres": {sqlite},
	} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := string(out)
		for _, f := range forbidden {
			if strings.Contains(deps, f) {
				t.Errorf("%s links %s", pkg, f)
			}
		}
	}
	// And each driver package does link its own engine.
	for pkg, want := range map[string]string{mod + "/sqlite": sqlite, mod + "/postgres": pgx} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("%s does not link %s (%v)", pkg, want, err)
		}
	}
}
