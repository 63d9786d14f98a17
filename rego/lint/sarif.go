package lint

import (
	"fmt"
	"io"

	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/report"
)

// WriteSARIF writes the report as a SARIF 2.1.0 log with one rule per code: every built-in
// code of rules, then the codes of user rules that occur. version is the tool version
// ("" to omit).
func (r *Report) WriteSARIF(w io.Writer, rules []RuleInfo, version string) error {
	var out []report.Rule
	known := map[string]bool{}
	for _, ri := range rules {
		known[ri.Code] = true
		out = append(out, report.Rule{
			ID: ri.Code, Short: ri.Title, Full: fmt.Sprintf("%s (%s)", ri.Title, ri.Basis),
			Help:     fmt.Sprintf("%s. Basis: %s. See docs/lint.md for every imsguard lint code.", ri.Title, ri.Basis),
			Severity: ri.Severity, Properties: map[string]string{"basis": ri.Basis},
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
		msg := f.Message
		if f.Fix != "" {
			msg += " Fix: " + f.Fix
		}
		if f.Note != "" {
			msg += " Note: " + f.Note
		}
		results = append(results, report.Result{RuleID: f.Code, Severity: f.Severity, Message: msg, File: f.File, Line: f.Line, Column: f.Column,
			Pointer: f.Pointer, Suppressed: f.Suppressed, Justification: f.Reason})
	}
	return report.WriteSARIF(w, version, out, results)
}
