package conformance

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
)

// Formats lists the report formats.
var Formats = []string{"text", "json", "markdown", "html"}

// Render writes the report in format.
func (r *Report) Render(w io.Writer, format string) error {
	switch format {
	case "text":
		return r.renderText(w)
	case "json":
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "markdown":
		return r.renderMarkdown(w)
	case "html":
		return r.renderHTML(w)
	}
	return fmt.Errorf("conformance: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

func statusWord(s string) string {
	switch s {
	case StatusPass:
		return "PASS"
	case StatusFail:
		return "FAIL"
	case StatusNotImplemented:
		return "NOT IMPLEMENTED"
	case StatusNotApplicable:
		return "N/A"
	}
	return "NOT RUN"
}

func counts(g GuaranteeResult) (pass, fail int) {
	for _, c := range g.Checks {
		switch c.Status {
		case StatusPass:
			pass++
		case StatusFail:
			fail++
		}
	}
	return pass, fail
}

func (r *Report) header() []string {
	lines := []string{"Subject: " + r.Subject, "Generated: " + r.Generated + " by " + r.Tool}
	if r.Corpus != nil {
		lines = append(lines, fmt.Sprintf("Vector corpus: %d files against %s", len(r.Corpus.Files), r.Corpus.Implementation))
	}
	if r.Live != nil {
		lines = append(lines, fmt.Sprintf("Live scenarios: A=%s, B=%s, flavour %s, seed %d", r.Live.A, r.Live.B, r.Live.Flavour, r.Live.Seed))
	}
	return lines
}

func (r *Report) renderText(w io.Writer) error {
	var b strings.Builder
	b.WriteString("Interlock conformance report\n")
	for _, l := range r.header() {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	for _, g := range r.Guarantees {
		p, f := counts(g)
		fmt.Fprintf(&b, "%-16s %-45s %d passed, %d failed\n", statusWord(g.Status), g.Name, p, f)
	}
	for _, g := range r.Guarantees {
		fmt.Fprintf(&b, "\n== %s: %s\n   spec: %s\n", g.Name, statusWord(g.Status), strings.Join(g.Spec, "; "))
		if g.NotImplemented != "" {
			fmt.Fprintf(&b, "   %s\n", g.NotImplemented)
		}
		if g.Observability != "" {
			fmt.Fprintf(&b, "   observability: %s\n", g.Observability)
		}
		for _, c := range g.Checks {
			fmt.Fprintf(&b, "   %-5s %s  %s\n", statusWord(c.Status), c.ID, c.Detail)
			if c.Status == StatusFail {
				for _, e := range c.Evidence {
					fmt.Fprintf(&b, "         %s\n", e)
				}
			}
		}
	}
	s := r.Summary
	fmt.Fprintf(&b, "\n%s: %d guarantees passed, %d failed, %d not run, %d not implemented (%d checks, %d failed)\n",
		strings.ToUpper(s.Verdict), s.Passed, s.Failed, s.NotRun, s.NotImplemented, s.Checks, s.ChecksFailed)
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func (r *Report) renderMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Interlock conformance report\n\n")
	for _, l := range r.header() {
		b.WriteString("- " + mdEscape(l) + "\n")
	}
	b.WriteString("\n| guarantee | result | checks passed | checks failed | spec |\n|---|---|---|---|---|\n")
	for _, g := range r.Guarantees {
		p, f := counts(g)
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s |\n", mdEscape(g.Name), statusWord(g.Status), p, f, mdEscape(strings.Join(g.Spec, "; ")))
	}
	for _, g := range r.Guarantees {
		fmt.Fprintf(&b, "\n## %s: %s\n\n", g.Name, statusWord(g.Status))
		if g.NotImplemented != "" {
			b.WriteString(g.NotImplemented + "\n\n")
		}
		if g.Observability != "" {
			b.WriteString("*Observability:* " + g.Observability + "\n\n")
		}
		if len(g.Checks) == 0 {
			continue
		}
		b.WriteString("| check | kind | result | detail | spec |\n|---|---|---|---|---|\n")
		for _, c := range g.Checks {
			d := c.Detail
			if c.Status == StatusFail && len(c.Evidence) > 0 {
				d += ": " + strings.Join(c.Evidence, "; ")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.ID, c.Kind, statusWord(c.Status), mdEscape(d), mdEscape(strings.Join(c.Spec, "; ")))
		}
	}
	s := r.Summary
	fmt.Fprintf(&b, "\n**%s**: %d guarantees passed, %d failed, %d not run, %d not implemented.\n",
		strings.ToUpper(s.Verdict), s.Passed, s.Failed, s.NotRun, s.NotImplemented)
	_, err := io.WriteString(w, b.String())
	return err
}

const htmlStyle = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{color:#176b2c;font-weight:600}.fail{color:#b00020;font-weight:600}
.not_run,.not_implemented,.not_applicable{color:#666}code{font-size:12px}details{margin:.2em 0}`

// renderHTML writes one self-contained XHTML-compatible page: the summary
// table (id "summary") first, then one section per guarantee.
func (r *Report) renderHTML(w io.Writer) error {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>Interlock conformance report</title>\n")
	b.WriteString("<style>" + htmlStyle + "</style></head><body>\n<h1>Interlock conformance report</h1>\n")
	b.WriteString("<table id=\"summary\"><thead><tr><th>guarantee</th><th>result</th><th>checks passed</th><th>checks failed</th><th>spec</th></tr></thead><tbody>\n")
	for _, g := range r.Guarantees {
		p, f := counts(g)
		fmt.Fprintf(&b, "<tr data-guarantee=\"%s\" data-status=\"%s\"><td><a href=\"#%s\">%s</a></td><td class=\"%s\">%s</td><td>%d</td><td>%d</td><td>%s</td></tr>\n",
			e(g.ID), e(g.Status), e(g.ID), e(g.Name), e(g.Status), statusWord(g.Status), p, f, e(strings.Join(g.Spec, "; ")))
	}
	s := r.Summary
	fmt.Fprintf(&b, "</tbody></table>\n<p id=\"verdict\" data-verdict=\"%s\" class=\"%s\">%s: %d guarantees passed, %d failed, %d not run, %d not implemented (%d checks, %d failed).</p>\n<ul>",
		e(s.Verdict), e(s.Verdict), strings.ToUpper(s.Verdict), s.Passed, s.Failed, s.NotRun, s.NotImplemented, s.Checks, s.ChecksFailed)
	for _, l := range r.header() {
		b.WriteString("<li>" + e(l) + "</li>")
	}
	b.WriteString("</ul>\n")
	for _, g := range r.Guarantees {
		fmt.Fprintf(&b, "<h2 id=\"%s\">%s: <span class=\"%s\">%s</span></h2>\n", e(g.ID), e(g.Name), e(g.Status), statusWord(g.Status))
		if g.NotImplemented != "" {
			b.WriteString("<p>" + e(g.NotImplemented) + "</p>\n")
		}
		fmt.Fprintf(&b, "<p><em>Observability:</em> %s</p>\n<p><em>Code:</em> %s</p>\n", e(g.Observability), e(strings.Join(g.Code, ", ")))
		if len(g.Checks) == 0 {
			continue
		}
		b.WriteString("<table><thead><tr><th>check</th><th>kind</th><th>result</th><th>detail</th><th>spec</th></tr></thead><tbody>\n")
		for _, c := range g.Checks {
			fmt.Fprintf(&b, "<tr><td><code>%s</code></td><td>%s</td><td class=\"%s\">%s</td><td>%s", e(c.ID), e(c.Kind), e(c.Status), statusWord(c.Status), e(c.Detail))
			if len(c.Evidence) > 0 {
				b.WriteString("<details><summary>evidence</summary><ul>")
				for _, ev := range c.Evidence {
					b.WriteString("<li>" + e(ev) + "</li>")
				}
				b.WriteString("</ul></details>")
			}
			fmt.Fprintf(&b, "</td><td>%s</td></tr>\n", e(strings.Join(c.Spec, "; ")))
		}
		b.WriteString("</tbody></table>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
