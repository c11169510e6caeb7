package conformance

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// SchemaID names the JSON report format (testdata/conformance-report.schema.json).
// Version 2 added the "incomplete" verdict, the "skipped" status, the
// run's metadata (build, corpus digest, peers, references) and each check's
// reproduction.
const SchemaID = "https://github.com/interlock-e2ee/interlock/conformance-report/v2"

// Statuses of checks and guarantees.
const (
	StatusPass           = "pass"
	StatusFail           = "fail"
	StatusNotApplicable  = "not_applicable" // checks only: does not apply to this pairing
	StatusNotRun         = "not_run"
	StatusNotImplemented = "not_implemented"
	StatusSkipped        = "skipped" // guarantees only: excluded by the caller (--skip)
)

// Verdicts of a report: StatusPass, StatusFail or VerdictIncomplete.
const VerdictIncomplete = "incomplete"

// Exit statuses of `interlock conformance` (Report.ExitStatus). 2 is kept
// for usage errors, as in every interlock subcommand.
const (
	ExitPass       = 0 // every guarantee passed or was skipped by the caller
	ExitFail       = 1 // a check failed (or the run itself failed)
	ExitUsage      = 2
	ExitIncomplete = 3 // nothing failed, but a guarantee has a check that did not run
)

// Report is the conformance report: per guarantee, the checks that
// demonstrate it and their results.
type Report struct {
	Schema     string            `json:"schema"`
	Tool       string            `json:"tool"`
	Generated  string            `json:"generated"` // RFC 3339
	Subject    string            `json:"subject"`   // the implementation(s) under test
	Build      BuildInfo         `json:"build"`
	Invocation string            `json:"invocation"` // the command line that reproduces the run
	Peers      []string          `json:"peers"`      // command lines the tool started
	References []Reference       `json:"references"` // verified reference installations
	Skipped    []Skip            `json:"skipped"`    // guarantees the caller excluded
	Corpus     *CorpusInfo       `json:"corpus"`     // nil when the corpus was not run
	Live       *LiveInfo         `json:"live"`       // nil when no live scenarios ran
	Summary    Summary           `json:"summary"`
	Guarantees []GuaranteeResult `json:"guarantees"`
	Notes      []string          `json:"notes"`
	// Mutants is the mutation test of the report itself (`interlock
	// conformance --mutants`, mutation.go); absent otherwise.
	Mutants *MutationScore `json:"mutants,omitempty"`
	byID    map[string]*GuaranteeResult
}

// BuildInfo identifies the binary that made the report
// (runtime/debug.ReadBuildInfo).
type BuildInfo struct {
	Module      string `json:"module"`
	Version     string `json:"version"` // module version, "(devel)" for a local build
	GoVersion   string `json:"go_version"`
	VCSRevision string `json:"vcs_revision,omitempty"`
	VCSTime     string `json:"vcs_time,omitempty"`
	VCSModified bool   `json:"vcs_modified,omitempty"`
}

// Skip is a guarantee the caller excluded from the verdict.
type Skip struct {
	Guarantee string `json:"guarantee"`
	Reason    string `json:"reason"`
}

// CorpusInfo says what the corpus ran against and which bytes it used.
type CorpusInfo struct {
	Implementation string `json:"implementation"`
	// Source is "embedded" (the corpus built into the binary) or the
	// --vectors directory.
	Source string `json:"source"`
	// Digest is "sha256:" and the SHA-256 of the sha256sum(1) listing of
	// Files, sorted by name: in the vector directory,
	// `sha256sum FILES… | sha256sum` reproduces it.
	Digest string `json:"digest"`
	// EmbeddedDigest is the same digest of this binary's embedded corpus,
	// to compare with Digest when --vectors replaced it.
	EmbeddedDigest string `json:"embedded_digest"`
	// Files lists the corpus files present (the checks say which ran).
	Files []string `json:"files"`
	// Missing lists the corpus files that were not found: their checks are
	// not run.
	Missing []string `json:"missing"`
}

// LiveInfo says which peers the live scenarios ran between.
type LiveInfo struct {
	// A and B are the implementations' self-descriptions (the
	// capabilities op's "implementation"): reported, never trusted.
	A        string `json:"a"`
	B        string `json:"b"`
	CommandA string `json:"command_a"`
	CommandB string `json:"command_b"`
	Flavour  string `json:"flavour"`
	Seed     uint64 `json:"seed"`
	// Reference is the Kind of the verified reference (Reference) the
	// tool started as B, "" if none: the only source of live interop
	// credit.
	Reference string `json:"reference"`
}

func (l LiveInfo) selfDescribed() string {
	return fmt.Sprintf("A describes itself as %q, B as %q", l.A, l.B)
}

// Summary counts the TierSignal guarantees by status. Verdict is "fail"
// when a check of one failed, else "incomplete" when one not skipped has a
// check that did not run (or no check at all), else "pass". Hardening
// counts the TierHardening guarantees the same way, outside the verdict;
// Checks, ChecksFailed and ChecksNotRun count every check of every tier.
type Summary struct {
	Verdict        string `json:"verdict"`
	ExitStatus     int    `json:"exit_status"`
	Passed         int    `json:"passed"`
	Failed         int    `json:"failed"`
	NotRun         int    `json:"not_run"`
	NotImplemented int    `json:"not_implemented"`
	Skipped        int    `json:"skipped"`
	Checks         int    `json:"checks"`
	ChecksFailed   int    `json:"checks_failed"`
	ChecksNotRun   int    `json:"checks_not_run"`
	// Hardening counts the guarantees beyond libsignal (TierHardening).
	Hardening TierCounts `json:"hardening"`
}

// TierCounts counts the guarantees of one tier by status.
type TierCounts struct {
	Passed int      `json:"passed"`
	Failed []string `json:"failed"` // guarantee IDs
	NotRun []string `json:"not_run"`
}

// GuaranteeResult is one guarantee in the report.
type GuaranteeResult struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// Tier is TierSignal (decides the verdict) or TierHardening
	// (beyond libsignal: reported, counted in Summary.Hardening).
	Tier           string   `json:"tier"`
	Spec           []string `json:"spec"`
	Code           []string `json:"code"`
	Observability  string   `json:"observability"`
	NotImplemented string   `json:"not_implemented,omitempty"`
	// Why says why the guarantee is not "pass": the checks that did not
	// run, or the caller's --skip.
	Why    string  `json:"why,omitempty"`
	Checks []Check `json:"checks"`
}

// Check is one piece of evidence for a guarantee. A failed check's ID and
// Evidence say what failed; Reproduce how to rerun it.
type Check struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"` // corpus, live, derived
	Status    string   `json:"status"`
	Detail    string   `json:"detail"` // for not_run and not_applicable: the reason
	Spec      []string `json:"spec"`
	Sources   []string `json:"sources,omitempty"`
	Evidence  []string `json:"evidence"`
	Reproduce string   `json:"reproduce,omitempty"`
}

// NewReport starts an empty report.
func NewReport(tool, subject string, now time.Time) *Report {
	r := &Report{Schema: SchemaID, Tool: tool, Generated: now.UTC().Format(time.RFC3339), Subject: subject,
		Build: ReadBuildInfo(), Peers: []string{}, References: []Reference{}, Skipped: []Skip{},
		byID: map[string]*GuaranteeResult{}, Notes: []string{}}
	for _, g := range Guarantees {
		tier := TierSignal
		if g.Hardening {
			tier = TierHardening
		}
		r.Guarantees = append(r.Guarantees, GuaranteeResult{ID: g.ID, Name: g.Name, Tier: tier, Spec: g.Spec, Code: g.Code,
			Observability: g.Observability, NotImplemented: g.NotImplemented, Checks: []Check{}})
	}
	for i := range r.Guarantees {
		r.byID[r.Guarantees[i].ID] = &r.Guarantees[i]
	}
	return r
}

// Skip excludes a guarantee from the verdict: its unrun checks no longer
// make the report incomplete. A failed check still fails it: a defect that
// was observed is never hidden. It reports whether id names a guarantee.
func (r *Report) Skip(id, reason string) bool {
	if r.byID[id] == nil {
		return false
	}
	for _, s := range r.Skipped {
		if s.Guarantee == id {
			return true
		}
	}
	r.Skipped = append(r.Skipped, Skip{Guarantee: id, Reason: reason})
	return true
}

func (r *Report) add(guarantees []string, c Check) {
	if c.Evidence == nil {
		c.Evidence = []string{}
	}
	if c.Spec == nil {
		c.Spec = []string{}
	}
	for _, id := range guarantees {
		if g := r.byID[id]; g != nil {
			g.Checks = append(g.Checks, c)
		}
	}
}

// corpusGuarantees says which guarantees a corpus check over file
// demonstrates. Interop credit comes from the vector file's recorded
// source (the bytes libsignal or go.mau.fi/libsignal produced, pinned by
// the corpus digest); without the file, from its name.
func corpusGuarantees(check, file string, sources []string) []string {
	gs := append([]string(nil), corpusTags[check].guarantees...)
	src := strings.Join(sources, " ")
	if len(sources) == 0 {
		switch {
		case strings.HasPrefix(file, "libsignal-"):
			src = "libsignal-client"
		case strings.HasPrefix(file, "mau-"):
			src = "go.mau.fi"
		}
	}
	if strings.Contains(src, "libsignal-client") {
		gs = append(gs, "interop-libsignal")
	}
	if (strings.Contains(src, "go.mau.fi") || strings.Contains(src, "baileys")) && check != "corpus/agreement" {
		gs = append(gs, "interop-whatsapp")
	}
	if check == "corpus/ratchet" && strings.Contains(file, "pqxdh") {
		gs = append(gs, "pq-ratchet") // version 4 transcripts run SPQR
	}
	return gs
}

// AddCorpus adds the results of RunCorpus.
func (r *Report) AddCorpus(impl string, results []CorpusResult) {
	if r.Corpus == nil {
		r.Corpus = &CorpusInfo{Files: []string{}, Missing: []string{}}
	}
	r.Corpus.Implementation = impl
	seen := map[string]bool{}
	for _, f := range r.Corpus.Files {
		seen[f] = true
	}
	for _, cr := range results {
		if !seen[cr.File] {
			seen[cr.File] = true
			r.Corpus.Files = append(r.Corpus.Files, cr.File)
		}
		tag := corpusTags[cr.Check]
		c := Check{ID: cr.Check + ":" + cr.File, Kind: "corpus", Status: StatusPass, Spec: tag.spec, Sources: cr.Sources,
			Detail:    fmt.Sprintf("%d vectors passed, %d failed", cr.Passed, cr.Failed),
			Reproduce: fmt.Sprintf("vector file testdata/vectors/%s (check %s): %s", cr.File, cr.Check, r.Invocation)}
		if cr.Failed > 0 {
			c.Status = StatusFail
		}
		c.Evidence = append(append([]string{}, cr.Failures...), cr.Notes...)
		r.add(corpusGuarantees(cr.Check, cr.File, cr.Sources), c)
	}
}

// AddCorpusNotRun records a corpus check that did not run, and why.
func (r *Report) AddCorpusNotRun(check, file string, sources []string, reason string) {
	if r.Corpus == nil {
		r.Corpus = &CorpusInfo{Files: []string{}, Missing: []string{}}
	}
	tag := corpusTags[check]
	r.add(corpusGuarantees(check, file, sources), Check{ID: check + ":" + file, Kind: "corpus", Status: StatusNotRun,
		Spec: tag.spec, Sources: sources, Detail: reason})
}

// liveNotRun reports whether a live scenario's not-applicable reason means
// the peer lacks something the check needs, which leaves the guarantee
// incomplete (issue #21 item 4), rather than a check that has no meaning
// for this pairing (a flavour without Kyber, a long check not asked for).
func liveNotRun(reason string) bool {
	for _, s := range []string{"does not list op", "unsupported", "SPQR not claimed"} {
		if strings.Contains(reason, s) {
			return true
		}
	}
	return false
}

// AddLive adds live results (both directions of each scenario are folded
// into one check) and the checks derived from them. A scenario without a
// result (not selected by --run) is a check that did not run.
func (r *Report) AddLive(info LiveInfo, scenarios []live.Scenario, results []live.Result) {
	r.Live = &info
	byID := map[string][]live.Result{}
	for _, res := range results {
		byID[res.Scenario] = append(byID[res.Scenario], res)
	}
	ran, failed := 0, 0
	var tolerated []string
	for _, sc := range scenarios {
		rs := byID[sc.ID]
		c := Check{ID: "live/" + sc.ID, Kind: "live", Spec: sc.Spec, Detail: sc.Doc, Status: StatusNotApplicable,
			Reproduce: fmt.Sprintf("%s --run '^%s$' --seed %d", r.Invocation, regexpQuote(sc.ID), info.Seed)}
		if len(rs) == 0 {
			c.Status, c.Detail = StatusNotRun, sc.Doc+": not run (not selected by --run)"
			r.add(sc.Guarantees, c)
			continue
		}
		var why []string
		notRun := false
		for _, res := range rs {
			line := res.Line()
			c.Evidence = append(c.Evidence, line)
			switch res.Status {
			case live.Fail, live.ExpectedFail:
				c.Status = StatusFail
			case live.Pass:
				if c.Status != StatusFail {
					c.Status = StatusPass
				}
			case live.NotApplicable:
				why = append(why, res.Reason)
				notRun = notRun || liveNotRun(res.Reason)
			}
			for _, t := range res.Tolerated {
				if !strings.HasPrefix(t, "registration_id") {
					tolerated = append(tolerated, fmt.Sprintf("%s accepted %s with %s flipped, plaintext unchanged", res.B, sc.ID, t))
				}
			}
		}
		if c.Status == StatusNotApplicable {
			if notRun {
				c.Status = StatusNotRun
			}
			c.Detail = sc.Doc + ": " + strings.Join(dedupe(why), "; ")
		}
		switch c.Status {
		case StatusFail:
			ran++
			failed++
		case StatusPass:
			ran++
		}
		r.add(sc.Guarantees, c)
	}
	// Derived: no byte the protocol authenticates may be ignored.
	tamperRan := len(byID["tamper/signal-message"])+len(byID["tamper/prekey-message"]) > 0
	if tamperRan {
		c := Check{ID: "derived/authenticated-bytes", Kind: "derived", Status: StatusPass,
			Spec:      []string{"Double Ratchet §3.5", "docs/wire-formats.md#signalmessage"},
			Detail:    "every tampered byte the MAC or signature covers is rejected (the version byte included); only registration_id may be ignored",
			Reproduce: fmt.Sprintf("%s --run '^tamper/' --seed %d", r.Invocation, info.Seed)}
		if len(tolerated) > 0 {
			c.Status = StatusFail
			sort.Strings(tolerated)
			c.Evidence = tolerated
		}
		r.add([]string{"integrity"}, c)
	}
	// Interop is earned only against a reference the tool verified on disk
	// and started itself (issue #21 item 3); what a peer says it is counts
	// for nothing.
	if info.Reference != "" && ran > 0 {
		c := Check{ID: "live/pairing", Kind: "live", Status: StatusPass, Spec: []string{"docs/peer-protocol.md"},
			Detail: fmt.Sprintf("%s ↔ verified reference %s (%s flavour): %d scenarios ran, %d failed",
				info.CommandA, info.CommandB, info.Flavour, ran, failed),
			Evidence:  []string{info.selfDescribed()},
			Reproduce: r.Invocation}
		if failed > 0 {
			c.Status = StatusFail
		}
		switch info.Reference {
		case RefLibsignal:
			r.add([]string{"interop-libsignal"}, c)
		case RefMau:
			r.add([]string{"interop-whatsapp"}, c)
		}
	} else if info.Reference == "" && (strings.Contains(info.A+info.B, "libsignal") || strings.Contains(info.A+info.B, "go.mau.fi")) {
		r.Notes = append(r.Notes, info.selfDescribed()+": self-descriptions earn no interop credit; "+
			"pass --reference libsignal=DIR or --reference mau=BINARY to pair with a reference the tool verifies and starts")
	}
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// regexpQuote quotes the characters of a scenario ID that --run would
// read as regular-expression syntax.
func regexpQuote(id string) string {
	return strings.NewReplacer("+", `\+`, ".", `\.`).Replace(id)
}

// Finish computes every guarantee's status and the summary.
func (r *Report) Finish() {
	skipped := map[string]string{}
	for _, s := range r.Skipped {
		skipped[s.Guarantee] = s.Reason
	}
	s := Summary{Hardening: TierCounts{Failed: []string{}, NotRun: []string{}}}
	for i := range r.Guarantees {
		g := &r.Guarantees[i]
		pass, fail, notRun := 0, 0, 0
		var unrun []string
		for _, c := range g.Checks {
			s.Checks++
			switch c.Status {
			case StatusPass:
				pass++
			case StatusFail:
				fail++
				s.ChecksFailed++
			case StatusNotRun:
				notRun++
				s.ChecksNotRun++
				unrun = append(unrun, c.ID)
			}
		}
		g.Why = ""
		switch {
		case fail > 0:
			g.Status = StatusFail
		case hasSkip(r.Skipped, g.ID):
			g.Status = StatusSkipped
			g.Why = "excluded by the caller: " + skipped[g.ID]
		case g.NotImplemented != "":
			g.Status = StatusNotImplemented
			g.Why = g.NotImplemented
		case notRun > 0:
			g.Status = StatusNotRun
			g.Why = fmt.Sprintf("%d of %d checks did not run: %s", notRun, len(g.Checks), strings.Join(unrun, ", "))
		case pass == 0:
			g.Status = StatusNotRun
			g.Why = "no check ran for this pairing"
		default:
			g.Status = StatusPass
		}
		if g.Tier == TierHardening {
			switch g.Status {
			case StatusPass:
				s.Hardening.Passed++
			case StatusFail:
				s.Hardening.Failed = append(s.Hardening.Failed, g.ID)
			case StatusNotRun, StatusNotImplemented:
				s.Hardening.NotRun = append(s.Hardening.NotRun, g.ID)
			}
			continue
		}
		switch g.Status {
		case StatusFail:
			s.Failed++
		case StatusSkipped:
			s.Skipped++
		case StatusNotImplemented:
			s.NotImplemented++
		case StatusNotRun:
			s.NotRun++
		default:
			s.Passed++
		}
	}
	switch {
	case s.Failed > 0:
		s.Verdict, s.ExitStatus = StatusFail, ExitFail
	case s.NotRun > 0 || s.NotImplemented > 0:
		s.Verdict, s.ExitStatus = VerdictIncomplete, ExitIncomplete
	default:
		s.Verdict, s.ExitStatus = StatusPass, ExitPass
	}
	r.Summary = s
}

func hasSkip(s []Skip, id string) bool {
	for _, x := range s {
		if x.Guarantee == id {
			return true
		}
	}
	return false
}

// ExitStatus is the exit status `interlock conformance` ends with:
// ExitPass, ExitFail or ExitIncomplete.
func (r *Report) ExitStatus() int { return r.Summary.ExitStatus }

// Guarantee returns the result for a guarantee ID, or nil.
func (r *Report) Guarantee(id string) *GuaranteeResult {
	for i := range r.Guarantees {
		if r.Guarantees[i].ID == id {
			return &r.Guarantees[i]
		}
	}
	return nil
}
