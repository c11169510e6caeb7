package conformance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// Options configure Run.
type Options struct {
	Tool string // names the tool in the report
	// Invocation is the command line that reproduces the run, without
	// --run and --seed: the report builds each check's reproduction on it.
	Invocation string
	// Corpus, when not nil, runs the vector corpus against it. Otherwise,
	// when A has a command line, the corpus runs through A wherever the
	// peer protocol allows, and the rest is reported as not run.
	Corpus Implementation
	// VectorDir, when set, replaces the corpus embedded in the binary.
	VectorDir string
	// A and B, when A has a command line, run the live scenarios between
	// them (B defaults to A).
	A, B live.Spec
	// Reference, when set, is a reference the tool verified (ParseReference):
	// it is started as B, and only then does the pairing earn interop
	// credit.
	Reference *Reference
	// Adversary starts the tool's own adversary peer (`interlock peer
	// --adversary`, docs/peer-protocol.md "Adversary mode"), the sender of
	// the messages only a broken or malicious sender writes (spqr/downgrade,
	// spqr/unknown-version). Unset, those scenarios do not apply.
	Adversary live.Spec
	// Skip excludes guarantees from the verdict (Report.Skip).
	Skip    []string
	Filter  *regexp.Regexp // live scenario IDs
	Big     bool
	Timeout time.Duration
	Seed    uint64
	// Progress receives one line per step (standard error in the CLI).
	Progress io.Writer
}

// Scenarios lists the live scenarios Run runs: live.All and the
// driver-side SPQR observation.
func Scenarios() []live.Scenario {
	return append(live.All(), live.SPQRScenarios()...)
}

// Run runs the corpus and the live scenarios and builds the report. A
// missing corpus, a corpus file that could not run, a live scenario not
// selected or not possible with the peer's ops all leave their guarantees
// not run, and the verdict incomplete (issue #17 item 1, #21 item 4).
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
	if o.Timeout == 0 {
		o.Timeout = live.DefaultTimeout
	}
	r := NewReport(o.Tool, subject, time.Now())
	r.Invocation = o.Invocation
	for _, id := range o.Skip {
		if !r.Skip(id, "--skip "+id) {
			return nil, fmt.Errorf("conformance: --skip %s: no such guarantee", id)
		}
	}
	if o.Reference != nil {
		o.B = o.Reference.Spec
		r.References = append(r.References, *o.Reference)
	}
	// The corpus: embedded unless --vectors names a directory.
	fsys, source := EmbeddedCorpus(), "embedded"
	if o.VectorDir != "" {
		fi, err := os.Stat(o.VectorDir)
		if err != nil {
			return nil, fmt.Errorf("conformance: --vectors: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("conformance: --vectors %s: not a directory", o.VectorDir)
		}
		fsys, source = os.DirFS(o.VectorDir), o.VectorDir
	}
	embedded, err := corpusDigest(EmbeddedCorpus(), presentFiles(EmbeddedCorpus()))
	if err != nil {
		return nil, err
	}
	r.Corpus = &CorpusInfo{Source: source, EmbeddedDigest: embedded, Files: []string{}, Missing: []string{}}
	switch {
	case o.Corpus != nil:
		cr, err := RunCorpusFS(o.Corpus, fsys, func(f string) { progress("corpus: %s", f) })
		if err != nil {
			return nil, err
		}
		r.AddCorpus(o.Corpus.Name(), cr.Results)
		missing := map[string]bool{}
		for _, f := range cr.Missing {
			missing[f] = true
		}
		for _, cf := range corpusFiles {
			if !missing[cf.file] {
				continue
			}
			why := fmt.Sprintf("vector file %s not found in the corpus (%s)", cf.file, source)
			r.AddCorpusNotRun(cf.check, cf.file, nil, why)
			if neg := negativeCheck(cf); neg != "" {
				r.AddCorpusNotRun(neg, cf.file, nil, why)
			}
		}
		r.Corpus.Missing = append([]string{}, dedupe(cr.Missing)...)
	case len(o.A.Argv) > 0:
		if err := runPeerCorpus(r, o.A, o.Timeout, fsys, func(f string) { progress("corpus: %s", f) }); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("conformance: nothing to run: no implementation for the corpus and no peer")
	}
	// The digest identifies the corpus: every corpus file present, whether
	// or not it could run (the checks say which did).
	r.Corpus.Files = append([]string{}, presentFiles(fsys)...)
	sort.Strings(r.Corpus.Files)
	if r.Corpus.Digest, err = corpusDigest(fsys, r.Corpus.Files); err != nil {
		return nil, err
	}
	if len(r.Corpus.Files) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("the vector corpus (%s) has none of the corpus files: every corpus check did not run", source))
	}
	if r.Corpus.Digest != r.Corpus.EmbeddedDigest {
		r.Notes = append(r.Notes, fmt.Sprintf("the corpus used (%s, %s) differs from the one embedded in this binary (%s)",
			source, r.Corpus.Digest, r.Corpus.EmbeddedDigest))
	}
	if len(o.A.Argv) > 0 {
		if len(o.B.Argv) == 0 {
			o.B = o.A
		}
		r.Peers = append(r.Peers, o.A.String())
		if o.B.String() != o.A.String() {
			r.Peers = append(r.Peers, o.B.String())
		}
		scenarios := Scenarios()
		var results []live.Result
		sum, err := live.Run(live.Options{A: o.A, B: o.B, Adversary: o.Adversary, Filter: o.Filter, Big: o.Big, Timeout: o.Timeout, Seed: o.Seed},
			scenarios, func(res live.Result) {
				progress("live: %s", res.Line())
				results = append(results, res)
			})
		if err != nil {
			return nil, err
		}
		info := LiveInfo{Seed: sum.Seed, CommandA: o.A.String(), CommandB: o.B.String()}
		if o.Reference != nil {
			info.Reference = o.Reference.Kind
		}
		if len(results) > 0 {
			info.A, info.B = results[0].A, results[0].B
		}
		if sum.PairingNA != "" {
			r.Notes = append(r.Notes, "live scenarios not applicable: "+sum.PairingNA)
			for i := range scenarios {
				results = append(results, live.Result{Scenario: scenarios[i].ID, Status: live.NotApplicable,
					Reason: "pairing unsupported: " + sum.PairingNA})
			}
		}
		info.Flavour = sum.Flavour
		if subject == "" {
			subject = o.A.String()
			if o.B.String() != o.A.String() {
				subject += " ↔ " + o.B.String()
			}
		}
		r.AddLive(info, scenarios, results)
	} else {
		// No peer: the live checks exist and did not run.
		for _, sc := range Scenarios() {
			r.add(sc.Guarantees, Check{ID: "live/" + sc.ID, Kind: "live", Status: StatusNotRun, Spec: sc.Spec,
				Detail: sc.Doc + ": not run (no live peer)"})
		}
	}
	r.Subject = subject
	r.Finish()
	return r, nil
}
