package diff

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
)

// unitChanges compares one unit (principal) of both sides.
func unitChanges(cat *actions.Catalog, name string, old, cur *model, project string) []Change {
	sp := newSpace(cat, project, old, cur)
	wid := pair{from: old, to: cur, sp: sp}
	nar := pair{from: cur, to: old, sp: sp}
	var gone, added []*stmt
	for _, s := range old.stmts {
		if cur.byKey[s.key] == nil {
			gone = append(gone, s)
		}
	}
	for _, s := range cur.stmts {
		if old.byKey[s.key] == nil {
			added = append(added, s)
		}
	}
	var out []Change
	for _, p := range pairUp(gone, added) {
		c := judge(cat, wid, nar, p[0], p[1])
		c.Principal = name
		out = append(out, c)
	}
	out = append(out, skippedChanges(name, old, cur)...)
	return out
}

// pairUp matches removed and added statements that are one statement edited: same file
// name and index, or shared action patterns; the rest stay alone (nil partner).
func pairUp(gone, added []*stmt) [][2]*stmt {
	type cand struct {
		i, j, score int
	}
	var cands []cand
	for i, o := range gone {
		for j, n := range added {
			if s := similarity(o, n); s > 0 {
				cands = append(cands, cand{i, j, s})
			}
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	usedO, usedN := map[int]bool{}, map[int]bool{}
	var out [][2]*stmt
	for _, c := range cands {
		if usedO[c.i] || usedN[c.j] {
			continue
		}
		usedO[c.i], usedN[c.j] = true, true
		out = append(out, [2]*stmt{gone[c.i], added[c.j]})
	}
	for j, n := range added {
		if !usedN[j] {
			out = append(out, [2]*stmt{nil, n})
		}
	}
	for i, o := range gone {
		if !usedO[i] {
			out = append(out, [2]*stmt{o, nil})
		}
	}
	return out
}

// similarity scores how likely two statements are one statement edited (0: unrelated).
func similarity(o, n *stmt) int {
	common := 0
	for _, a := range o.actions {
		if slices.Contains(n.actions, a) {
			common++
		}
	}
	samePlace := filepath.Base(o.origin.File) == filepath.Base(n.origin.File) && o.origin.Statement == n.origin.Statement
	if common == 0 && !(samePlace && o.effect == n.effect) {
		return 0
	}
	s := 8 * common / (len(o.actions) + len(n.actions) - common)
	if samePlace {
		s += 6
	}
	if o.effect == n.effect {
		s += 4
	}
	if o.scope.String() == n.scope.String() {
		s++
	}
	return s + 1
}

// judge works out the kind of one change: old statement o and/or new statement n.
func judge(cat *actions.Catalog, wid, nar pair, o, n *stmt) Change {
	c := Change{What: "modified"}
	switch {
	case o == nil:
		c.What, c.Effect = "added", n.effect
	case n == nil:
		c.What, c.Effect = "removed", o.effect
	default:
		c.Effect = n.effect
	}
	if o != nil {
		c.Old = statementOf(o)
	}
	if n != nil {
		c.New = statementOf(n)
	}
	var patterns []string
	in := map[string]string{}
	for _, s := range []*stmt{o, n} {
		if s == nil {
			continue
		}
		for _, p := range s.actions {
			if in[p] == "" {
				patterns = append(patterns, p)
				in[p] = map[bool]string{true: "old", false: "new"}[s == o]
			} else if in[p] == "old" && s == n {
				in[p] = "both"
			}
		}
	}
	c.Kind = KindNeutral
	examples := map[Kind]*Example{}
	for _, p := range patterns {
		var ws, ns []verdict
		if n != nil && n.effect == "Allow" && slices.Contains(n.actions, p) {
			ws = append(ws, wid.allowGrows(n, p))
		}
		if o != nil && o.effect == "Deny" && slices.Contains(o.actions, p) {
			ws = append(ws, wid.denyShrinks(o, p))
		}
		if o != nil && o.effect == "Allow" && slices.Contains(o.actions, p) {
			ns = append(ns, nar.allowGrows(o, p))
		}
		if n != nil && n.effect == "Deny" && slices.Contains(n.actions, p) {
			ns = append(ns, nar.denyShrinks(n, p))
		}
		ac := ActionChange{Action: p, Service: strings.SplitN(p, ":", 2)[0], In: in[p]}
		var ex *Example
		ac.Kind, ac.Reason, ex = kindOf(ws, ns)
		if examples[ac.Kind] == nil {
			examples[ac.Kind] = ex
		}
		if ac.Kind.Widens() {
			ac.APIs = imsAPIs(cat, p)
		}
		if ac.Kind.rank() < c.Kind.rank() {
			c.Kind = ac.Kind
		}
		c.Actions = append(c.Actions, ac)
	}
	c.Example = examples[c.Kind]
	if o != nil && n != nil {
		c.Conditions = conditionChanges(o, n)
		if o.scope.String() != n.scope.String() {
			c.Scope = o.scope.String() + " → " + n.scope.String()
		}
	}
	c.Reason = reason(c, o, n)
	return c
}

// kindOf combines the verdicts of one pattern, widening ones (ws) first, with the
// request that shows a widening or narrowing.
func kindOf(ws, ns []verdict) (Kind, string, *Example) {
	for _, v := range ws {
		if v.proven {
			return KindWiden, "allows a request the old policies did not", &Example{Request: *v.witness, Old: v.before, New: v.after}
		}
	}
	for _, v := range ws {
		if v.grows {
			return KindUnproven, "not provably narrower: " + v.why, nil
		}
	}
	var why []string
	for _, v := range ws {
		why = append(why, v.why)
	}
	for _, v := range ns {
		if v.proven {
			// narrowing: the old side allowed it, the new does not
			return KindNarrow, "denies a request the old policies allowed", &Example{Request: *v.witness, Old: authz.Allow, New: v.before}
		}
	}
	for _, v := range ns {
		if v.grows {
			return KindNarrow, "allows nothing new; may deny what was allowed", nil
		}
	}
	for _, v := range ns {
		why = append(why, v.why)
	}
	return KindNeutral, "decides every request as before (" + strings.Join(why, "; ") + ")", nil
}

// imsAPIs lists the catalog sections of the IMS APIs whose actions a pattern matches.
func imsAPIs(cat *actions.Catalog, p string) []string {
	if cat == nil {
		return nil
	}
	var out []string
	for _, api := range cat.APIs() {
		for _, a := range api.AllActions() {
			if actionMatch(p, strings.ToLower(a)) {
				out = append(out, api.Section)
				break
			}
		}
	}
	return out
}

// skippedChanges lists what the engine does not evaluate and changed: never neutral.
func skippedChanges(name string, old, cur *model) []Change {
	has := func(m *model, key string) bool {
		for _, s := range m.skipped {
			if s.key == key {
				return true
			}
		}
		return false
	}
	var out []Change
	for _, s := range cur.skipped {
		if !has(old, s.key) {
			st := &Statement{Origin: s.origin}
			out = append(out, Change{Kind: KindUnproven, Principal: name, What: "not evaluated", New: st, Actions: []ActionChange{},
				Reason: s.what + " is new or changed; imsguard cannot judge it, so it is not provably narrower"})
		}
	}
	for _, s := range old.skipped {
		if !has(cur, s.key) {
			st := &Statement{Origin: s.origin}
			out = append(out, Change{Kind: KindNarrow, Principal: name, What: "not evaluated", Old: st, Actions: []ActionChange{},
				Reason: s.what + " is gone; imsguard did not evaluate it"})
		}
	}
	return out
}

func statementOf(s *stmt) *Statement {
	st := &Statement{Origin: s.origin, Effect: s.effect, Actions: s.actions, Conditions: s.condWords(), Scope: s.scope.String()}
	for _, p := range s.conds {
		vals := p.Values
		if vals == nil {
			vals = []string{}
		}
		st.Predicates = append(st.Predicates, PredicateText{Operator: p.Operator.Written, Key: p.Written, Values: vals})
	}
	for _, r := range s.res {
		st.Resources = append(st.Resources, strings.Join(r[:], ":"))
	}
	return st
}

// sortChanges orders changes: most severe first, then by principal, file and statement.
func sortChanges(cs []Change) {
	at := func(c Change) Origin {
		if c.New != nil {
			return c.New.Origin
		}
		if c.Old != nil {
			return c.Old.Origin
		}
		return Origin{}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.Kind.rank() != b.Kind.rank() {
			return a.Kind.rank() < b.Kind.rank()
		}
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		oa, ob := at(a), at(b)
		if oa.Policy != ob.Policy {
			return oa.Policy < ob.Policy
		}
		return oa.Statement < ob.Statement
	})
}
