package authz

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// StatementWhy explains one statement a decision considered: its attachment's scope
// covers the request and its Action matches at least one of the request's actions.
type StatementWhy struct {
	Attachment int    `json:"attachment"`
	Policy     string `json:"policy"`
	Statement  int    `json:"statement"` // index in the document's Statement array
	Effect     string `json:"effect"`    // "Allow" | "Deny"
	// Actions are the request's actions the statement's Action matches.
	Actions []string `json:"actions"`
	// Matched: the statement applied (its Resource and Condition hold, if it has them).
	Matched bool `json:"matched"`
	// Reason says in words why it applied or not: the conditions and the resource that
	// decided; "" for a statement without Condition and Resource, which always applies.
	Reason     string         `json:"reason,omitempty"`
	Resource   *ResourceWhy   `json:"resource,omitempty"`
	Conditions []ConditionWhy `json:"conditions,omitempty"`
	// Disagrees: this explanation, evaluating the typed conditions and resources, finds a
	// different outcome than the engine; the engine's decision stands (a bug to report).
	Disagrees bool `json:"explanation_disagrees,omitempty"`
}

// ResourceWhy is the check of a statement's Resource against the request's (spec §6.3).
type ResourceWhy struct {
	Patterns []string `json:"patterns"`
	Request  string   `json:"request"` // "" when the request names no resource
	Matches  bool     `json:"matches"`
	Matching string   `json:"matching_pattern,omitempty"` // the first pattern that matches
}

// ConditionWhy is one (operator, key) pair of a statement's Condition, evaluated on the
// request's context as the engine does (keys case-insensitive, values of keys differing
// only in case merged).
type ConditionWhy struct {
	Operator string   `json:"operator"` // as written, e.g. "IpAddress"
	Key      string   `json:"key"`      // as written, e.g. "g:SourceIp"
	Values   []string `json:"values"`   // the policy's values
	// Request are the request's values for the key; empty when the key is absent.
	Request []string `json:"request_values"`
	Absent  bool     `json:"absent"`
	// Valid is false for a condition IAM would reject (lenient mode): fail-safe, it is
	// false in an Allow and true in a Deny.
	Valid   bool   `json:"valid"`
	Holds   bool   `json:"holds"`
	Meaning string `json:"meaning,omitempty"` // the predicate in words (valid conditions)
	Problem string `json:"problem,omitempty"` // why it is invalid
}

// Why decides the request with explanations (Input.Explain) and explains the decision
// statement by statement: every statement of an attachment whose scope covers the request
// and whose Action matches one of its actions, matched or not, and why — the resource and
// each condition checked on the request's values. Attachments skipped for their scope are
// in Decision.Skipped. A request action the IMS catalog does not know gets a did-you-mean
// in Decision.Notes. Errors are Decide's.
func (e *Engine) Why(ctx context.Context, in Input) (Decision, []StatementWhy, error) {
	in.Explain = true
	d, err := e.Decide(ctx, in)
	if err != nil {
		return d, nil, err
	}
	var notes []string
	for _, a := range append([]string{in.Action}, in.Actions...) {
		if n := UnknownActionNote(e.cat, a); n != "" {
			notes = append(notes, n)
		}
	}
	if len(notes) > 0 {
		d.Notes = append(notes, d.Notes...)
	}
	return d, e.why(in, d), nil
}

// stmtKey identifies a statement: attachment and statement index.
type stmtKey struct{ att, stmt int }

func (e *Engine) why(in Input, d Decision) []StatementWhy {
	byKey := map[stmtKey]*StatementWhy{}
	add := func(action string, r StatementRef, matched bool) {
		k := stmtKey{r.Attachment, r.Statement}
		w := byKey[k]
		if w == nil {
			w = &StatementWhy{Attachment: r.Attachment, Policy: r.Policy, Statement: r.Statement, Effect: r.Effect}
			byKey[k] = w
		}
		if !slices.Contains(w.Actions, action) {
			w.Actions = append(w.Actions, action)
		}
		w.Matched = w.Matched || matched
	}
	for _, a := range d.Actions {
		for _, r := range a.Matched {
			add(a.Action, r, true)
		}
		for _, r := range a.Conditional {
			add(a.Action, r, false)
		}
	}
	if len(byKey) == 0 {
		return []StatementWhy{}
	}
	reqCtx := mergedContext(in.ContextMap())
	out := make([]StatementWhy, 0, len(byKey))
	for k, w := range byKey {
		// the engine's own typed statements: the predicates it decides with
		if ts, st, ok := e.typedStatement(e.typed, k); ok {
			explainStatement(w, ts, st, in.Resource, reqCtx)
		}
		out = append(out, *w)
	}
	slices.SortFunc(out, func(x, y StatementWhy) int {
		return cmp.Or(cmp.Compare(x.Attachment, y.Attachment), cmp.Compare(x.Statement, y.Statement))
	})
	return out
}

// typedStatement finds statement k as the engine reads it, and as written.
func (e *Engine) typedStatement(typed [][]typedStmt, k stmtKey) (typedStmt, policy.Statement, bool) {
	if k.att < 0 || k.att >= len(typed) || k.att >= len(e.atts) || e.atts[k.att].Document == nil {
		return typedStmt{}, policy.Statement{}, false
	}
	stmts := e.atts[k.att].Document.Statements
	for _, ts := range typed[k.att] {
		if ts.index == k.stmt && k.stmt < len(stmts) && len(ts.conds) == len(stmts[k.stmt].Condition) {
			return ts, stmts[k.stmt], true
		}
	}
	return typedStmt{}, policy.Statement{}, false
}

// explainStatement checks the statement's Resource and conditions on the request and
// writes the reason. The engine's outcome (w.Matched) stands; a different finding here is
// said, never substituted.
func explainStatement(w *StatementWhy, ts typedStmt, st policy.Statement, resource string, reqCtx map[string][]string) {
	var held, failed []string
	ok := true
	if len(ts.resources) > 0 {
		rw := &ResourceWhy{Request: resource}
		for _, p := range st.Resources {
			if len(strings.SplitN(p, ":", 5)) != 5 {
				continue // the engine ignores (and lint reports) malformed patterns
			}
			rw.Patterns = append(rw.Patterns, p)
			if !rw.Matches && resource != "" && resourceMatches(p, resource) {
				rw.Matches, rw.Matching = true, p
			}
		}
		w.Resource = rw
		patterns := "resource " + strings.Join(rw.Patterns, ", ")
		if len(rw.Patterns) > 1 {
			patterns = "none of the resources " + strings.Join(rw.Patterns, ", ")
		}
		switch {
		case rw.Matches:
			held = append(held, fmt.Sprintf("resource %s matches %s", rw.Matching, resource))
		case resource == "":
			failed = append(failed, fmt.Sprintf("the statement has Resource %s and the request names no resource", strings.Join(rw.Patterns, ", ")))
		case len(rw.Patterns) > 1:
			failed = append(failed, fmt.Sprintf("%s matches %s", patterns, resource))
		default:
			failed = append(failed, fmt.Sprintf("%s does not match %s", patterns, resource))
		}
		ok = rw.Matches
	}
	for i, tc := range ts.conds {
		ce := st.Condition[i]
		vals := reqCtx[strings.ToLower(ce.Key)]
		cw := ConditionWhy{Operator: ce.Operator, Key: ce.Key, Values: nonNilStrings(ce.Values), Request: nonNilStrings(vals),
			Absent: len(vals) == 0, Valid: tc.valid && tc.err == nil}
		text := fmt.Sprintf("condition %s %s [%s]", ce.Operator, ce.Key, strings.Join(ce.Values, ", "))
		if cw.Valid {
			cw.Holds = tc.pred.Holds(vals)
			cw.Meaning = tc.pred.String()
			verb := "holds"
			if !cw.Holds {
				verb = "does not hold"
			}
			if cw.Absent {
				text += fmt.Sprintf(" %s: %s is absent", verb, ce.Key)
			} else {
				text += fmt.Sprintf(" %s for %s", verb, requestValues(vals))
			}
		} else {
			cw.Holds = ts.deny
			cw.Problem = conditionProblem(ce, tc)
			if ts.deny {
				text += " is an invalid condition, fail-safe: it holds in a Deny (" + cw.Problem + ")"
			} else {
				text += " is an invalid condition, fail-safe: it never holds in an Allow (" + cw.Problem + ")"
			}
		}
		if cw.Holds {
			held = append(held, text)
		} else {
			failed = append(failed, text)
			ok = false
		}
		w.Conditions = append(w.Conditions, cw)
	}
	if w.Matched {
		w.Reason = strings.Join(held, "; ")
	} else {
		w.Reason = strings.Join(failed, "; ")
	}
	switch {
	case w.Matched && !ok:
		w.Disagrees = true
		w.Reason = strings.Join(failed, "; ") + "; yet the engine applied the statement: this explanation and the engine disagree, the decision stands (please report it)"
	case !w.Matched && ok:
		w.Disagrees = true
		w.Reason = strings.Join(held, "; ") + "; yet the engine did not apply the statement: this explanation and the engine disagree, the decision stands (please report it)"
	}
}

// conditionProblem says why a condition is invalid, as the predicate builder finds it
// (whether a condition is valid does not depend on the predicate options).
func conditionProblem(ce policy.CondEntry, tc typedCond) string {
	if tc.err != nil {
		return tc.err.Error()
	}
	if _, err := policy.NewPredicate(ce, policy.PredicateOptions{}); err != nil {
		return err.Error()
	}
	return "the engine cannot evaluate it"
}

// requestValues writes a key's request values: one bare, several in brackets.
func requestValues(vals []string) string {
	if len(vals) == 1 {
		return vals[0]
	}
	return "[" + strings.Join(vals, ", ") + "]"
}

// String writes the statement the way eval's text output shows it:
// "policies/dev.json statement 2 (Allow ims:images:get): condition IpAddress g:SourceIp
// [10.0.0.0/8] does not hold for 203.0.113.9".
func (w StatementWhy) String() string {
	s := fmt.Sprintf("%s statement %d (%s %s)", w.Policy, w.Statement, w.Effect, strings.Join(w.Actions, ", "))
	if w.Reason != "" {
		s += ": " + w.Reason
	}
	return s
}

// mergedContext indexes the request's condition keys by lower case; the values of keys
// differing only in case are merged (in the order of the keys), as the engine does.
func mergedContext(ctx map[string][]string) map[string][]string {
	out := make(map[string][]string, len(ctx))
	for _, k := range slices.Sorted(maps.Keys(ctx)) {
		l := strings.ToLower(k)
		out[l] = append(out[l], ctx[k]...)
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
