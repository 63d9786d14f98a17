package lint

import (
	"fmt"
	"io"

	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/report"
)

// SARIFOptions are the settings of a SARIF log beyond the findings.
type SARIFOptions struct {
	// Version is the tool version ("" to omit).
	Version string
	// BaseDir is the absolute working directory relative file names are relative to
	// ("" leaves its URI out).
	BaseDir string
	// IncludeSuppressed writes suppressed findings too, each with a SARIF suppression;
	// by default they are left out (code scanning would reopen them as alerts).
	IncludeSuppressed bool
}

// WriteSARIF writes the report as a SARIF 2.1.0 log with one rule per code: every built-in
// code of rules, then the codes of user rules that occur. Messages and fixes stay apart
// (the fix and note in the result's properties); a report with Errors says the run was
// not successful, with one notification per error.
func (r *Report) WriteSARIF(w io.Writer, rules []RuleInfo, opts SARIFOptions) error {
	var out []report.Rule
	known := map[string]bool{}
	for _, ri := range rules {
		known[ri.Code] = true
		out = append(out, report.Rule{
			ID: ri.Code, Short: ri.Title, Full: fmt.Sprintf("%s (%s)", ri.Title, ri.Basis),
			Help:     fmt.Sprintf("%s. Basis: %s. See docs/lint.md for every imsguard lint code.", ri.Title, ri.Basis),
			Severity: ri.Severity, SecuritySeverity: ri.SecuritySeverity, Properties: map[string]string{"basis": ri.Basis},
		})
	}
	for _, code := range sortedCodes(r.Findings) {
		if known[code] {
			continue
		}
		sev := policy.SeverityWarning
		for _, f := range r.Findings {
			if f.Code == code {
				sev = f.Severity
				break
			}
		}
		known[code] = true
		out = append(out, report.Rule{ID: code, Short: "custom rule " + code, Full: "finding of the user's own Rego rule " + code,
			Help: "a rule loaded with --rules", Severity: sev})
	}
	results := make([]report.Result, 0, len(r.Findings))
	for _, f := range r.Findings {
		if f.Suppressed && !opts.IncludeSuppressed {
			continue
		}
		results = append(results, report.Result{RuleID: f.Code, Severity: f.Severity, Message: f.Message, Fix: f.Fix, Note: f.Note,
			File: f.File, Line: f.Line, Column: f.Column, Pointer: f.Pointer, Suppressed: f.Suppressed, Justification: f.Reason})
	}
	run := report.Run{Version: opts.Version, BaseDir: opts.BaseDir}
	for _, e := range r.Errors {
		run.Errors = append(run.Errors, report.Notification{Message: e})
	}
	return report.WriteSARIF(w, run, out, results)
}
