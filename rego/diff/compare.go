package diff

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/explain"
)

// Options tune Compare.
type Options struct {
	// Project is the project requests are scoped to in the IMS route-level view, and the
	// first project tried for example requests (default "ae-ad-1").
	Project string
	// EnterpriseProject, when set, makes the IMS route-level requests name this
	// enterprise project.
	EnterpriseProject string
	// Lenient evaluates documents IAM would reject, fail-safe, instead of refusing them;
	// a change to such a document is reported as not provably narrower.
	Lenient bool
	// Runtime, when set, is the compiled authz queries (authz.Prepare) to reuse; nil
	// compiles them once per Compare.
	Runtime *authz.Runtime
}

// ErrCompare is wrapped by Compare errors about one side's policies.
var ErrCompare = errors.New("cannot compare the policies")

// Compare works out what changes from the old side to the new one, principal by
// principal (see the package documentation). Either side may be empty. Documents the
// engine would refuse are errors (wrapping authz.ErrInvalidPolicy) unless opts.Lenient.
func Compare(ctx context.Context, cat *actions.Catalog, old, cur Side, opts Options) (*Report, error) {
	if cat == nil {
		return nil, errors.New("compare: nil catalog")
	}
	if opts.Project == "" {
		opts.Project = "ae-ad-1"
	}
	if opts.Runtime == nil {
		rt, err := authz.Prepare(ctx)
		if err != nil {
			return nil, err
		}
		opts.Runtime = rt
	}
	r := &Report{Old: nonNil(old.Sources), New: nonNil(cur.Sources), Changes: []Change{}, IMS: []IMSChanges{}}
	r.Notes = append(append(r.Notes, old.Notes...), cur.Notes...)
	if old.AbsentNegated != cur.AbsentNegated {
		r.Notes = append(r.Notes, fmt.Sprintf("the engine option absent_negated changes from %v to %v: every negated condition reads an absent key differently", old.AbsentNegated, cur.AbsentNegated))
	}
	for _, name := range unitNames(old, cur) {
		oa, na := attachmentsOf(old, name), attachmentsOf(cur, name)
		xo := explain.Options{Project: opts.Project, EnterpriseProject: opts.EnterpriseProject, Lenient: opts.Lenient, Runtime: opts.Runtime}
		xo.AbsentNegated = old.AbsentNegated
		ox, err := explain.Run(ctx, cat, oa, xo)
		if err != nil {
			return nil, fmt.Errorf("%w: old policies%s: %w", ErrCompare, forUnit(name), err)
		}
		xo.AbsentNegated = cur.AbsentNegated
		nx, err := explain.Run(ctx, cat, na, xo)
		if err != nil {
			return nil, fmt.Errorf("%w: new policies%s: %w", ErrCompare, forUnit(name), err)
		}
		om := build(oa, policy.PredicateOptions{AbsentNegated: old.AbsentNegated})
		nm := build(na, policy.PredicateOptions{AbsentNegated: cur.AbsentNegated})
		changes := unitChanges(cat, name, om, nm, opts.Project)
		r.Changes = append(r.Changes, changes...)
		if d := explain.Compare(ox, nx); len(d.Changes) > 0 {
			r.IMS = append(r.IMS, routeChanges(cat, name, d.Changes, changes))
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	r.Changes = append(r.Changes, identityChanges(cat, old, cur, opts.Project)...)
	sortChanges(r.Changes)
	r.summarize()
	return r, nil
}

// identityChanges compares, for each identity whose principal changes, its old
// principal's policies (none if it had none) with its new principal's. A principal that
// is new altogether is already compared with nothing.
func identityChanges(cat *actions.Catalog, old, cur Side, project string) []Change {
	oldOf, newOf := identities(old), identities(cur)
	ids := make([]string, 0, len(newOf))
	for id := range newOf {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Change
	for _, id := range ids {
		on, nn := oldOf[id], newOf[id]
		if on == nn || (on == "" && !hasUnit(old, nn)) {
			continue
		}
		label := fmt.Sprintf("%s (%s, was %s)", nn, id, on)
		if on == "" {
			label = fmt.Sprintf("%s (%s, was no principal)", nn, id)
		}
		om := build(attachmentsOf(old, on), policy.PredicateOptions{AbsentNegated: old.AbsentNegated})
		if on == "" {
			om = build(nil, policy.PredicateOptions{})
		}
		nm := build(attachmentsOf(cur, nn), policy.PredicateOptions{AbsentNegated: cur.AbsentNegated})
		out = append(out, unitChanges(cat, label, om, nm, project)...)
	}
	return out
}

func identities(s Side) map[string]string {
	m := map[string]string{}
	for _, u := range s.Units {
		for _, id := range u.Identities {
			m[id] = u.Name
		}
	}
	return m
}

func hasUnit(s Side, name string) bool {
	for _, u := range s.Units {
		if u.Name == name {
			return true
		}
	}
	return false
}

func forUnit(name string) string {
	if name == "" {
		return ""
	}
	return " of principal " + name
}

// unitNames lists the principals of both sides, old ones first.
func unitNames(sides ...Side) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sides {
		for _, u := range s.Units {
			if !seen[u.Name] {
				seen[u.Name] = true
				out = append(out, u.Name)
			}
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func attachmentsOf(s Side, name string) []authz.Attachment {
	var out []authz.Attachment
	for _, u := range s.Units {
		if u.Name == name {
			out = append(out, u.Attachments...)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// routeChanges keeps the IMS route-level view, but a status that grows counts as a
// widening only when a statement change may widen one of its actions: Conditional →
// Allowed after a redundant conditional Allow is removed allows nothing new.
func routeChanges(cat *actions.Catalog, name string, cs []explain.Change, stmts []Change) IMSChanges {
	out := IMSChanges{Principal: name, Changes: cs}
	for i := range out.Changes {
		c := &out.Changes[i]
		acts := []string{c.Name}
		if c.Kind == "api" {
			acts = nil
			if api, ok := cat.API(c.Name); ok {
				acts = api.AllActions()
			}
		}
		if c.Widens && !reachesWidening(acts, stmts) {
			c.Widens = false
			c.Reason += "; no request is newly allowed (proven statement by statement)"
		}
		switch {
		case c.Widens:
			out.Widened++
		case c.Narrows():
			out.Narrowed++
		}
	}
	return out
}

// reachesWidening reports whether a statement change that may widen names a pattern
// matching one of the actions.
func reachesWidening(acts []string, stmts []Change) bool {
	for _, c := range stmts {
		if !c.Kind.Widens() {
			continue
		}
		if len(c.Actions) == 0 {
			return true // an unevaluated change: anything may be affected
		}
		for _, ac := range c.Actions {
			if !ac.Kind.Widens() {
				continue
			}
			for _, a := range acts {
				if actionMatch(ac.Action, strings.ToLower(a)) {
					return true
				}
			}
		}
	}
	return false
}
