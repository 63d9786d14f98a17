package diff

import (
	"slices"
	"strings"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

// Request is one concrete authorization request, as `imsguard eval` takes it: the
// decision engine answers it with authz.Engine.Decide.
type Request struct {
	Action            string         `json:"action"`
	Project           string         `json:"project"`
	EnterpriseProject string         `json:"enterprise_project,omitempty"`
	EPSupported       bool           `json:"api_supports_enterprise_project"`
	Context           policy.Context `json:"context,omitempty"`
}

// decide answers a request the way authz.rego does: an applicable Deny wins, then an
// applicable Allow, otherwise ImplicitDeny.
func (m *model) decide(r Request) authz.Effect {
	r.Context = lowerKeys(r.Context)
	allow := false
	for _, s := range m.stmts {
		if s.applies(r) {
			if s.effect == "Deny" {
				return authz.ExplicitDeny
			}
			allow = true
		}
	}
	if allow {
		return authz.Allow
	}
	return authz.ImplicitDeny
}

// lowerKeys lower-cases context keys as the engine does, merging keys that differ only
// in case.
func lowerKeys(c policy.Context) policy.Context {
	lower := true
	for k := range c {
		lower = lower && k == strings.ToLower(k)
	}
	if lower {
		return c
	}
	out := policy.Context{}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		l := strings.ToLower(k)
		out[l] = append(out[l], c[k]...)
	}
	return out
}

// applies reports whether the statement decides the request: its scope covers it, an
// action pattern matches, a resource pattern matches (requests carry no resource, so a
// statement with resources never applies), and the condition holds.
func (s *stmt) applies(r Request) bool {
	return s.scope.covers(r) && anyActionMatch(s.actions, r.Action) && s.res == nil && r.Context.Holds(s.conds)
}

// covers reports whether an attachment with this scope applies to the request (spec §7.2).
func (s scope) covers(r Request) bool {
	switch s.kind {
	case authz.ScopeProject:
		return slices.Contains(s.projects, r.Project)
	case authz.ScopeGlobal:
		return r.Project == "global"
	case authz.ScopeEnterpriseProject:
		return r.EPSupported && slices.Contains(s.eps, r.EnterpriseProject)
	}
	return true
}

// within reports whether every request scope s covers, t covers too.
func (s scope) within(t scope) bool {
	switch {
	case t.kind == authz.ScopeAllProjects:
		return true
	case s.kind == authz.ScopeAllProjects:
		return false
	case s.kind == t.kind && s.kind == authz.ScopeProject:
		return subsetOf(s.projects, t.projects)
	case s.kind == t.kind && s.kind == authz.ScopeEnterpriseProject:
		return subsetOf(s.eps, t.eps)
	case s.kind == t.kind:
		return true // global
	case s.kind == authz.ScopeProject && t.kind == authz.ScopeGlobal:
		return subsetOf(s.projects, []string{"global"})
	case s.kind == authz.ScopeGlobal && t.kind == authz.ScopeProject:
		return slices.Contains(t.projects, "global")
	}
	return false
}

// disjoint reports whether no request is covered by both scopes.
func (s scope) disjoint(t scope) bool {
	switch {
	case s.kind == authz.ScopeAllProjects || t.kind == authz.ScopeAllProjects:
		return false
	case s.kind == authz.ScopeProject && t.kind == authz.ScopeProject:
		return !intersects(s.projects, t.projects)
	case s.kind == authz.ScopeEnterpriseProject && t.kind == authz.ScopeEnterpriseProject:
		return !intersects(s.eps, t.eps)
	case s.kind == authz.ScopeGlobal && t.kind == authz.ScopeProject:
		return !slices.Contains(t.projects, "global")
	case s.kind == authz.ScopeProject && t.kind == authz.ScopeGlobal:
		return !slices.Contains(s.projects, "global")
	}
	return false
}

func subsetOf(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// actionMatch matches a normalized pattern against a lower-case action segment by
// segment: '*' never crosses ':' (spec §4.3).
func actionMatch(pattern, action string) bool {
	return strings.Count(pattern, ":") == 2 && policy.ActionMatch(pattern, action)
}

func anyActionMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if actionMatch(p, action) {
			return true
		}
	}
	return false
}

// patternWithin reports (as far as it can show) whether every action p matches, q
// matches too.
func patternWithin(p, q string) bool {
	ps, qs := strings.Split(p, ":"), strings.Split(q, ":")
	for i := range ps {
		if !policy.GlobSubset(ps[i], qs[i]) {
			return false
		}
	}
	return true
}

// patternsOverlap reports whether some action matches both patterns.
func patternsOverlap(p, q string) bool {
	ps, qs := strings.Split(p, ":"), strings.Split(q, ":")
	for i := range ps {
		if !policy.GlobsOverlap(ps[i], qs[i]) {
			return false
		}
	}
	return true
}

// resWithin reports whether the resource patterns a (nil: every resource) lie inside b.
func resWithin(a, b [][5]string) bool {
	if b == nil {
		return true
	}
	if a == nil {
		return false
	}
	for _, r := range a {
		found := false
		for _, t := range b {
			ok := true
			for i := range r {
				ok = ok && policy.GlobSubset(r[i], t[i])
			}
			if ok {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
