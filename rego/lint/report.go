package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/report"
)

// Report is the result of a lint run, ready to render as text, JSON or SARIF.
type Report struct {
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
	// Errors are the problems that kept the run from checking everything it was given
	// (a file that could not be read); the run aborts after reporting what it checked,
	// and the text and github formats then print no summary.
	Errors []string `json:"errors,omitempty"`
}

// Summary counts a run's inputs and findings. Errors, Warnings and Infos count
// findings that are not suppressed.
type Summary struct {
	Files      int            `json:"files"`
	Documents  int            `json:"documents"`
	Errors     int            `json:"errors"`
	Warnings   int            `json:"warnings"`
	Infos      int            `json:"infos"`
	Suppressed int            `json:"suppressed"`
	Expired    int            `json:"expired_suppressions"`
	Codes      map[string]int `json:"codes"`
	// Failed tells whether the findings reach the fail level (--fail-on).
	Failed bool   `json:"failed"`
	FailOn string `json:"fail_on"`
}

// NewReport builds the report of findings from files; failOn is the --fail-on level
// ("error", "warning", "info" or "none").
func NewReport(files []*policy.File, findings []Finding, failOn string) (*Report, error) {
	level, err := FailLevel(failOn)
	if err != nil {
		return nil, err
	}
	if failOn == "" {
		failOn = policy.SeverityError
	}
	r := &Report{Findings: findings, Summary: Summary{Files: len(files), Codes: map[string]int{}, FailOn: failOn}}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range files {
		r.Summary.Documents += len(f.Documents)
	}
	for _, f := range findings {
		if f.Note != "" {
			r.Summary.Expired++
		}
		if f.Suppressed {
			r.Summary.Suppressed++
			continue
		}
		r.Summary.Codes[f.Code]++
		switch f.Severity {
		case policy.SeverityError:
			r.Summary.Errors++
		case policy.SeverityWarning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
	r.Summary.Failed = Fails(findings, level)
	return r, nil
}

// WriteJSON writes the report as one indented JSON object {findings, summary}.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// WriteText writes one line per finding, "file:line:col: severity CODE: message", with the
// fix, the suppression or the note indented below it, then a summary line — unless the
// run aborts (Errors), when a summary would read as a verdict on files never checked.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s:%d:%d: %s %s: %s\n", f.File, f.Line, f.Column, f.Severity, f.Code, f.Message)
		if f.Fix != "" {
			fmt.Fprintf(&b, "    fix: %s\n", f.Fix)
		}
		if f.Suppressed {
			until := ""
			if f.Expires != "" {
				until = " (until " + f.Expires + ")"
			}
			fmt.Fprintf(&b, "    suppressed%s: %s\n", until, f.Reason)
		}
		if f.Note != "" {
			fmt.Fprintf(&b, "    note: %s\n", f.Note)
		}
		if len(f.Sets) > 0 {
			fmt.Fprintf(&b, "    in: %s\n", strings.Join(f.Sets, "; "))
		}
	}
	if len(r.Errors) == 0 {
		if len(r.Findings) > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(r.Summary.text())
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// AddError records err (errors.Join'ed errors one by one) in r.Errors.
func (r *Report) AddError(err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			r.AddError(e)
		}
		return
	}
	r.Errors = append(r.Errors, err.Error())
}

// text is the summary line.
func (s Summary) text() string {
	parts := []string{
		count(s.Errors, "error", "errors"),
		count(s.Warnings, "warning", "warnings"),
		count(s.Infos, "info", "infos"),
	}
	line := fmt.Sprintf("%s, %s: %s", count(s.Files, "file", "files"), count(s.Documents, "document", "documents"), strings.Join(parts, ", "))
	if s.Suppressed > 0 {
		line += fmt.Sprintf(" (%d suppressed)", s.Suppressed)
	}
	if s.Expired > 0 {
		line += fmt.Sprintf(" (%s expired)", count(s.Expired, "suppression", "suppressions"))
	}
	if s.Failed {
		line += fmt.Sprintf("; fails at --fail-on %s", s.FailOn)
	}
	return line
}

// count renders n with the singular or plural noun.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// sortedCodes returns the codes of findings in order.
func sortedCodes(findings []Finding) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range findings {
		if !seen[f.Code] {
			seen[f.Code] = true
			out = append(out, f.Code)
		}
	}
	sort.Strings(out)
	return out
}

// LintFiles lints parsed files, each on its own, applies the configuration (nil for none)
// as of today and builds the report; failOn is the --fail-on level.
func (l *Linter) LintFiles(ctx context.Context, files []*policy.File, cfg *Config, failOn string, today time.Time) (*Report, error) {
	return l.LintRun(ctx, Run{Files: files}, cfg, failOn, today)
}

// WriteGitHub writes the findings as GitHub Actions workflow annotations
// (::error/::warning/::notice file=F,line=L,col=C,title=CODE::message, the fix on a second
// line), then the summary as a run annotation. Suppressed findings are left out unless
// includeSuppressed (then they are notices titled "CODE (suppressed)").
func (r *Report) WriteGitHub(w io.Writer, includeSuppressed bool) error {
	anns := make([]report.Annotation, 0, len(r.Findings)+1)
	for _, f := range r.Findings {
		a := report.Annotation{Level: report.GitHubLevel(f.Severity), File: f.File, Line: f.Line, Column: f.Column, Title: f.Code, Message: f.Message}
		if f.Fix != "" {
			a.Message += "\nfix: " + f.Fix
		}
		if f.Note != "" {
			a.Message += "\nnote: " + f.Note
		}
		if len(f.Sets) > 0 {
			a.Message += "\nin: " + strings.Join(f.Sets, "; ")
		}
		if f.Suppressed {
			if !includeSuppressed {
				continue
			}
			a.Level, a.Title = "notice", f.Code+" (suppressed)"
			a.Message += "\nsuppressed: " + f.Reason
		}
		anns = append(anns, a)
	}
	for _, e := range r.Errors {
		anns = append(anns, report.Annotation{Level: "error", Title: "imsguard lint", Message: e})
	}
	if len(r.Errors) == 0 {
		level := "notice"
		if r.Summary.Failed {
			level = "error"
		}
		anns = append(anns, report.Annotation{Level: level, Title: "imsguard lint", Message: r.Summary.text()})
	}
	return report.WriteGitHub(w, anns)
}
