package conformance

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// Options configure Run.
type Options struct {
	Tool string // names the tool in the report
	// Corpus, when not nil, runs the vector corpus in VectorDir against it.
	Corpus    Implementation
	VectorDir string
	// A and B, when A has a command line, run the live scenarios between
	// them (B defaults to A).
	A, B    live.Spec
	Filter  *regexp.Regexp // live scenario IDs
	Big     bool
	Timeout time.Duration
	Seed    uint64
	// Progress receives one line per step (standard error in the CLI).
	Progress io.Writer
}

// Run runs the corpus and the live scenarios and builds the report.
func Run(o Options) (*Report, error) {
	subject := ""
	if o.Corpus != nil {
		subject = o.Corpus.Name()
	}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	r := NewReport(o.Tool, subject, time.Now())
	if o.Corpus != nil {
		if _, err := os.Stat(o.VectorDir); err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("vector corpus not run: %v (run from the repository root or pass --vectors)", err))
		} else {
			rs, err := RunCorpus(o.Corpus, o.VectorDir, func(f string) { progress("corpus: %s", f) })
			if err != nil {
				return nil, err
			}
			r.AddCorpus(o.Corpus.Name(), rs)
		}
	}
	if len(o.A.Argv) > 0 {
		if len(o.B.Argv) == 0 {
			o.B = o.A
		}
		scenarios := live.All()
		var results []live.Result
		sum, err := live.Run(live.Options{A: o.A, B: o.B, Filter: o.Filter, Big: o.Big, Timeout: o.Timeout, Seed: o.Seed},
			scenarios, func(res live.Result) {
				progress("live: %s", res.Line())
				results = append(results, res)
			})
		if err != nil {
			return nil, err
		}
		info := LiveInfo{Seed: sum.Seed}
		if len(results) > 0 {
			info.A, info.B = results[0].A, results[0].B
		}
		if sum.PairingNA != "" {
			r.Notes = append(r.Notes, "live scenarios not applicable: "+sum.PairingNA)
		}
		info.Flavour = sum.Flavour
		if subject == "" {
			subject = info.A
			if info.B != info.A {
				subject += " ↔ " + info.B
			}
		}
		r.AddLive(info, scenarios, results)
	}
	r.Subject = subject
	r.Finish()
	return r, nil
}
