package conformance

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// SchemaID names the JSON report format (testdata/conformance-report.schema.json).
const SchemaID = "https://github.com/interlock-e2ee/interlock/conformance-report/v1"

// Statuses of checks and guarantees.
const (
	StatusPass           = "pass"
	StatusFail           = "fail"
	StatusNotApplicable  = "not_applicable"
	StatusNotRun         = "not_run"
	StatusNotImplemented = "not_implemented"
)

// Report is the conformance report: per guarantee, the checks that
// demonstrate it and their results.
type Report struct {
	Schema     string            `json:"schema"`
	Tool       string            `json:"tool"`
	Generated  string            `json:"generated"` // RFC 3339
	Subject    string            `json:"subject"`   // the implementation(s) under test
	Corpus     *CorpusInfo       `json:"corpus"`    // nil when the corpus was not run
	Live       *LiveInfo         `json:"live"`      // nil when no live scenarios ran
	Summary    Summary           `json:"summary"`
	Guarantees []GuaranteeResult `json:"guarantees"`
	Notes      []string          `json:"notes"`
	byID       map[string]*GuaranteeResult
}

// CorpusInfo says what the corpus ran against.
type CorpusInfo struct {
	Implementation string   `json:"implementation"`
	Files          []string `json:"files"`
}

// LiveInfo says which peers the live scenarios ran between.
type LiveInfo struct {
	A       string `json:"a"`
	B       string `json:"b"`
	Flavour string `json:"flavour"`
	Seed    uint64 `json:"seed"`
}

// Summary counts guarantees by status; Verdict is "pass" when none failed.
type Summary struct {
	Verdict        string `json:"verdict"`
	Passed         int    `json:"passed"`
	Failed         int    `json:"failed"`
	NotRun         int    `json:"not_run"`
	NotImplemented int    `json:"not_implemented"`
	Checks         int    `json:"checks"`
	ChecksFailed   int    `json:"checks_failed"`
}

// GuaranteeResult is one guarantee in the report.
type GuaranteeResult struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Status         string   `json:"status"`
	Spec           []string `json:"spec"`
	Code           []string `json:"code"`
	Observability  string   `json:"observability"`
	NotImplemented string   `json:"not_implemented,omitempty"`
	Checks         []Check  `json:"checks"`
}

// Check is one piece of evidence for a guarantee.
type Check struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"` // corpus, live, derived
	Status   string   `json:"status"`
	Detail   string   `json:"detail"`
	Spec     []string `json:"spec"`
	Sources  []string `json:"sources,omitempty"`
	Evidence []string `json:"evidence"`
}

// NewReport starts an empty report.
func NewReport(tool, subject string, now time.Time) *Report {
	r := &Report{Schema: SchemaID, Tool: tool, Generated: now.UTC().Format(time.RFC3339), Subject: subject,
		byID: map[string]*GuaranteeResult{}, Notes: []string{}}
	for _, g := range Guarantees {
		r.Guarantees = append(r.Guarantees, GuaranteeResult{ID: g.ID, Name: g.Name, Spec: g.Spec, Code: g.Code,
			Observability: g.Observability, NotImplemented: g.NotImplemented, Checks: []Check{}})
	}
	for i := range r.Guarantees {
		r.byID[r.Guarantees[i].ID] = &r.Guarantees[i]
	}
	return r
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

// AddCorpus adds the results of RunCorpus.
func (r *Report) AddCorpus(impl string, results []CorpusResult) {
	r.Corpus = &CorpusInfo{Implementation: impl, Files: []string{}}
	seen := map[string]bool{}
	for _, cr := range results {
		if !seen[cr.File] {
			seen[cr.File] = true
			r.Corpus.Files = append(r.Corpus.Files, cr.File)
		}
		tag := corpusTags[cr.Check]
		c := Check{ID: cr.Check + ":" + cr.File, Kind: "corpus", Status: StatusPass, Spec: tag.spec, Sources: cr.Sources,
			Detail: fmt.Sprintf("%d vectors passed, %d failed", cr.Passed, cr.Failed)}
		if cr.Failed > 0 {
			c.Status = StatusFail
		}
		c.Evidence = append(append([]string{}, cr.Failures...), cr.Notes...)
		gs := append([]string(nil), tag.guarantees...)
		src := strings.Join(cr.Sources, " ")
		if strings.Contains(src, "libsignal-client") {
			gs = append(gs, "interop-libsignal")
		}
		if (strings.Contains(src, "go.mau.fi") || strings.Contains(src, "baileys")) && cr.Check != "corpus/agreement" {
			gs = append(gs, "interop-whatsapp")
		}
		if cr.Check == "corpus/ratchet" && strings.Contains(cr.File, "pqxdh") {
			gs = append(gs, "pq-ratchet") // version 4 transcripts run SPQR
		}
		r.add(gs, c)
	}
}

// AddLive adds live results (both directions of each scenario are folded
// into one check) and the checks derived from them.
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
		if len(rs) == 0 {
			continue
		}
		c := Check{ID: "live/" + sc.ID, Kind: "live", Spec: sc.Spec, Detail: sc.Doc, Status: StatusNotApplicable}
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
			}
			for _, t := range res.Tolerated {
				if !strings.HasPrefix(t, "registration_id") {
					tolerated = append(tolerated, fmt.Sprintf("%s accepted %s with %s flipped, plaintext unchanged", res.B, sc.ID, t))
				}
			}
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
			Spec:   []string{"Double Ratchet §3.5", "PROTOCOL.md: Wire formats"},
			Detail: "every tampered byte the MAC or signature covers is rejected (the version byte included); only registration_id may be ignored"}
		if len(tolerated) > 0 {
			c.Status = StatusFail
			sort.Strings(tolerated)
			c.Evidence = tolerated
		}
		r.add([]string{"integrity"}, c)
	}
	// Interop: the pairing of two different implementations.
	if info.A != info.B && ran > 0 {
		c := Check{ID: "live/pairing", Kind: "live", Status: StatusPass, Spec: []string{"PEER-PROTOCOL.md"},
			Detail: fmt.Sprintf("%s ↔ %s (%s flavour): %d scenarios ran, %d failed", info.A, info.B, info.Flavour, ran, failed)}
		if failed > 0 {
			c.Status = StatusFail
		}
		var gs []string
		if strings.Contains(info.A+info.B, "libsignal-client") {
			gs = append(gs, "interop-libsignal")
		}
		if info.Flavour == "whatsapp" || strings.Contains(info.A+info.B, "go.mau.fi") {
			gs = append(gs, "interop-whatsapp")
		}
		r.add(gs, c)
	}
}

// Finish computes every guarantee's status and the summary.
func (r *Report) Finish() {
	s := Summary{}
	for i := range r.Guarantees {
		g := &r.Guarantees[i]
		pass, fail := 0, 0
		for _, c := range g.Checks {
			s.Checks++
			switch c.Status {
			case StatusPass:
				pass++
			case StatusFail:
				fail++
				s.ChecksFailed++
			}
		}
		switch {
		case fail > 0:
			g.Status = StatusFail
			s.Failed++
		case g.NotImplemented != "":
			g.Status = StatusNotImplemented
			s.NotImplemented++
		case pass > 0:
			g.Status = StatusPass
			s.Passed++
		default:
			g.Status = StatusNotRun
			s.NotRun++
		}
	}
	s.Verdict = StatusPass
	if s.Failed > 0 {
		s.Verdict = StatusFail
	}
	r.Summary = s
}

// Guarantee returns the result for a guarantee ID, or nil.
func (r *Report) Guarantee(id string) *GuaranteeResult {
	for i := range r.Guarantees {
		if r.Guarantees[i].ID == id {
			return &r.Guarantees[i]
		}
	}
	return nil
}
