package lint

import (
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/policy"
)

// actionList adds the elements of an Action or NotAction value to the input (a single
// string counts as one element; the statement's field kind tells the rules it was not an
// array).
func (b *inputBuilder) actionList(stmt int, n *policy.Node, field, effect string, conditional bool) {
	if n == nil {
		return
	}
	if n.Kind == policy.KindString {
		b.action(stmt, 0, n, field, effect, conditional)
		return
	}
	for j, it := range n.Items {
		b.action(stmt, j, it, field, effect, conditional)
	}
}

func (b *inputBuilder) action(stmt, j int, n *policy.Node, field, effect string, conditional bool) {
	l := b.l
	items := make([][2]*ast.Term, 7, 8)
	items[0], items[1], items[2], items[3] = l.it("statement", tNum(stmt)), l.it("index", tNum(j)), l.it("field", l.k(field)), l.it("effect", l.k(effect))
	items[4], items[5], items[6] = l.it("conditional", tBool(conditional)), l.it("pointer", tStr(n.Pointer)), l.it("kind", l.kind(n.Kind))
	if n.Kind != policy.KindString {
		b.fact("action_irregular")
		b.actions = append(b.actions, ast.ObjectTerm(items...))
		return
	}
	m := l.actionInfo(n.Str, b.doc.Family)
	for _, f := range m.facts {
		b.fact(f)
	}
	b.raise("action_length", m.length)
	if field == "Action" {
		for _, x := range m.expands {
			switch effect {
			case "Allow":
				b.allowed.add(x)
			case "Deny":
				b.denied.add(x)
				if !conditional {
					b.deniedAlways.add(x)
				}
			}
		}
	}
	if m.service != "" {
		b.services.add(m.service)
	}
	t := ast.ObjectTerm(append(items, l.it("m", m.term))...)
	b.actions = append(b.actions, t)
	if field != "Action" {
		return
	}
	switch effect {
	case "Allow":
		b.ims(m.hasDeps && !m.depsMore, "deps", t)
		b.ims(m.depsMore, "deps_more", t)
		b.ims(m.hasPartial, "partial", t)
		b.ims(m.hasNoEP && b.ep, "no_ep", t)
		if m.hasNoEP && b.ep {
			if b.noEPAPIs == nil {
				b.noEPAPIs = ast.NewSet()
			}
			m.noEP.Foreach(b.noEPAPIs.Add)
		}
	case "Deny":
		b.ims(m.hasGaps, "gaps", t)
	}
}

// imsLists are the list members of input.ims, in order: the Action elements each IMS-aware
// rule concerns (see ims.rego); fact "ims_<name>" records that a list is not empty.
// input.ims.no_ep_apis is the union of the m.no_ep sets of the no_ep elements.
var imsLists = [...]string{"deps", "deps_more", "partial", "gaps", "no_ep"}

// ims adds action element t to input.ims[name] when it concerns that rule.
func (b *inputBuilder) ims(concerns bool, name string, t *ast.Term) {
	if !concerns {
		return
	}
	for i, n := range imsLists {
		if n == name {
			if len(b.imsElems[i]) == 0 {
				b.fact("ims_" + name)
			}
			b.imsElems[i] = append(b.imsElems[i], t)
			return
		}
	}
}

// imsTerm is input.ims (the shared empty one when no element concerns the IMS rules).
func (b *inputBuilder) imsTerm() *ast.Term {
	l := b.l
	empty := true
	for _, e := range b.imsElems {
		empty = empty && len(e) == 0
	}
	if empty {
		return l.noIMS
	}
	items := make([][2]*ast.Term, len(imsLists), len(imsLists)+1)
	for i, n := range imsLists {
		items[i] = l.it(n, ast.ArrayTerm(b.imsElems[i]...))
	}
	noEP := l.emptySet
	if b.noEPAPIs != nil {
		noEP = ast.NewTerm(b.noEPAPIs)
	}
	return ast.ObjectTerm(append(items, l.it("no_ep_apis", noEP))...)
}

// actionMeasure is what the linter derives from one action string in one family.
type actionMeasure struct {
	term    *ast.Term // input.actions[_].m
	facts   []string  // input.has facts the action contributes
	length  int
	service string   // normalized service when it has no wildcard, else ""
	expands []string // known names the action matches
	// hasDeps, hasPartial, hasGaps and hasNoEP: the expansions have entries in the IMS
	// index tables deps, partial, gaps and no_ep (input.ims).
	hasDeps, hasPartial, hasGaps, hasNoEP bool
	// depsMore: some dependency entries apply only when other actions are allowed (m.deps).
	depsMore bool
	noEP     ast.Set // m.no_ep
}

// actionInfo measures an action string (memoized per family and string):
//
//	{value, lower, length, segments, service, service_lower, bad_chars, qmark,
//	 upper_service, wildcard, norm_segments, expands, known, suggestion,
//	 partial, partial_needs, partial_apis, gaps, gaps_needs, deps, deps_direct, deps_direct_apis, no_ep, has_partial,
//	 has_gaps, has_deps, has_no_ep}
//
// partial, gaps and deps are the input.catalog.index entries of the expansions, joined
// once here so the IMS rules need no lookups for actions they cannot concern. The deps
// entries whose needs the action's own expansions cover are merged into deps_direct (the
// union of their dependencies) and deps_direct_apis (their API ids): an Allow of the
// action enables them whatever else the document says; deps keeps the others.
func (l *Linter) actionInfo(v string, fam policy.Family) actionMeasure {
	return l.actionMemo.get(string(fam)+"\x00"+v, func() actionMeasure {
		am := actionMeasure{length: utf8.RuneCountInString(v)}
		segs := strings.Count(v, ":") + 1
		svc, _, _ := strings.Cut(v, ":")
		bad := outside(v, actionAlphabet, ':')
		wildcard := strings.ContainsAny(v, "*?")
		qmark := strings.ContainsRune(v, '?')
		if bad != "" || qmark {
			am.facts = append(am.facts, "action_chars")
		}
		if segs != 3 || strings.HasPrefix(v, ":") || strings.HasSuffix(v, ":") || strings.Contains(v, "::") {
			am.facts = append(am.facts, "action_segments")
		}
		upper := hasUpper(svc)
		if upper {
			am.facts = append(am.facts, "action_upper_service")
		}
		norm := ""
		if fam == policy.FamilyIdentity && v == "*" {
			norm = "*:*:*"
		} else if p, err := policy.NormalizeAction(v, fam); err == nil {
			norm = p
		}
		var normSegs, expands []*ast.Term
		var names []string
		if norm != "" {
			parts := strings.Split(norm, ":")
			normSegs = []*ast.Term{tStr(parts[0]), tStr(parts[1]), tStr(parts[2])}
			if parts[1] == "*" && parts[2] == "*" {
				am.facts = append(am.facts, "action_broad")
			}
			if !strings.ContainsAny(parts[0], "*?") {
				am.service = parts[0]
			}
			names = l.cat.expand(norm)
			am.expands = names
			ims := false
			for _, x := range names {
				expands = append(expands, tStr(x))
				ims = ims || strings.HasPrefix(x, "ims:")
			}
			if ims {
				am.facts = append(am.facts, "ims")
			}
		}
		joined := map[string]*ast.Term{}
		for _, table := range []string{"partial", "gaps"} {
			joined[table] = ast.ArrayTerm(l.cat.joined(table, names)...)
		}
		am.hasPartial = joined["partial"].Value.(*ast.Array).Len() > 0
		am.hasGaps = joined["gaps"].Value.(*ast.Array).Len() > 0
		gapsNeeds := gapNeeds(l, joined["gaps"])
		partialNeeds, partialAPIs := partialJoin(l, joined["partial"])
		direct, directIDs, others := l.cat.splitDeps(names)
		am.hasDeps = direct.Len() > 0 || len(others) > 0
		am.depsMore = len(others) > 0
		noEP := l.cat.noEPIDs(names)
		am.hasNoEP = noEP.Len() > 0
		am.noEP = noEP
		known := len(expands) > 0
		if !known {
			am.facts = append(am.facts, "action_unknown")
		}
		suggestion := ""
		if !known && !wildcard && l.cat.service[strings.ToLower(svc)] {
			suggestion = policy.Nearest(v, l.cat.canon)
		}
		am.term = ast.ObjectTerm(
			l.it("value", tStr(v)), l.it("lower", tStr(strings.ToLower(v))), l.it("length", tNum(am.length)),
			l.it("segments", tNum(segs)), l.it("service", tStr(svc)), l.it("service_lower", tStr(strings.ToLower(svc))),
			l.it("bad_chars", tStr(bad)), l.it("qmark", tBool(qmark)), l.it("upper_service", tBool(upper)),
			l.it("wildcard", tBool(wildcard)), l.it("norm_segments", ast.ArrayTerm(normSegs...)),
			l.it("expands", ast.ArrayTerm(expands...)), l.it("known", tBool(known)), l.it("suggestion", tStr(suggestion)),
			l.it("partial", joined["partial"]), l.it("partial_needs", ast.NewTerm(partialNeeds)),
			l.it("partial_apis", ast.NewTerm(partialAPIs)), l.it("gaps", joined["gaps"]), l.it("gaps_needs", ast.NewTerm(gapsNeeds)),
			l.it("deps", ast.ArrayTerm(others...)),
			l.it("deps_direct", ast.NewTerm(direct)), l.it("deps_direct_apis", ast.NewTerm(directIDs)),
			l.it("no_ep", ast.NewTerm(noEP)), l.it("has_deps", tBool(am.hasDeps)), l.it("has_partial", tBool(am.hasPartial)),
			l.it("has_gaps", tBool(am.hasGaps)), l.it("has_no_ep", tBool(am.hasNoEP)),
		)
		return am
	})
}

// partialJoin returns m.partial_needs (the union of the actions the partial entries need)
// and m.partial_apis (each of those actions -> the ids of the entries' APIs needing it).
// Each id set is complete before it goes into the object: OPA caches a value's hash when
// the value is inserted into an object or set, so a set that grew afterwards would leave
// the object with a stale hash, and two equal objects would count as two.
func partialJoin(l *Linter, partial *ast.Term) (ast.Set, ast.Object) {
	needs := ast.NewSet()
	type apisOf struct {
		need *ast.Term
		ids  ast.Set
	}
	var groups []apisOf
	partial.Value.(*ast.Array).Foreach(func(e *ast.Term) {
		o, ok := e.Value.(ast.Object)
		if !ok {
			return
		}
		ns, ok := o.Get(l.k("needs")).Value.(ast.Set)
		if !ok {
			return
		}
		api := o.Get(l.k("api"))
		ns.Foreach(func(n *ast.Term) {
			needs.Add(n)
			for _, g := range groups {
				if g.need.Equal(n) {
					g.ids.Add(api)
					return
				}
			}
			groups = append(groups, apisOf{n, ast.NewSet(api)})
		})
	})
	apis := ast.NewObject()
	for _, g := range groups {
		apis.Insert(g.need, ast.NewTerm(g.ids))
	}
	return needs, apis
}

// gapNeeds is the union of the actions the other-family APIs of gap entries need: a Deny
// can leave a gap open only if the document allows one of them.
func gapNeeds(l *Linter, gaps *ast.Term) ast.Set {
	out := ast.NewSet()
	gaps.Value.(*ast.Array).Foreach(func(g *ast.Term) {
		o, ok := g.Value.(ast.Object)
		if !ok {
			return
		}
		others, ok := o.Get(l.k("others")).Value.(*ast.Array)
		if !ok {
			return
		}
		others.Foreach(func(e *ast.Term) {
			if eo, ok := e.Value.(ast.Object); ok {
				if needs, ok := eo.Get(l.k("needs")).Value.(ast.Set); ok {
					needs.Foreach(out.Add)
				}
			}
		})
	})
	return out
}
