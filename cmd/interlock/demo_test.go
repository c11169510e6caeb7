package main

import (
	"bytes"
	"context"
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
