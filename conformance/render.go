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
	case StatusSkipped:
		return "SKIPPED"
	case VerdictIncomplete:
		return "INCOMPLETE"
	}
	return "NOT RUN"
}

// verdictLine is the one-line summary every format starts with.
func (r *Report) verdictLine() string {
	s := r.Summary
	line := fmt.Sprintf("%s (exit status %d): %d guarantees passed, %d failed, %d not run, %d not implemented, %d skipped (%d checks: %d failed, %d not run)",
		statusWord(s.Verdict), s.ExitStatus, s.Passed, s.Failed, s.NotRun, s.NotImplemented, s.Skipped, s.Checks, s.ChecksFailed, s.ChecksNotRun)
	if h := s.Hardening; h.Passed+len(h.Failed)+len(h.NotRun) > 0 {
		line += fmt.Sprintf("; hardening beyond libsignal, not in the verdict: %d passed", h.Passed)
		if len(h.Failed) > 0 {
			line += ", FAILED " + strings.Join(h.Failed, ", ")
		}
		if len(h.NotRun) > 0 {
			line += ", not run " + strings.Join(h.NotRun, ", ")
		}
	}
	return line
}

// tierNote marks a hardening guarantee's line: not in the verdict.
func tierNote(g GuaranteeResult) string {
	if g.Tier == TierHardening {
		return " (hardening: not in the verdict)"
	}
	return ""
}

// attention lists, once each, the checks that failed and those that did
// not run, with the guarantees they belong to.
type attentionItem struct {
	Check      Check
	Guarantees []string
}

func (r *Report) attention(status string) []attentionItem {
	var out []attentionItem
	idx := map[string]int{}
	for _, g := range r.Guarantees {
		for _, c := range g.Checks {
			if c.Status != status {
				continue
			}
			if i, ok := idx[c.ID]; ok {
				out[i].Guarantees = append(out[i].Guarantees, g.ID)
				continue
			}
			idx[c.ID] = len(out)
			out = append(out, attentionItem{Check: c, Guarantees: []string{g.ID}})
		}
	}
	return out
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
	b := r.Build
	build := b.Module + " " + b.Version
	if b.VCSRevision != "" {
		build += ", revision " + b.VCSRevision
		if b.VCSModified {
			build += " (modified)"
		}
	}
	lines := []string{"Subject: " + r.Subject, "Generated: " + r.Generated + " by " + r.Tool,
		"Binary: " + build + ", " + b.GoVersion}
	if r.Invocation != "" {
		lines = append(lines, "Command: "+r.Invocation)
	}
	for _, p := range r.Peers {
		lines = append(lines, "Peer started: "+p)
	}
	for _, ref := range r.References {
		lines = append(lines, fmt.Sprintf("Verified reference %s: %s %s at %s, %s (%s)", ref.Kind, ref.Package, ref.Version, ref.Path, ref.Digest, ref.DigestOf))
		if ref.Wrapper != "" {
			lines = append(lines, fmt.Sprintf("Reference wrapper: %s, %s", ref.Wrapper, ref.WrapperDigest))
		}
	}
	if c := r.Corpus; c != nil {
		lines = append(lines, fmt.Sprintf("Vector corpus: %s, %d files, %s (embedded: %s), run against %s", c.Source, len(c.Files), c.Digest, c.EmbeddedDigest, c.Implementation))
		if len(c.Missing) > 0 {
			lines = append(lines, "Vector files missing: "+strings.Join(c.Missing, ", "))
		}
	}
	if r.Live != nil {
		lines = append(lines, fmt.Sprintf("Live scenarios: A=%s, B=%s, flavour %s, seed %d (self-descriptions, not trusted: A %q, B %q)",
			r.Live.CommandA, r.Live.CommandB, r.Live.Flavour, r.Live.Seed, r.Live.A, r.Live.B))
	}
	for _, sk := range r.Skipped {
		lines = append(lines, "Skipped: "+sk.Guarantee+" ("+sk.Reason+")")
	}
	for _, n := range r.Notes {
		lines = append(lines, "Note: "+n)
	}
	if m := r.Mutants; m != nil {
		lines = append(lines, fmt.Sprintf("Mutation score of this report: %d killed / %d total (%s, %s; %gs)", m.Killed, m.Total, m.Binary, m.Digest, m.Seconds))
		for _, mr := range m.Mutants {
			lines = append(lines, "Mutant "+mr.Line())
		}
		for _, f := range m.BaselineFailures {
			lines = append(lines, "Mutation baseline (no mutant switched on) fails: "+f)
		}
	}
	return lines
}

func (r *Report) renderText(w io.Writer) error {
	var b strings.Builder
	b.WriteString("Interlock conformance report\n" + r.verdictLine() + "\n")
	for _, l := range r.header() {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	for _, g := range r.Guarantees {
		p, f := counts(g)
		fmt.Fprintf(&b, "%-16s %-45s %d passed, %d failed%s\n", statusWord(g.Status), g.Name, p, f, tierNote(g))
	}
	for _, st := range []string{StatusFail, StatusNotRun} {
		items := r.attention(st)
		if len(items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s checks:\n", statusWord(st))
		for _, it := range items {
			fmt.Fprintf(&b, "   %s [%s]  %s\n", it.Check.ID, strings.Join(it.Guarantees, ", "), it.Check.Detail)
			if st == StatusFail {
				for _, e := range it.Check.Evidence {
					fmt.Fprintf(&b, "         %s\n", e)
				}
				if it.Check.Reproduce != "" {
					fmt.Fprintf(&b, "         reproduce: %s\n", it.Check.Reproduce)
				}
			}
		}
	}
	for _, g := range r.Guarantees {
		fmt.Fprintf(&b, "\n== %s: %s\n   spec: %s\n", g.Name, statusWord(g.Status), strings.Join(g.Spec, "; "))
		if g.Why != "" {
			fmt.Fprintf(&b, "   %s\n", g.Why)
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
	b.WriteString("\n" + r.verdictLine() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func (r *Report) renderMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Interlock conformance report\n\n**" + r.verdictLine() + "**\n\n")
	for _, l := range r.header() {
		b.WriteString("- " + mdEscape(l) + "\n")
	}
	b.WriteString("\n| guarantee | result | checks passed | checks failed | spec |\n|---|---|---|---|---|\n")
	for _, g := range r.Guarantees {
		p, f := counts(g)
		fmt.Fprintf(&b, "| %s | %s%s | %d | %d | %s |\n", mdEscape(g.Name), statusWord(g.Status), tierNote(g), p, f, mdEscape(strings.Join(g.Spec, "; ")))
	}
	for _, st := range []string{StatusFail, StatusNotRun} {
		items := r.attention(st)
		if len(items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s checks\n\n| check | guarantees | detail | evidence | reproduce |\n|---|---|---|---|---|\n", statusWord(st))
		for _, it := range items {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", it.Check.ID, strings.Join(it.Guarantees, ", "), mdEscape(it.Check.Detail),
				mdEscape(strings.Join(it.Check.Evidence, "; ")), mdEscape(it.Check.Reproduce))
		}
	}
	for _, g := range r.Guarantees {
		fmt.Fprintf(&b, "\n## %s: %s\n\n", g.Name, statusWord(g.Status))
		if g.Why != "" {
			b.WriteString(mdEscape(g.Why) + "\n\n")
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
	b.WriteString("\n**" + r.verdictLine() + "**\n")
	_, err := io.WriteString(w, b.String())
	return err
}

const htmlStyle = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.pass{color:#176b2c;font-weight:600}.fail{color:#b00020;font-weight:600}
.incomplete{color:#a05a00;font-weight:600}#verdict{font-size:1.3em}
.not_run,.not_implemented,.not_applicable,.skipped{color:#666}code{font-size:12px}details{margin:.2em 0}`

// renderHTML writes one self-contained XHTML-compatible page for a
// reviewer: the verdict (id "verdict") and the run's metadata first, the
// summary table (id "summary", the first table), then every failed check
// with its evidence and how to reproduce it, every check that did not run
// with the reason, then one section per guarantee.
func (r *Report) renderHTML(w io.Writer) error {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>Interlock conformance report</title>\n")
	b.WriteString("<style>" + htmlStyle + "</style></head><body>\n<h1>Interlock conformance report</h1>\n")
	s := r.Summary
	fmt.Fprintf(&b, "<p id=\"verdict\" data-verdict=\"%s\" data-exit-status=\"%d\" class=\"%s\">%s</p>\n<ul id=\"metadata\">",
		e(s.Verdict), s.ExitStatus, e(s.Verdict), e(r.verdictLine()))
	for _, l := range r.header() {
		b.WriteString("<li>" + e(l) + "</li>")
	}
	b.WriteString("</ul>\n")
	b.WriteString("<table id=\"summary\"><thead><tr><th>guarantee</th><th>result</th><th>checks passed</th><th>checks failed</th><th>why not passed</th></tr></thead><tbody>\n")
	for _, g := range r.Guarantees {
		p, f := counts(g)
		fmt.Fprintf(&b, "<tr data-guarantee=\"%s\" data-status=\"%s\" data-tier=\"%s\"><td><a href=\"#%s\">%s</a></td><td class=\"%s\">%s%s</td><td>%d</td><td>%d</td><td>%s</td></tr>\n",
			e(g.ID), e(g.Status), e(g.Tier), e(g.ID), e(g.Name), e(g.Status), statusWord(g.Status), e(tierNote(g)), p, f, e(g.Why))
	}
	b.WriteString("</tbody></table>\n")
	for _, st := range []string{StatusFail, StatusNotRun} {
		items := r.attention(st)
		if len(items) == 0 {
			continue
		}
		title := "Failed checks"
		if st == StatusNotRun {
			title = "Checks that did not run"
		}
		fmt.Fprintf(&b, "<h2 id=\"%s-checks\">%s (%d)</h2>\n<table class=\"attention\"><thead><tr><th>check</th><th>guarantees</th><th>detail</th><th>evidence</th><th>reproduce</th></tr></thead><tbody>\n",
			e(st), title, len(items))
		for _, it := range items {
			fmt.Fprintf(&b, "<tr data-check=\"%s\" data-status=\"%s\"><td><code>%s</code></td><td>%s</td><td>%s</td><td>", e(it.Check.ID), e(st),
				e(it.Check.ID), e(strings.Join(it.Guarantees, ", ")), e(it.Check.Detail))
			if len(it.Check.Evidence) > 0 {
				b.WriteString("<ul>")
				for _, ev := range it.Check.Evidence {
					b.WriteString("<li>" + e(ev) + "</li>")
				}
				b.WriteString("</ul>")
			}
			fmt.Fprintf(&b, "</td><td><code>%s</code></td></tr>\n", e(it.Check.Reproduce))
		}
		b.WriteString("</tbody></table>\n")
	}
	for _, g := range r.Guarantees {
		fmt.Fprintf(&b, "<h2 id=\"%s\">%s: <span class=\"%s\">%s</span></h2>\n", e(g.ID), e(g.Name), e(g.Status), statusWord(g.Status))
		if g.Why != "" {
			b.WriteString("<p>" + e(g.Why) + "</p>\n")
		}
		fmt.Fprintf(&b, "<p><em>Spec:</em> %s</p>\n<p><em>Observability:</em> %s</p>\n<p><em>Code:</em> %s</p>\n",
			e(strings.Join(g.Spec, "; ")), e(g.Observability), e(strings.Join(g.Code, ", ")))
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
