package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/conformance"
	"github.com/interlock-e2ee/interlock/conformance/live"
)

// conformanceCmd runs `interlock conformance`: the vector corpus against
// Interlock and the live scenarios between peers, reported per guarantee.
// It returns the exit status: 0 when no guarantee failed, 1 when one did,
// 2 on usage errors.
func conformanceCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("interlock conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		peer    = fs.String("peer", "", "command line of a peer to test (split on spaces); default: Interlock itself")
		against = fs.String("against", "", "command line of the other side (default: the --peer command again)")
		format  = fs.String("format", "text", "report format: "+strings.Join(conformance.Formats, ", "))
		out     = fs.String("o", "", "write the report to this file instead of standard output")
		vectors = fs.String("vectors", "testdata/vectors", "vector corpus directory")
		run     = fs.String("run", "", "only live scenarios whose ID matches this regular expression")
		big     = fs.Bool("big", false, "also run long live checks (forward jump beyond 25,000)")
		timeout = fs.Duration("timeout", live.DefaultTimeout, "time allowed for one peer response")
		seed    = fs.Uint64("seed", 0, "seed for the live scenarios' random choices (0 = random)")
		quiet   = fs.Bool("q", false, "no progress on standard error")
	)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: interlock conformance [--peer CMD] [--against CMD] [--format text|json|markdown|html] [-o FILE]

Without --peer, runs the vector corpus against Interlock and the live
scenarios between two Interlock peers. With --peer, runs the live scenarios
with CMD as both sides, or CMD against --against. The report says, per
security guarantee, which checks demonstrate it and whether they passed.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	valid := false
	for _, f := range conformance.Formats {
		valid = valid || f == *format
	}
	if !valid || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	o := conformance.Options{Tool: "interlock conformance (" + version + ")", VectorDir: *vectors, Big: *big, Timeout: *timeout, Seed: *seed}
	if !*quiet {
		o.Progress = stderr
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintln(stderr, "interlock conformance: -run:", err)
			return 2
		}
		o.Filter = re
	}
	if *peer == "" {
		if *against != "" {
			fmt.Fprintln(stderr, "interlock conformance: --against needs --peer")
			return 2
		}
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "interlock conformance:", err)
			return 1
		}
		o.Corpus = conformance.Interlock{}
		o.A = live.Spec{Argv: []string{self, "peer"}}
	} else {
		o.A = live.Spec{Argv: strings.Fields(*peer)}
		if *against != "" {
			o.B = live.Spec{Argv: strings.Fields(*against)}
		}
	}
	rep, err := conformance.Run(o)
	if err != nil {
		fmt.Fprintln(stderr, "interlock conformance:", err)
		return 1
	}
	var buf bytes.Buffer
	if err := rep.Render(&buf, *format); err != nil {
		fmt.Fprintln(stderr, "interlock conformance:", err)
		return 1
	}
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "interlock conformance:", err)
			return 1
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return 1
	}
	if o.Progress != nil {
		s := rep.Summary
		fmt.Fprintf(stderr, "conformance: %s: %d guarantees passed, %d failed, %d not run, %d not implemented (%s)\n",
			s.Verdict, s.Passed, s.Failed, s.NotRun, s.NotImplemented, time.Now().Format(time.TimeOnly))
	}
	if rep.Summary.Verdict != conformance.StatusPass {
		return 1
	}
	return 0
}
