package diff

import (
	"strconv"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

// Kind is what a change does to access.
type Kind string

// The kinds of change, from the one that fails a gate first.
const (
	// KindWiden: a request the old policies denied is now allowed (the change names it).
	KindWiden Kind = "widen"
	// KindUnproven: changed, and not provably narrower; a gate counts it as a widening.
	KindUnproven Kind = "changed-unproven"
	// KindNarrow: proven to allow nothing new, and something is (or may be) denied now
	// that was allowed.
	KindNarrow Kind = "narrow"
	// KindNeutral: written differently, proven to decide every request as before.
	KindNeutral Kind = "neutral"
)

// rank orders kinds from the most severe.
func (k Kind) rank() int {
	switch k {
	case KindWiden:
		return 0
	case KindUnproven:
		return 1
	case KindNarrow:
		return 2
	}
	return 3
}

// Widens reports whether a gate fails on the kind.
func (k Kind) Widens() bool { return k == KindWiden || k == KindUnproven }

// verdict is the answer for one piece of a statement: one action pattern of it.
type verdict struct {
	grows   bool     // the piece may let more through (towards the side asked about)
	proven  bool     // grows is proven: witness holds a request
	witness *Request // a request the target side allows and the other did not
	before  authz.Effect
	after   authz.Effect
	why     string
}

// pair is the two sides of one unit: from → to.
type pair struct {
	from, to *model
	sp       *space
}

// allowGrows asks whether the Allow statement s of the to-side, restricted to pattern p,
// allows a request the from-side did not.
func (pr pair) allowGrows(s *stmt, p string) verdict {
	for _, t := range pr.from.stmts {
		if t.effect == "Allow" && within(s, p, t) {
			return verdict{why: "inside " + ref(t) + " of the other side"}
		}
	}
	for _, d := range pr.to.stmts {
		if d.effect == "Deny" && within(s, p, d) {
			return verdict{why: "denied by " + ref(d)}
		}
	}
	if unionCovers(s, p, pr.from) {
		return verdict{why: "inside Allows of the other side that differ on one condition key"}
	}
	return pr.search(s, p, "no Allow on the other side provably covers it")
}

// unionCovers proves piece (s, p) inside several Allows of m together, in the common
// case of a statement merged from statements that differ on one condition key: each
// covers s but for its one predicate on key k (no ForAllValues), and s's single
// predicate on k admits only values one of them admits.
func unionCovers(s *stmt, p string, m *model) bool {
	_, mine := policy.ByKey(s.conds)
	for k, qs := range mine {
		if len(qs) != 1 {
			continue
		}
		q := qs[0]
		var union policy.ValueSet
		have, absent := false, false
		for _, t := range m.stmts {
			if t.effect != "Allow" || !s.scope.within(t.scope) || !resWithin(s.res, t.res) || !patternInside(p, t.actions) {
				continue
			}
			var onK, others []policy.Predicate
			for _, c := range t.conds {
				if c.Key == k {
					onK = append(onK, c)
				} else {
					others = append(others, c)
				}
			}
			if len(onK) != 1 || onK[0].All {
				continue
			}
			if ok, _ := policy.ImpliesAll(s.conds, others); ok != policy.True {
				continue
			}
			if !have {
				union, have = onK[0].Set, true
			} else if u, ok := union.Union(onK[0].Set); ok {
				union = u
			} else {
				continue
			}
			absent = absent || onK[0].Absent
		}
		if !have || (q.Absent && !absent) {
			continue
		}
		if in, _ := q.Set.Subset(union); in == policy.True {
			return true
		}
	}
	return false
}

// denyShrinks asks whether the Deny statement d of the from-side, restricted to pattern
// p, denied a request the to-side allows.
func (pr pair) denyShrinks(d *stmt, p string) verdict {
	for _, e := range pr.to.stmts {
		if e.effect == "Deny" && within(d, p, e) {
			return verdict{why: "still denied by " + ref(e)}
		}
	}
	all := true
	for _, s := range pr.to.stmts {
		if s.effect != "Allow" || disjointPiece(d, p, s) {
			continue
		}
		covered := false
		for _, e := range pr.to.stmts {
			if e.effect == "Deny" && pairWithin(d, p, s, e) {
				covered = true
				break
			}
		}
		if !covered {
			all = false
			break
		}
	}
	if all {
		return verdict{why: "no Allow of the other side reaches what it denied"}
	}
	return pr.search(d, p, "an Allow of the other side may reach what it denied")
}

// search looks for a request inside the piece that the to-side allows and the from-side
// did not; without one the piece may still grow (not proven either way).
func (pr pair) search(s *stmt, p, why string) verdict {
	var before authz.Effect
	r, ok := pr.sp.find(s, p, func(r Request) bool {
		if pr.to.decide(r) != authz.Allow {
			return false
		}
		before = pr.from.decide(r)
		return before != authz.Allow
	})
	if !ok {
		return verdict{grows: true, why: why + "; no counterexample found either"}
	}
	r = pr.sp.spelled(r)
	return verdict{grows: true, proven: true, witness: &r, before: before, after: authz.Allow}
}

// within reports whether piece (s, p) provably lies inside statement t: scope, action
// pattern, resources and condition.
func within(s *stmt, p string, t *stmt) bool {
	if !s.scope.within(t.scope) || !resWithin(s.res, t.res) || !patternInside(p, t.actions) {
		return false
	}
	ok, _ := policy.ImpliesAll(s.conds, t.conds)
	return ok == policy.True
}

func patternInside(p string, patterns []string) bool {
	for _, q := range patterns {
		if patternWithin(p, q) {
			return true
		}
	}
	return false
}

// disjointPiece reports whether no request is in both piece (d, p) and statement s.
func disjointPiece(d *stmt, p string, s *stmt) bool {
	if d.scope.disjoint(s.scope) {
		return true
	}
	overlap := false
	for _, q := range s.actions {
		overlap = overlap || patternsOverlap(p, q)
	}
	if !overlap {
		return true
	}
	sat, _ := policy.Satisfiable(append(append([]policy.Predicate(nil), d.conds...), s.conds...))
	return sat == policy.False
}

// pairWithin reports whether the requests in both piece (d, p) and statement s provably
// lie inside statement e.
func pairWithin(d *stmt, p string, s *stmt, e *stmt) bool {
	if !d.scope.within(e.scope) && !s.scope.within(e.scope) {
		return false
	}
	if !resWithin(d.res, e.res) && !resWithin(s.res, e.res) {
		return false
	}
	if !patternInside(p, e.actions) {
		for _, q := range s.actions {
			if patternsOverlap(p, q) && !patternInside(q, e.actions) {
				return false
			}
		}
	}
	ok, _ := policy.ImpliesAll(append(append([]policy.Predicate(nil), d.conds...), s.conds...), e.conds)
	return ok == policy.True
}

// ref names a statement for reasons.
func ref(s *stmt) string {
	return s.origin.Policy + " statement " + itoa(s.origin.Statement)
}

func itoa(i int) string { return strconv.Itoa(i) }
