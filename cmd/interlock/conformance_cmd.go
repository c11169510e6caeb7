package main

import (
	"bytes"
	"errors"
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

const conformanceUsage = `usage: interlock conformance [--peer CMD [--against CMD]] [--reference KIND=PATH]
                             [--skip GUARANTEE]... [--vectors DIR] [--format text|json|markdown|html] [-o FILE]
                             [--mutants BINARY]

Shows which security guarantees of the Signal protocol an implementation
provides, with the evidence to rerun every check.

Without --peer, runs the vector corpus (built into this binary; --vectors
DIR replaces it) against Interlock and the live scenarios between two
Interlock peers. With --peer, runs the live scenarios with CMD as both
sides (or against --against, or against a --reference), and the corpus
through CMD wherever the peer protocol allows it; the rest of the corpus
is reported as not run.

Interop with libsignal or go.mau.fi/libsignal is credited only against a
reference this command verifies on disk and starts itself:
  --reference libsignal[@0.90|@0.103]=interop/libsignal   (package.json name
      and version read, package directory digested)
  --reference mau=bin/mau-peer   (Go build information read, binary digested)
What a peer says about itself is reported, never trusted.

--mutants BINARY also runs the mutation test of this report: BINARY is
Interlock built with -tags interlock_mutants (go build -tags
interlock_mutants -o BINARY ./cmd/interlock), which plants one defect class
at a time; the report is run against each, must fail the guarantee the
defect breaks with the check that shows it, and must fail nothing with no
defect planted. The score (killed / total; per mutant its class and the
failed check) is written into the report ("mutants" in JSON). A mutant that
survives, or a failure with none planted, makes the exit status 1.

Exit status:
  0  every guarantee passed (or was excluded with --skip)
  1  a check failed, or the run itself failed
  2  usage error
  3  incomplete: nothing failed, but a guarantee has a check that did not
     run (a missing vector file, an op the peer lacks, a scenario left out
     by --run, SPQR not claimed); the report lists each with the reason.
     --skip GUARANTEE excludes a guarantee on purpose, and says so in the
     report; a failed check still fails.
Guarantees beyond what libsignal offers (tier "hardening": bounded work on
forged messages) are checked and reported, failures named, but do not
decide the exit status, which speaks to Signal equivalence.
`

// conformanceCmd runs `interlock conformance`: the vector corpus and the
// live scenarios, reported per guarantee. It returns the exit status:
// conformance.ExitPass (0), ExitFail (1), ExitUsage (2) or ExitIncomplete
// (3); see conformanceUsage.
func conformanceCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("interlock conformance", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var skips []string
	var (
		peer      = fs.String("peer", "", "command line of a peer to test (split on spaces); default: Interlock itself")
		against   = fs.String("against", "", "command line of the other side (default: the --peer command again)")
		reference = fs.String("reference", "", "verified reference as the other side: libsignal[@VERSION]=DIR or mau=BINARY")
		format    = fs.String("format", "text", "report format: "+strings.Join(conformance.Formats, ", "))
		out       = fs.String("o", "", "write the report to this file instead of standard output")
		vectors   = fs.String("vectors", "", "vector corpus directory (default: the corpus built into this binary)")
		run       = fs.String("run", "", "only live scenarios whose ID matches this regular expression (the others are reported as not run)")
		big       = fs.Bool("big", false, "also run long live checks (forward jump beyond 25,000)")
		timeout   = fs.Duration("timeout", live.DefaultTimeout, "time allowed for one peer response")
		seed      = fs.Uint64("seed", 0, "seed for the live scenarios' random choices (0 = random)")
		quiet     = fs.Bool("q", false, "no progress on standard error")
		mutants   = fs.String("mutants", "", "also run the mutation test of the report against `BINARY`, Interlock built with -tags interlock_mutants")
	)
	fs.Func("skip", "exclude a `GUARANTEE` from the verdict, recorded in the report (repeatable)", func(v string) error {
		skips = append(skips, v)
		return nil
	})
	usage := func(w io.Writer) {
		fmt.Fprint(w, conformanceUsage+"\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "interlock conformance: %s\n", fmt.Sprintf(format, a...))
		usage(stderr)
		return conformance.ExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return conformance.ExitPass
		}
		return usageErr("%v", err)
	}
	valid := false
	for _, f := range conformance.Formats {
		valid = valid || f == *format
	}
	switch {
	case !valid:
		return usageErr("--format %q: want one of %s", *format, strings.Join(conformance.Formats, ", "))
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *against != "" && *peer == "":
		return usageErr("--against needs --peer")
	case *against != "" && *reference != "":
		return usageErr("--against and --reference both name the other side")
	}
	known := map[string]bool{}
	for _, g := range conformance.Guarantees {
		known[g.ID] = true
	}
	for _, s := range skips {
		if !known[s] {
			var ids []string
			for _, g := range conformance.Guarantees {
				ids = append(ids, g.ID)
			}
			return usageErr("--skip %q: no such guarantee (want one of %s)", s, strings.Join(ids, ", "))
		}
	}
	o := conformance.Options{Tool: "interlock conformance (" + version + ")", VectorDir: *vectors, Big: *big,
		Timeout: *timeout, Seed: *seed, Skip: skips, Invocation: invocation(args)}
	if !*quiet {
		o.Progress = stderr
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			return usageErr("--run: %v", err)
		}
		o.Filter = re
	}
	if *reference != "" {
		ref, err := conformance.ParseReference(*reference)
		if err != nil {
			fmt.Fprintln(stderr, "interlock conformance:", err)
			return conformance.ExitFail
		}
		o.Reference = ref
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "interlock conformance:", err)
		return conformance.ExitFail
	}
	// The adversary is this binary, never the peer under test.
	o.Adversary = live.Spec{Argv: []string{self, "peer", "--adversary"}}
	if *peer == "" {
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
		return conformance.ExitFail
	}
	if *mutants != "" {
		mo := conformance.MutationOptions{Tool: self, Mutants: *mutants}
		if !*quiet {
			mo.Progress = stderr
		}
		if rep.Mutants, err = conformance.RunMutants(mo); err != nil {
			fmt.Fprintln(stderr, "interlock conformance:", err)
			return conformance.ExitFail
		}
	}
	var buf bytes.Buffer
	if err := rep.Render(&buf, *format); err != nil {
		fmt.Fprintln(stderr, "interlock conformance:", err)
		return conformance.ExitFail
	}
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "interlock conformance:", err)
			return conformance.ExitFail
		}
	} else if _, err := stdout.Write(buf.Bytes()); err != nil {
		return conformance.ExitFail
	}
	if o.Progress != nil {
		s := rep.Summary
		fmt.Fprintf(stderr, "conformance: %s (exit %d): %d guarantees passed, %d failed, %d not run, %d not implemented, %d skipped (%s)\n",
			strings.ToUpper(s.Verdict), s.ExitStatus, s.Passed, s.Failed, s.NotRun, s.NotImplemented, s.Skipped, time.Now().Format(time.TimeOnly))
	}
	if rep.Mutants != nil && !rep.Mutants.Passed() {
		fmt.Fprintf(stderr, "interlock conformance: mutation test failed: %d killed / %d total, %d baseline failures\n",
			rep.Mutants.Killed, rep.Mutants.Total, len(rep.Mutants.BaselineFailures))
		return conformance.ExitFail
	}
	return rep.ExitStatus()
}

// invocation is the command line that reproduces a run, without the
// flags a check's reproduction sets itself (--run, --seed) and those that
// only choose the output (-o, --format, -q).
func invocation(args []string) string {
	drop := map[string]bool{"run": true, "seed": true, "o": true, "format": true, "q": true}
	parts := []string{"interlock", "conformance"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		name, _, hasValue := strings.Cut(name, "=")
		if !strings.HasPrefix(a, "-") || !drop[name] {
			parts = append(parts, shellQuote(a))
			continue
		}
		if !hasValue && name != "q" && i+1 < len(args) {
			i++ // the flag's value
		}
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == '@' || r == ':' ||
			('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
