package diff

import (
	"fmt"
	"io"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/report"
)

// The rule codes of diff results (SARIF rule ids), one per kind.
const (
	CodeWiden    = "E-DIFF-WIDEN"
	CodeUnproven = "E-DIFF-UNPROVEN"
	CodeNarrow   = "I-DIFF-NARROW"
	CodeNeutral  = "I-DIFF-NEUTRAL"
)

// kindRules describe the codes; security is GitHub code scanning's security-severity.
var kindRules = []struct {
	kind                       Kind
	code, sev, title, security string
}{
	{KindWiden, CodeWiden, policy.SeverityError, "the change allows a request the old policies did not", "8.0"},
	{KindUnproven, CodeUnproven, policy.SeverityError, "changed, not provably narrower: a gate counts it as a widening", "7.0"},
	{KindNarrow, CodeNarrow, policy.SeverityInfo, "the change allows nothing new and denies (or may deny) what was allowed", "1.0"},
	{KindNeutral, CodeNeutral, policy.SeverityInfo, "written differently, decides every request as before", "0.0"},
}

func ruleOf(k Kind) (code, sev string) {
	for _, r := range kindRules {
		if r.kind == k {
			return r.code, r.sev
		}
	}
	return CodeUnproven, policy.SeverityError
}

// anchor is where a change is shown: the new statement, or the old one when removed.
func anchor(c Change) Origin {
	if c.New != nil {
		return c.New.Origin
	}
	if c.Old != nil {
		return c.Old.Origin
	}
	return Origin{}
}

// message is the one-paragraph text of a change for annotations.
func message(c Change) string {
	who := ""
	if c.Principal != "" {
		who = "principal " + c.Principal + ": "
	}
	return fmt.Sprintf("%s%s %s: %s", who, c.What, where(c), c.Reason)
}

// WriteSARIF writes the statement changes as a SARIF 2.1.0 log, the format of
// `imsguard lint --format sarif`: widenings and unproven changes are errors, the others
// notes, each at the statement it concerns (the new one; the old one when removed). run
// gives the tool version and the working directory.
func (r *Report) WriteSARIF(w io.Writer, run report.Run) error {
	rules := make([]report.Rule, 0, len(kindRules))
	for _, k := range kindRules {
		rules = append(rules, report.Rule{ID: k.code, Short: k.title, Full: k.title + " (imsguard diff, kind " + string(k.kind) + ")",
			Help: k.title + ". See docs/diff.md for what counts as a widening.", Severity: k.sev, SecuritySeverity: k.security, Properties: map[string]string{"kind": string(k.kind)}})
	}
	results := make([]report.Result, 0, len(r.Changes))
	for _, c := range r.Changes {
		code, sev := ruleOf(c.Kind)
		at := anchor(c)
		results = append(results, report.Result{RuleID: code, Severity: sev, Message: message(c), File: at.File,
			Line: max(at.Line, 1), Column: max(at.Column, 1), Pointer: at.Pointer})
	}
	return report.WriteSARIF(w, run, rules, results)
}

// WriteGitHub writes one GitHub Actions workflow command per statement change
// (::error for widenings and unproven changes, ::notice for the others), so the reason
// shows on the pull request without code scanning, then the summary as a notice.
func (r *Report) WriteGitHub(w io.Writer) error {
	anns := make([]report.Annotation, 0, len(r.Changes)+1)
	for _, c := range r.Changes {
		level := "notice"
		if c.Kind.Widens() {
			level = "error"
		}
		at := anchor(c)
		anns = append(anns, report.Annotation{Level: level, File: at.File, Line: max(at.Line, 1), Column: max(at.Column, 1),
			Title: "imsguard diff: " + string(c.Kind), Message: message(c)})
	}
	level := "notice"
	if r.Summary.FailsGate {
		level = "error"
	}
	anns = append(anns, report.Annotation{Level: level, Title: "imsguard diff", Message: r.Summary.text(len(r.Changes))})
	return report.WriteGitHub(w, anns)
}
