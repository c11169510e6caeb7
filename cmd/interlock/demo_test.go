package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo runs the demo end to end on a fresh SQLite file and checks the
// steps that prove something.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := demo(context.Background(), &demoPrinter{w: &out}, filepath.Join(t.TempDir(), "demo.db"), ""); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"session version 4.",
		"the second copy is refused",
		"Still talking after a restart.",
		"Envelope DOUBLE_RATCHET",
		"identical to alice's PNG",
		"refused before any output (media: invalid digest)",
		"session version 3.",
		`type="pkmsg"`,
		"fileSHA256 verified",
		"    PreKeySignalMessage: ",
		"    PlaintextContent: c0",
		"…",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestIssue17Item5_DemoCutOff: a demo whose output is cut off (`interlock
// demo | head`) still removes its temporary database (issue #17 item 5).
func TestIssue17Item5_DemoCutOff(t *testing.T) {
	tmp := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(self, "demo")
	c.Env = append(os.Environ(), "INTERLOCK_TEST_MAIN=1", "TMPDIR="+tmp)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || !strings.Contains(line, tmp) {
		t.Fatalf("first line %q, %v", line, err)
	}
	out.Close()
	c.Wait()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("left behind in TMPDIR: %v", left)
	}
}
