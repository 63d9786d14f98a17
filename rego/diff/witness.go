package diff

import (
	"slices"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

// maxTries bounds the requests tried in one search for a counterexample.
const maxTries = 40000

// space is the candidate requests of one unit: for every dimension, values that together
// tell apart every statement of both sides (each action pattern, scope and condition
// matches some candidates and misses others, where it can).
type space struct {
	actions []string              // lower-case actions: the catalog's first, then pattern instances
	scopes  []Request             // project, enterprise project and its support
	keys    []string              // condition keys, lower case
	values  map[string][][]string // per key: value lists, nil (absent) first
	written map[string]string     // per key: a spelling from the policies
}

func newSpace(cat *actions.Catalog, project string, ms ...*model) *space {
	sp := &space{values: map[string][][]string{}, written: map[string]string{}}
	var patterns []string
	var scopes []scope
	byKey := map[string][]policy.Predicate{}
	for _, m := range ms {
		for _, s := range m.stmts {
			patterns = append(patterns, s.actions...)
			scopes = append(scopes, s.scope)
			for _, p := range s.conds {
				byKey[p.Key] = append(byKey[p.Key], p)
				if sp.written[p.Key] == "" {
					sp.written[p.Key] = p.Written
				}
			}
		}
	}
	var acts []string
	if cat != nil {
		for _, api := range cat.APIs() {
			acts = append(acts, api.AllActions()...)
			acts = append(acts, api.Dependencies...)
			for _, c := range api.Conditional {
				acts = append(acts, c.Dependencies...)
			}
		}
	}
	for _, p := range patterns {
		acts = append(acts, instances(p)...)
	}
	// a request names one concrete action (the catalog lists dependencies like obs:bucket:*)
	acts = slices.DeleteFunc(acts, func(a string) bool { return strings.ContainsAny(a, "*? \t") || strings.Count(a, ":") != 2 })
	sp.actions = distinct(acts, patterns, func(a, p string) bool { return actionMatch(p, strings.ToLower(a)) }, strings.ToLower)

	projects := []string{project, "global", "imsguard-other-project"}
	eps := []string{"imsguard-other-enterprise-project"}
	for _, s := range scopes {
		projects = append(projects, s.projects...)
		eps = append(eps, s.eps...)
	}
	var reqs []Request
	for _, p := range projects {
		reqs = append(reqs, Request{Project: p})
		for _, e := range eps {
			reqs = append(reqs, Request{Project: p, EnterpriseProject: e, EPSupported: true})
		}
	}
	sig := func(r Request) string {
		var b strings.Builder
		for _, s := range scopes {
			b.WriteByte("01"[boolInt(s.covers(r))])
		}
		return b.String()
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		if k := sig(r); !seen[k] {
			seen[k] = true
			sp.scopes = append(sp.scopes, r)
		}
	}
	for k, ps := range byKey {
		sp.keys = append(sp.keys, k)
		sp.values[k] = policy.Candidates(ps)
	}
	slices.Sort(sp.keys)
	return sp
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// distinct keeps the first of the candidates that every pattern treats alike.
func distinct(cands, patterns []string, match func(c, p string) bool, norm func(string) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cands {
		c = norm(c)
		var b strings.Builder
		for _, p := range patterns {
			b.WriteByte("01"[boolInt(match(c, p))])
		}
		if !seen[b.String()] {
			seen[b.String()] = true
			out = append(out, c)
		}
	}
	return out
}

// instances are actions a pattern matches: its wildcards filled in several ways.
func instances(p string) []string {
	var out []string
	for _, fill := range []string{"any", "zq", ""} {
		var b strings.Builder
		for _, r := range p {
			switch r {
			case '*':
				b.WriteString(fill)
			case '?':
				b.WriteByte('q')
			default:
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}

// find looks for a request inside the piece (statement s, action pattern p) that passes
// test. Condition values are tried per key among the candidates that satisfy s.
func (sp *space) find(s *stmt, pattern string, test func(Request) bool) (Request, bool) {
	if s.res != nil {
		return Request{}, false // requests carry no resource: such a statement never applies
	}
	var acts []string
	for _, a := range sp.actions {
		if actionMatch(pattern, a) {
			acts = append(acts, a)
		}
	}
	var scopes []Request
	for _, r := range sp.scopes {
		if s.scope.covers(r) {
			scopes = append(scopes, r)
		}
	}
	if len(acts) == 0 || len(scopes) == 0 {
		return Request{}, false
	}
	_, mine := policy.ByKey(s.conds)
	lists := make([][][]string, len(sp.keys))
	for i, k := range sp.keys {
		for _, v := range sp.values[k] {
			if holds(mine[k], v) {
				lists[i] = append(lists[i], v)
			}
		}
		if len(lists[i]) == 0 {
			return Request{}, false
		}
	}
	tries := 0
	idx := make([]int, len(lists))
	for {
		ctx := policy.Context{}
		for i, k := range sp.keys {
			if v := lists[i][idx[i]]; v != nil {
				ctx[k] = v
			}
		}
		for _, a := range acts {
			for _, sc := range scopes {
				r := Request{Action: a, Project: sc.Project, EnterpriseProject: sc.EnterpriseProject, EPSupported: sc.EPSupported, Context: ctx}
				if test(r) {
					return r, true
				}
				if tries++; tries >= maxTries {
					return Request{}, false
				}
			}
		}
		// next combination, the first key fastest
		i := 0
		for ; i < len(idx); i++ {
			idx[i]++
			if idx[i] < len(lists[i]) {
				break
			}
			idx[i] = 0
		}
		if i == len(idx) {
			return Request{}, false
		}
	}
}

// spelled returns the request with its condition keys spelled as in the policies (the
// engine reads keys case-insensitively).
func (sp *space) spelled(r Request) Request {
	ctx := policy.Context{}
	for k, v := range r.Context {
		if w := sp.written[k]; w != "" {
			k = w
		}
		ctx[k] = v
	}
	r.Context = ctx
	return r
}

func holds(ps []policy.Predicate, vals []string) bool {
	for _, p := range ps {
		if !p.Holds(vals) {
			return false
		}
	}
	return true
}
