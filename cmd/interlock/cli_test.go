package main

import (
	"bytes"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestIssue17Item2_Convention runs every subcommand with --help, -h, a bad
// flag and a missing (or stray) argument and checks the stream and the
// exit status (issue #17 item 2: --help used to exit 1 for demo and peer,
// 2 for inspect and conformance, and inspect's flag errors printed no
// error).
func TestIssue17Item2_Convention(t *testing.T) {
	commands := []struct {
		args    []string // the subcommand
		usage   string   // first line of its usage
		missing []string // arguments that miss something (or add a stray one)
		wantErr string   // what the error says for missing
	}{
		{[]string{"demo"}, "usage: interlock demo", []string{"--db"}, "flag needs an argument: -db"},
		{[]string{"peer"}, "usage: interlock peer", []string{"stray"}, `unexpected argument "stray"`},
		{[]string{"media"}, "usage:", []string{}, "missing subcommand: encrypt or decrypt"},
		{[]string{"media", "encrypt"}, "usage: interlock media encrypt", []string{"--format", "signal", "in"}, "missing OUT"},
		{[]string{"media", "decrypt"}, "usage: interlock media decrypt", []string{"--format", "whatsapp", "--key", "AAAA", "in", "out"}, "--type is required with --format whatsapp"},
		{[]string{"inspect"}, "usage: interlock inspect", []string{"--format"}, "flag needs an argument: -format"},
		{[]string{"conformance"}, "usage: interlock conformance", []string{"--format"}, "flag needs an argument: -format"},
		{[]string{"version"}, "usage: interlock version", []string{"stray"}, `unexpected argument "stray"`},
	}
	for _, c := range commands {
		name := "interlock " + strings.Join(c.args, " ")
		with := func(extra ...string) []string { return append(append([]string(nil), c.args...), extra...) }
		t.Run(strings.Join(c.args, "-"), func(t *testing.T) {
			for _, h := range []string{"--help", "-h", "-help"} {
				code, out, errs := runCmd(t, with(h)...)
				if code != 0 || !strings.HasPrefix(out, c.usage) || errs != "" {
					t.Errorf("%s %s: exit %d, stdout %.40q, stderr %q; want 0, usage on stdout, nothing on stderr", name, h, code, out, errs)
				}
			}
			code, out, errs := runCmd(t, with("--no-such-flag")...)
			if code != 2 || out != "" || !strings.HasPrefix(errs, name+": flag provided but not defined: -no-such-flag\n") || !strings.Contains(errs, c.usage) {
				t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %.200q; want 2, error and usage on stderr", name, code, out, errs)
			}
			code, out, errs = runCmd(t, with(c.missing...)...)
			if code != 2 || out != "" || !strings.HasPrefix(errs, name+": "+c.wantErr) || !strings.Contains(errs, c.usage) {
				t.Errorf("%s %q: exit %d, stdout %q, stderr %.200q; want 2 and %q", name, c.missing, code, out, errs, c.wantErr)
			}
		})
	}

	// The top level.
	if code, out, errs := runCmd(t); code != 2 || out != "" || !strings.HasPrefix(errs, "interlock: missing command\nusage: interlock <command>") {
		t.Errorf("interlock: exit %d, %q, %q", code, out, errs)
	}
	for _, h := range []string{"--help", "-h", "help"} {
		if code, out, errs := runCmd(t, h); code != 0 || !strings.HasPrefix(out, "usage: interlock <command>") || errs != "" {
			t.Errorf("interlock %s: exit %d, %q, %q", h, code, out, errs)
		}
	}
	if code, out, _ := runCmd(t, "help", "inspect"); code != 0 || !strings.HasPrefix(out, "usage: interlock inspect") {
		t.Errorf("interlock help inspect: exit %d, %q", code, out)
	}

	// Operational failures: 1, an error, no usage.
	dir := t.TempDir()
	for _, args := range [][]string{
		{"inspect", filepath.Join(dir, "missing")},
		{"media", "encrypt", "--format", "signal", filepath.Join(dir, "missing"), filepath.Join(dir, "out")},
		{"media", "decrypt", "--format", "signal", "--key", "AAAA", filepath.Join(dir, "missing"), filepath.Join(dir, "out")},
		{"demo", "--db", filepath.Join(dir, "no", "such", "dir", "demo.db")},
	} {
		code, out, errs := runCmd(t, args...)
		if code != 1 || out != "" || !strings.HasPrefix(errs, "interlock "+args[0]) || strings.Contains(errs, "usage:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1 and an error without usage", args, code, out, errs)
		}
	}
}

// TestParseArgsInterspersed: flags may follow positional arguments; "--"
// ends them.
func TestParseArgsInterspersed(t *testing.T) {
	fs := newFlagSet("x", "usage: x\n")
	v := fs.String("v", "", "")
	b := fs.Bool("b", false, "")
	var out, errb bytes.Buffer
	if _, ok := parseArgs(fs, []string{"a", "-v", "1", "b", "-b", "--", "-c", "d"}, &out, &errb); !ok {
		t.Fatal(errb.String())
	}
	if *v != "1" || !*b || strings.Join(fs.Args(), " ") != "a b -c d" {
		t.Fatalf("v %q b %v args %q", *v, *b, fs.Args())
	}
	fs = newFlagSet("x", "usage: x\n")
	if _, ok := parseArgs(fs, []string{"-"}, &out, &errb); !ok || fs.NArg() != 1 || fs.Arg(0) != "-" {
		t.Fatalf("-: %q", fs.Args())
	}
	if st, ok := parseArgs(newFlagSet("x", ""), []string{"-h"}, &out, &errb); ok || st != 0 {
		t.Fatal("-h")
	}
}

// TestIssue17Item2_Version: the version line is built from the build
// information go build records.
func TestIssue17Item2_Version(t *testing.T) {
	b := parseBuildInfo(&debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/interlock-e2ee/interlock", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}, buildInfo{Platform: "linux/amd64"})
	if got, want := b.String(), "interlock v1.2.3 0123456789abcdef0123456789abcdef01234567 (modified) go1.26.0 linux/amd64"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	code, out, _ := runCmd(t, "version")
	if code != 0 || !strings.Contains(out, "module   github.com/interlock-e2ee/interlock\n") || !strings.Contains(out, "\ngo       go1.") {
		t.Fatalf("exit %d: %q", code, out)
	}
}
