// Command interop-driver runs the interop scenarios between two peer
// implementations that speak the conformance peer protocol
// (docs/peer-protocol.md).
//
//	interop-driver -a "interlock peer" -b "node interop/libsignal/peer.js --lib 0.90"
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

type argList []string

func (l *argList) String() string     { return strings.Join(*l, " ") }
func (l *argList) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var (
		aCmd, bCmd    string
		aArgs, bArgs  argList
		aDir, bDir    string
		run           = flag.String("run", "", "run only scenarios whose ID matches this regular expression")
		skip          = flag.String("skip", "", "leave out scenarios whose ID matches this regular expression")
		expectRefusal = flag.Bool("expect-refusal", false, "pass iff session set-up is refused cleanly (only set-up scenarios run)")
		verbose       = flag.Bool("v", false, "print notes for every result and the negotiated flavour")
		trace         = flag.Bool("trace", false, "print every request and response line to standard error")
		big           = flag.Bool("big", false, "also run long checks (forward jump beyond 25,000)")
		timeout       = flag.Duration("timeout", live.DefaultTimeout, "time allowed for one response")
		seed          = flag.Uint64("seed", 0, "seed for the random choices (0 = random; printed with -v)")
		list          = flag.Bool("list", false, "list the scenarios and exit")
		xfail         = flag.String("xfail", "", "scenarios (regular expression on IDs) expected to fail: known peer defects")
		adversary     = flag.String("adversary", "", "command line of the adversary peer for spqr/downgrade and spqr/unknown-version (e.g. \"interlock peer --adversary\")")
	)
	flag.StringVar(&aCmd, "a", "", "command line of implementation A (split on spaces)")
	flag.StringVar(&bCmd, "b", "", "command line of implementation B (default: same as A)")
	flag.Var(&aArgs, "a-arg", "one more argument for A, kept whole (repeatable)")
	flag.Var(&bArgs, "b-arg", "one more argument for B, kept whole (repeatable)")
	flag.StringVar(&aDir, "a-dir", "", "working directory for A")
	flag.StringVar(&bDir, "b-dir", "", "working directory for B")
	flag.Parse()

	scenarios := append(live.All(), live.SPQRScenarios()...)
	if *list {
		for _, s := range scenarios {
			big := ""
			if s.Big {
				big = " (needs -big)"
			}
			fmt.Printf("%-34s %s%s\n", s.ID, s.Doc, big)
		}
		return
	}
	if bCmd == "" && len(bArgs) == 0 {
		bCmd, bArgs, bDir = aCmd, aArgs, aDir
	}
	a := live.Spec{Argv: append(strings.Fields(aCmd), aArgs...), Dir: aDir}
	b := live.Spec{Argv: append(strings.Fields(bCmd), bArgs...), Dir: bDir}
	if len(a.Argv) == 0 || len(b.Argv) == 0 {
		fmt.Fprintln(os.Stderr, "interop-driver: -a is required (see -h)")
		os.Exit(2)
	}
	opts := live.Options{A: a, B: b, ExpectRefusal: *expectRefusal, Big: *big, Timeout: *timeout, Seed: *seed,
		Adversary: live.Spec{Argv: strings.Fields(*adversary)}}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop-driver: -run:", err)
			os.Exit(2)
		}
		opts.Filter = re
	}
	if *skip != "" {
		re, err := regexp.Compile(*skip)
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop-driver: -skip:", err)
			os.Exit(2)
		}
		scenarios = slices.DeleteFunc(scenarios, func(s live.Scenario) bool { return re.MatchString(s.ID) })
	}
	if *xfail != "" {
		re, err := regexp.Compile(*xfail)
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop-driver: -xfail:", err)
			os.Exit(2)
		}
		opts.XFail = re
	}
	if *verbose {
		opts.Log = os.Stdout
	}
	if *trace {
		opts.Trace = os.Stderr
	}
	start := time.Now()
	sum, err := live.Run(opts, scenarios, func(r live.Result) {
		line := r.Line()
		if *verbose {
			line += fmt.Sprintf("  [%.1fs]", r.Duration.Seconds())
		}
		fmt.Println(line)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop-driver:", err)
		fmt.Printf("0 passed, 1 failed\n")
		os.Exit(1)
	}
	if sum.PairingNA != "" {
		fmt.Printf("N/A pairing  %s\n", sum.PairingNA)
	}
	if *verbose {
		fmt.Printf("seed %d, %.1fs\n", sum.Seed, time.Since(start).Seconds())
	}
	fmt.Printf("%d not applicable\n", sum.NotApplicable)
	if sum.ExpectedFailures > 0 {
		fmt.Printf("%d expected failures (known peer defects)\n", sum.ExpectedFailures)
	}
	fmt.Printf("%d passed, %d failed\n", sum.Passed, sum.Failed)
	if sum.Failed > 0 {
		os.Exit(1)
	}
}
