package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// The mutation test of the report (issue #21 item 1): Interlock built with
// -tags interlock_mutants (internal/mutant) plants one defect class at a
// time, switched on by INTERLOCK_MUTANT; the report is run against each and
// must fail the guarantee the defect breaks with a check that names it,
// while the same runs with no mutant switched on fail nothing.
// `interlock conformance --mutants BINARY` runs it and writes the score
// into the report (Report.Mutants).

// MutationScore is the outcome of the mutation test.
type MutationScore struct {
	Binary  string  `json:"binary"` // the interlock_mutants build
	Digest  string  `json:"digest"` // sha256 of it
	Killed  int     `json:"killed"`
	Total   int     `json:"total"`
	Seconds float64 `json:"seconds"`
	// BaselineFailures are the checks the same runs fail with no mutant
	// switched on ("guarantee: check [evidence]"); any makes the test fail.
	BaselineFailures []string       `json:"baseline_failures"`
	Mutants          []MutantResult `json:"mutants"`
}

// MutantResult is one mutant's outcome.
type MutantResult struct {
	Name      string   `json:"name"`      // INTERLOCK_MUTANT
	Class     string   `json:"class"`     // the defect class it plants
	Guarantee string   `json:"guarantee"` // the guarantee it breaks
	Killed    bool     `json:"killed"`
	KilledBy  []string `json:"killed_by"`       // the failed checks of that guarantee that name it
	Error     string   `json:"error,omitempty"` // the run itself failed
	Seconds   float64  `json:"seconds"`
}

// Passed reports whether every mutant was killed and the baseline is clean.
func (m *MutationScore) Passed() bool {
	return m != nil && m.Killed == m.Total && len(m.BaselineFailures) == 0
}

// MutantCase says how the report must catch one mutant: the guarantee the
// defect breaks must FAIL with a failed check whose ID matches Kill. The
// table lives in the interlock_mutants build only (mutation_cases.go), so
// that a default binary holds no mutant name; RunMutants reads it from the
// mutants binary (`interlock mutants`, that build only).
type MutantCase struct {
	Name      string `json:"name"`
	Class     string `json:"class"`
	Guarantee string `json:"guarantee"`
	Kill      string `json:"kill"` // regular expression over the failed checks' IDs
	// Live selects the live scenarios (--run) run by the stock tool with
	// the mutant as --peer (both sides); "" runs none.
	Live string `json:"live,omitempty"`
	Big  bool   `json:"big,omitempty"` // the scenarios need --big
	// PeerArgs are extra arguments of `interlock peer` (e.g. --no-spqr,
	// or --flavour whatsapp where a class is masked in the signal flavour:
	// the address binding hides a minted certificate; RequirePQXDH hides a
	// stripped bundle).
	PeerArgs string `json:"peer_args,omitempty"`
	// Corpus runs the mutant build's own report over the vector corpus
	// (conformance.Interlock in process, on the mutated library): the
	// classes the corpus shows with fixed bytes.
	Corpus bool `json:"corpus,omitempty"`
}

// MutantTable is what `interlock mutants` prints: the environment variable
// that switches a mutant on, every mutant, and how each must be caught.
type MutantTable struct {
	Env   string       `json:"env"`
	All   []string     `json:"all"`
	Cases []MutantCase `json:"cases"`
}

// MutationOptions configure RunMutants.
type MutationOptions struct {
	Tool     string    // the stock interlock binary that runs the reports
	Mutants  string    // Interlock built with -tags interlock_mutants
	Progress io.Writer // one line per mutant, if set
}

// RunMutants runs the mutation test: the report against each mutant of
// internal/mutant.All, and the same runs with no mutant switched on.
func RunMutants(o MutationOptions) (*MutationScore, error) {
	start := time.Now()
	bin, err := os.ReadFile(o.Mutants)
	if err != nil {
		return nil, fmt.Errorf("conformance: --mutants: %w", err)
	}
	// The table comes from the mutants build: a default build has no
	// `mutants` command (and ignores the environment, so that every
	// mutant would survive).
	out, err := exec.Command(o.Mutants, "mutants").Output()
	if err != nil {
		return nil, fmt.Errorf("conformance: --mutants %s: not built with -tags interlock_mutants (`%s mutants`: %v)", o.Mutants, o.Mutants, err)
	}
	var table MutantTable
	if err := json.Unmarshal(out, &table); err != nil || table.Env == "" {
		return nil, fmt.Errorf("conformance: --mutants %s: malformed mutant table: %v", o.Mutants, err)
	}
	cases := table.Cases
	for _, name := range table.All {
		if !slices.ContainsFunc(cases, func(c MutantCase) bool { return c.Name == name }) {
			return nil, fmt.Errorf("conformance: --mutants: mutant %s has no case: how would the report catch it?", name)
		}
	}
	for _, c := range cases {
		if _, err := regexp.Compile(c.Kill); err != nil || (c.Live == "" && !c.Corpus) {
			return nil, fmt.Errorf("conformance: --mutants: case %s: no run or a bad kill pattern (%v)", c.Name, err)
		}
	}
	sum := sha256.Sum256(bin)
	score := &MutationScore{Binary: o.Mutants, Digest: "sha256:" + hex.EncodeToString(sum[:]), Total: len(cases),
		BaselineFailures: []string{}, Mutants: make([]MutantResult, len(cases))}
	dir, err := os.MkdirTemp("", "interlock-mutants-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var seq int
	var mu sync.Mutex
	run := func(env string, argv ...string) (map[string]any, error) {
		mu.Lock()
		seq++
		out := filepath.Join(dir, fmt.Sprintf("report-%d.json", seq))
		mu.Unlock()
		cmd := exec.Command(argv[0], append(argv[1:], "-q", "--format", "json", "-o", out)...)
		cmd.Env = append(os.Environ(), table.Env+"="+env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() == ExitUsage) {
			return nil, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
		}
		b, rerr := os.ReadFile(out)
		if rerr != nil {
			return nil, fmt.Errorf("%s: %v (%v)\n%s", strings.Join(argv, " "), rerr, err, stderr.String())
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	reports := func(c MutantCase, env string) ([]map[string]any, error) {
		var rs []map[string]any
		if c.Live != "" {
			peer := o.Mutants + " peer"
			if c.PeerArgs != "" {
				peer += " " + c.PeerArgs
			}
			argv := []string{o.Tool, "conformance", "--peer", peer, "--run", c.Live}
			if c.Big {
				argv = append(argv, "--big")
			}
			r, err := run(env, argv...)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
		if c.Corpus {
			r, err := run(env, o.Mutants, "conformance", "--run", "^$")
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
		return rs, nil
	}

	// The baseline: every run the mutants get (one per peer
	// configuration), with no mutant switched on, fails no check.
	type config struct {
		peerArgs string
		big      bool
	}
	runs := map[config][]string{}
	var configs []config
	for _, c := range cases {
		k := config{c.PeerArgs, c.Big}
		if c.Live == "" {
			continue
		}
		if _, ok := runs[k]; !ok {
			configs = append(configs, k)
		}
		if !slices.Contains(runs[k], c.Live) {
			runs[k] = append(runs[k], c.Live)
		}
	}
	for i, k := range configs {
		b := MutantCase{Name: "baseline", Live: strings.Join(runs[k], "|"), Big: k.big, PeerArgs: k.peerArgs, Corpus: i == 0}
		rs, err := reports(b, "")
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			for _, f := range jsonFailedChecks(r, "") {
				// A peer restricted to one flavour cannot run the corpus
				// files of the other: only its live checks count here.
				if strings.Contains(k.peerArgs, "--flavour") && strings.Contains(f, ": corpus/") {
					continue
				}
				score.BaselineFailures = append(score.BaselineFailures, fmt.Sprintf("(peer %s) %s", strings.TrimSpace("peer "+k.peerArgs), f))
			}
		}
	}

	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			m := MutantResult{Name: c.Name, Class: c.Class, Guarantee: c.Guarantee, KilledBy: []string{}}
			rs, err := reports(c, c.Name)
			if err != nil {
				m.Error = err.Error()
			}
			kill := regexp.MustCompile(c.Kill)
			for _, r := range rs {
				if jsonGuaranteeStatus(r, c.Guarantee) != StatusFail {
					continue
				}
				for _, id := range jsonFailedChecks(r, c.Guarantee) {
					if kill.MatchString(id) && !slices.Contains(m.KilledBy, id) {
						m.KilledBy = append(m.KilledBy, id)
					}
				}
			}
			m.Killed = len(m.KilledBy) > 0
			m.Seconds = time.Since(t0).Round(time.Millisecond).Seconds()
			score.Mutants[i] = m
			if o.Progress != nil {
				mu.Lock()
				fmt.Fprintln(o.Progress, "mutants: "+m.Line())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, m := range score.Mutants {
		if m.Killed {
			score.Killed++
		}
	}
	score.Seconds = time.Since(start).Round(time.Second).Seconds()
	return score, nil
}

// Line formats one mutant's outcome.
func (m MutantResult) Line() string {
	switch {
	case m.Killed:
		return fmt.Sprintf("killed   %s (%s): %s fails %s", m.Name, m.Class, m.Guarantee, strings.Join(m.KilledBy, ", "))
	case m.Error != "":
		return fmt.Sprintf("ERROR    %s (%s): %s", m.Name, m.Class, oneLineText(m.Error))
	}
	return fmt.Sprintf("SURVIVES %s (%s): %s does not fail", m.Name, m.Class, m.Guarantee)
}

func oneLineText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// jsonGuaranteeStatus is the status of guarantee id in a JSON report.
func jsonGuaranteeStatus(r map[string]any, id string) string {
	gs, _ := r["guarantees"].([]any)
	for _, g := range gs {
		g, _ := g.(map[string]any)
		if g["id"] == id {
			s, _ := g["status"].(string)
			return s
		}
	}
	return ""
}

// jsonFailedChecks lists "guarantee: check [evidence]" for every failed
// check of a JSON report, or the check IDs of one guarantee when id is set.
func jsonFailedChecks(r map[string]any, id string) []string {
	var out []string
	gs, _ := r["guarantees"].([]any)
	for _, g := range gs {
		g, _ := g.(map[string]any)
		if id != "" && g["id"] != id {
			continue
		}
		cs, _ := g["checks"].([]any)
		for _, c := range cs {
			c, _ := c.(map[string]any)
			if c["status"] != StatusFail {
				continue
			}
			cid, _ := c["id"].(string)
			if id == "" {
				ev, _ := c["evidence"].([]any)
				cid = fmt.Sprintf("%s: %s %v", g["id"], cid, ev[:min(2, len(ev))])
			}
			out = append(out, cid)
		}
	}
	return out
}
