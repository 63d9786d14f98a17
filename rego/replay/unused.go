package replay

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/decisionlog"
	"github.com/imsguard/imsguard/rego/lint"
	"github.com/imsguard/imsguard/rego/report"
)

// The codes of unused findings.
const (
	CodeUnusedPolicy    = "U-UNUSED-POLICY"
	CodeUnusedStatement = "U-UNUSED-STATEMENT"
	CodeUnusedAction    = "U-UNUSED-ACTION"
	CodeNotObserved     = "U-NOT-OBSERVED"
)

// UnusedRules describes the codes of Unused findings (for SARIF).
func UnusedRules() []lint.RuleInfo {
	basis := "the decision log: requests re-decided with the policies"
	return []lint.RuleInfo{
		{Code: CodeUnusedPolicy, Severity: policy.SeverityWarning, Title: "no request in the window used the policy", Basis: basis},
		{Code: CodeUnusedStatement, Severity: policy.SeverityWarning, Title: "no request in the window matched the statement", Basis: basis},
		{Code: CodeUnusedAction, Severity: policy.SeverityWarning, Title: "the Action element allows IMS actions no request in the window needed", Basis: basis},
		{Code: CodeNotObserved, Severity: policy.SeverityInfo, Title: "actions of another service that no IMS API used depends on: the proxy cannot see them", Basis: basis},
	}
}

type stmtKey struct{ att, stmt int }

// usage is what one principal's requests used.
type usage struct {
	requests    int
	first, last time.Time
	matched     map[stmtKey]map[string]bool // statement → the actions it matched (lower case)
	deps        map[string][]string         // dependent actions of the API variants used → their sections
}

// use records what a replayed request used.
func (r *Replayer) use(e *decisionlog.Entry, api *actions.API, _ *engine, res result) {
	u := r.usage[e.Principal]
	if u == nil {
		u = &usage{matched: map[stmtKey]map[string]bool{}, deps: map[string][]string{}}
		r.usage[e.Principal] = u
	}
	u.requests++
	if u.first.IsZero() || e.Time.Before(u.first) {
		u.first = e.Time
	}
	if e.Time.After(u.last) {
		u.last = e.Time
	}
	for _, ad := range res.matched {
		for _, m := range ad.Matched {
			k := stmtKey{m.Attachment, m.Statement}
			if u.matched[k] == nil {
				u.matched[k] = map[string]bool{}
			}
			u.matched[k][strings.ToLower(ad.Action)] = true
		}
	}
	deps := append([]string(nil), api.Dependencies...)
	for _, c := range api.Conditional {
		for _, a := range e.Actions {
			if strings.EqualFold(a, c.Action) {
				deps = append(deps, c.Dependencies...)
			}
		}
	}
	for _, d := range deps {
		if !contains(u.deps[d], api.Section) {
			u.deps[d] = append(u.deps[d], api.Section)
		}
	}
}

// AttachmentsOf returns the candidate attachments principal p is decided with.
func (r *Replayer) AttachmentsOf(p string) []authz.Attachment {
	if x := r.engineOf(p); x != nil {
		return x.atts
	}
	return nil
}

// Principals returns the principals of the candidates' configuration, sorted; nil for
// policy files (every principal).
func (r *Replayer) Principals() []string {
	if r.cands.Principals == nil {
		return nil
	}
	var out []string
	for p := range r.cands.Principals {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Unused is what one principal holds that no request in the window used.
type Unused struct {
	Principal string    `json:"principal"`
	Requests  int       `json:"requests"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	// Findings, lint-shaped: the unused policy, statement or Action element, where it is.
	Findings []lint.Finding `json:"findings"`
}

// Unused returns what principal p holds (its candidate policies) that none of its
// replayed requests used: policies none of whose statements applied, statements that
// matched no request, and IMS actions an Action element allows that no request needed.
// Actions of other services count as used when an API the principal called depends on
// them; the others cannot be judged (the proxy sees IMS calls only) and are reported as
// not observed.
func (r *Replayer) Unused(p string) (*Unused, error) {
	x := r.engineOf(p)
	if x == nil {
		return nil, fmt.Errorf("principal %q has no policies in the configuration", p)
	}
	u := r.usage[p]
	if u == nil {
		u = &usage{matched: map[stmtKey]map[string]bool{}, deps: map[string][]string{}}
	}
	out := &Unused{Principal: p, Requests: u.requests, First: u.first, Last: u.last, Findings: []lint.Finding{}}
	window := fmt.Sprintf("no request of %s in the window", p)
	if u.requests > 0 {
		window = fmt.Sprintf("none of the %s of %s between %s and %s", count(u.requests, "request"), p, u.first.UTC().Format(time.RFC3339), u.last.UTC().Format(time.RFC3339))
	}
	ims := r.cat.ServiceActions()
	for i, att := range x.atts {
		if att.Document == nil || att.Document.Root == nil {
			continue
		}
		pol := r.unusedPolicy(i, att, u, ims, window)
		out.Findings = append(out.Findings, pol...)
	}
	sort.SliceStable(out.Findings, func(i, j int) bool {
		a, b := out.Findings[i], out.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return out, nil
}

// status of a statement or policy.
type status int

const (
	used status = iota
	unused
	unobservable
)

func (r *Replayer) unusedPolicy(i int, att authz.Attachment, u *usage, ims []string, window string) []lint.Finding {
	d := att.Document
	var found []lint.Finding
	pst := unobservable
	for j, s := range d.Statements {
		st, fs := r.unusedStatement(stmtKey{i, j}, d, s, u, ims, window)
		switch {
		case st == used:
			pst = used
		case st == unused && pst == unobservable:
			pst = unused
		}
		found = append(found, fs...)
	}
	switch pst {
	case used:
		return found
	case unused:
		return []lint.Finding{finding(d, d.Root, CodeUnusedPolicy, policy.SeverityWarning,
			fmt.Sprintf("%s used policy %s: none of its statements applied", window, att.Name),
			"detach it, or keep it for what the workload does outside the window")}
	default:
		return []lint.Finding{finding(d, d.Root, CodeNotObserved, policy.SeverityInfo,
			fmt.Sprintf("policy %s grants only actions of other services that no IMS API the principal called depends on; the proxy sees IMS calls only, so their use cannot be judged", att.Name), "")}
	}
}

func (r *Replayer) unusedStatement(k stmtKey, d *policy.Document, s policy.Statement, u *usage, ims []string, window string) (status, []lint.Finding) {
	matched := u.matched[k]
	if strings.EqualFold(s.Effect, "Deny") {
		if matched != nil {
			return used, nil
		}
		return unused, []lint.Finding{finding(d, s.Node, CodeUnusedStatement, policy.SeverityInfo,
			fmt.Sprintf("%s was denied by Deny statement %d", window, s.Index), "keep it if it is a guardrail for what the workload must never do")}
	}
	items := actionNodes(s)
	st := unobservable
	if matched != nil {
		st = used
	}
	var elems []lint.Finding
	for j, a := range s.Actions {
		var node *policy.Node
		if j < len(items) {
			node = items[j]
		}
		exp := expand(a, ims)
		if len(exp) == 0 && service(a) == "ims" {
			continue // an unknown IMS action: lint's business
		}
		if len(exp) == 0 {
			if by := u.dependencyOf(a); len(by) > 0 {
				st = used
				continue
			}
			elems = append(elems, finding(d, node, CodeNotObserved, policy.SeverityInfo,
				fmt.Sprintf("%q grants actions of another service that no IMS API the principal called depends on; the proxy sees IMS calls only, so their use cannot be judged", a), ""))
			continue
		}
		if st == unobservable {
			st = unused
		}
		var idle, busy []string
		for _, x := range exp {
			if matched[strings.ToLower(x)] || len(u.dependencyOf(x)) > 0 {
				busy = append(busy, x)
			} else {
				idle = append(idle, x)
			}
		}
		if len(busy) > 0 {
			st = used
		}
		if len(idle) == 0 {
			continue
		}
		msg := fmt.Sprintf("%s needed %s, which %q allows", window, strings.Join(idle, ", "), a)
		fix := "remove " + strings.Join(idle, ", ") + " from the statement"
		if len(busy) > 0 {
			msg += fmt.Sprintf(" (used: %s)", strings.Join(busy, ", "))
			if strings.ContainsAny(a, "*?") {
				fix = "replace " + a + " by " + strings.Join(busy, ", ")
			}
		} else {
			fix = "remove " + a
		}
		elems = append(elems, finding(d, node, CodeUnusedAction, policy.SeverityWarning, msg, fix))
	}
	switch st {
	case used:
		return used, elems
	case unused:
		return unused, []lint.Finding{finding(d, s.Node, CodeUnusedStatement, policy.SeverityWarning,
			fmt.Sprintf("%s matched statement %d (%s)", window, s.Index, strings.Join(s.Actions, ", ")), "remove the statement, or keep it for what the workload does outside the window")}
	}
	return unobservable, elems
}

// dependencyOf returns the sections of the APIs used that depend on actions a overlaps.
func (u *usage) dependencyOf(a string) []string {
	var out []string
	for d, secs := range u.deps {
		if overlaps(a, d) {
			for _, s := range secs {
				if !contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// actionNodes returns the nodes of a statement's Action elements (a single string is one).
func actionNodes(s policy.Statement) []*policy.Node {
	n := s.Node.Get("Action")
	switch {
	case n == nil:
		return nil
	case n.Kind == policy.KindArray:
		var out []*policy.Node
		for _, it := range n.Items {
			if it.Kind == policy.KindString {
				out = append(out, it)
			}
		}
		return out
	default:
		return []*policy.Node{n}
	}
}

// expand returns the IMS catalog actions the pattern matches.
func expand(pattern string, ims []string) []string {
	var out []string
	for _, a := range ims {
		if segmentsMatch(pattern, a, policy.GlobMatch) {
			out = append(out, a)
		}
	}
	return out
}

// overlaps reports whether two action patterns match some action in common.
func overlaps(p, q string) bool { return segmentsMatch(p, q, policy.GlobsOverlap) }

func segmentsMatch(p, q string, match func(a, b string) bool) bool {
	ps := strings.Split(strings.ToLower(p), ":")
	qs := strings.Split(strings.ToLower(q), ":")
	if len(ps) != len(qs) {
		return false
	}
	for i := range ps {
		if !match(ps[i], qs[i]) {
			return false
		}
	}
	return true
}

func service(a string) string {
	s, _, _ := strings.Cut(a, ":")
	return strings.ToLower(s)
}

// finding places a finding at node n of document d (the document root when n is nil).
func finding(d *policy.Document, n *policy.Node, code, severity, msg, fix string) lint.Finding {
	if n == nil {
		n = d.Root
	}
	return lint.Finding{File: d.Source, Line: max(n.Pos.Line, 1), Column: max(n.Pos.Col, 1), Pointer: n.Pointer,
		Code: code, Severity: severity, Message: msg, Fix: fix}
}

// WriteUnusedSARIF writes unused findings as a SARIF 2.1.0 log (run: the tool's version
// and base directory), with the rules of UnusedRules.
func WriteUnusedSARIF(w io.Writer, findings []lint.Finding, run report.Run) error {
	var rules []report.Rule
	for _, ri := range UnusedRules() {
		rules = append(rules, report.Rule{ID: ri.Code, Short: ri.Title, Full: ri.Title + " (" + ri.Basis + ")",
			Help:     ri.Title + ". Found by imsguard unused; see docs/least-privilege.md.",
			Severity: ri.Severity, Properties: map[string]string{"basis": ri.Basis}})
	}
	results := make([]report.Result, 0, len(findings))
	for _, f := range findings {
		results = append(results, report.Result{RuleID: f.Code, Severity: f.Severity, Message: f.Message, Fix: f.Fix, Note: f.Note,
			File: f.File, Line: f.Line, Column: f.Column, Pointer: f.Pointer})
	}
	return report.WriteSARIF(w, run, rules, results)
}
