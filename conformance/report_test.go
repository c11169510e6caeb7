package conformance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// sampleReport has every kind of check and status.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	rs, err := RunCorpus(Interlock{}, vectorDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReport("test", "interlock", time.Unix(0, 0))
	r.AddCorpus("interlock", rs)
	sc := live.All()
	res := []live.Result{
		{Scenario: "tamper/signal-message", A: "x", B: "y", Status: live.Pass, Tolerated: []string{"version(low nibble)"}},
		{Scenario: "group", A: "x", B: "y", Status: live.NotApplicable, Reason: "no ops <&>"},
		{Scenario: "identity/change", A: "x", B: "y", Status: live.Fail, Reason: "untrusted"},
	}
	r.AddLive(LiveInfo{A: "x", B: "y", Flavour: "whatsapp", Seed: 1}, sc, res)
	r.Finish()
	return r
}

// validate checks v against the subset of JSON Schema the report schema
// uses: type, enum, required, properties, additionalProperties, items.
func validate(schema map[string]any, v any, path string) []string {
	var errs []string
	if t, ok := schema["type"]; ok {
		types := []any{t}
		if l, ok := t.([]any); ok {
			types = l
		}
		match := false
		for _, ty := range types {
			switch ty {
			case "object":
				_, match0 := v.(map[string]any)
				match = match || match0
			case "array":
				_, match0 := v.([]any)
				match = match || match0
			case "string":
				_, match0 := v.(string)
				match = match || match0
			case "integer":
				f, ok := v.(float64)
				match = match || (ok && f == float64(int64(f)))
			case "number":
				_, match0 := v.(float64)
				match = match || match0
			case "null":
				match = match || v == nil
			case "boolean":
				_, match0 := v.(bool)
				match = match || match0
			}
		}
		if !match {
			return []string{fmt.Sprintf("%s: %v is not of type %v", path, v, t)}
		}
	}
	if e, ok := schema["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || x == v
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v not in %v", path, v, e))
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := schema["properties"].(map[string]any)
		for _, req := range asList(schema["required"]) {
			if _, ok := obj[req.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: %s missing", path, req))
			}
		}
		for k, x := range obj {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					errs = append(errs, fmt.Sprintf("%s: unexpected property %s", path, k))
				}
				continue
			}
			errs = append(errs, validate(ps, x, path+"."+k)...)
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range arr {
				errs = append(errs, validate(items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

func asList(v any) []any { l, _ := v.([]any); return l }

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "conformance-report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkJSON validates a rendered JSON report against the schema.
func checkJSON(t *testing.T, schema map[string]any, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, e := range validate(schema, v, "$") {
		t.Error(e)
	}
	return v
}

func TestJSONMatchesSchema(t *testing.T) {
	schema := loadSchema(t)
	r := sampleReport(t)
	var b bytes.Buffer
	if err := r.Render(&b, "json"); err != nil {
		t.Fatal(err)
	}
	checkJSON(t, schema, b.Bytes())
	// The validator itself rejects a broken report.
	var v map[string]any
	json.Unmarshal(b.Bytes(), &v)
	v["summary"].(map[string]any)["verdict"] = "maybe"
	delete(v, "notes")
	if errs := validate(schema, v, "$"); len(errs) != 2 {
		t.Errorf("validator found %v in a report with two defects", errs)
	}
	// A report with no corpus and no live run is valid too.
	empty := NewReport("t", "s", time.Unix(0, 0))
	empty.Finish()
	b.Reset()
	empty.Render(&b, "json")
	checkJSON(t, schema, b.Bytes())
}

func TestReportDiscriminates(t *testing.T) {
	r := sampleReport(t)
	for id, want := range map[string]string{
		"integrity":        StatusFail, // version byte tolerated
		"identity-binding": StatusFail, // identity/change failed
		"pq-ratchet":       StatusPass,
		"forward-secrecy":  StatusNotRun, // corpus passed, delivery/duplicate not selected
		// The whatsapp flavour of a pairing earns nothing: go.mau.fi's
		// recorded vectors do, and no live check failed for it.
		"interop-whatsapp": StatusPass,
	} {
		if g := r.Guarantee(id); g == nil || g.Status != want {
			t.Errorf("%s: %+v, want %s", id, g, want)
		}
	}
	if r.Summary.Verdict != StatusFail {
		t.Errorf("verdict %s", r.Summary.Verdict)
	}
}

// htmlSummary parses the HTML report (well-formed XHTML) and returns the
// summary table's rows: guarantee ID → status.
func htmlSummary(t *testing.T, b []byte) (map[string]string, string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	rows := map[string]string{}
	verdict := ""
	inSummary, tables, first := false, 0, ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("HTML does not parse: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			if ee, ok := tok.(xml.EndElement); ok && ee.Name.Local == "table" {
				inSummary = false
			}
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch se.Name.Local {
		case "table":
			tables++
			if tables == 1 {
				first = attr["id"]
			}
			inSummary = attr["id"] == "summary"
		case "tr":
			if inSummary && attr["data-guarantee"] != "" {
				rows[attr["data-guarantee"]] = attr["data-status"]
			}
		case "p":
			if attr["id"] == "verdict" {
				verdict = attr["data-verdict"]
			}
		case "link", "script", "img":
			if attr["href"] != "" || attr["src"] != "" {
				t.Errorf("external asset: <%s %v>", se.Name.Local, attr)
			}
		}
	}
	if first != "summary" {
		t.Errorf("first table is %q, want the summary", first)
	}
	return rows, verdict
}

func TestHTMLSummaryMatchesJSON(t *testing.T) {
	r := sampleReport(t)
	compareHTMLJSON(t, r)
}

func compareHTMLJSON(t *testing.T, r *Report) {
	t.Helper()
	var h, j bytes.Buffer
	if err := r.Render(&h, "html"); err != nil {
		t.Fatal(err)
	}
	if err := r.Render(&j, "json"); err != nil {
		t.Fatal(err)
	}
	s := h.String()
	if !strings.HasPrefix(s, "<!DOCTYPE html>") || !strings.Contains(s, "<style>") {
		t.Error("not a self-contained HTML page")
	}
	rows, verdict := htmlSummary(t, h.Bytes())
	var v struct {
		Summary    Summary `json:"summary"`
		Guarantees []struct {
			ID, Status string
		} `json:"guarantees"`
	}
	if err := json.Unmarshal(j.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(v.Guarantees) {
		t.Errorf("%d summary rows, %d guarantees", len(rows), len(v.Guarantees))
	}
	for _, g := range v.Guarantees {
		if rows[g.ID] != g.Status {
			t.Errorf("%s: HTML %q, JSON %q", g.ID, rows[g.ID], g.Status)
		}
	}
	if verdict != v.Summary.Verdict {
		t.Errorf("verdict: HTML %q, JSON %q", verdict, v.Summary.Verdict)
	}
}

func TestRenderFormats(t *testing.T) {
	r := sampleReport(t)
	for _, f := range Formats {
		var b bytes.Buffer
		if err := r.Render(&b, f); err != nil || b.Len() == 0 {
			t.Errorf("%s: %v", f, err)
		}
		if f != "json" && !strings.Contains(b.String(), "Integrity and authentication") {
			t.Errorf("%s: no guarantee names", f)
		}
	}
	if err := r.Render(io.Discard, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestLiveTagsAreGuarantees(t *testing.T) {
	known := map[string]bool{}
	for _, g := range Guarantees {
		known[g.ID] = true
	}
	for _, s := range live.All() {
		for _, g := range s.Guarantees {
			if !known[g] {
				t.Errorf("%s: unknown guarantee %q", s.ID, g)
			}
		}
	}
	for c, tag := range corpusTags {
		for _, g := range tag.guarantees {
			if !known[g] {
				t.Errorf("%s: unknown guarantee %q", c, g)
			}
		}
	}
}
