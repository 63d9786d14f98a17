package policy

import (
	"slices"
	"sort"
	"strings"
)

// Truth is the answer of a decision that may not be able to tell: True and False are
// proven (False with a counterexample), Unknown is neither.
type Truth int8

// The answers.
const (
	Unknown Truth = iota
	True
	False
)

// String returns "true", "false" or "unknown".
func (t Truth) String() string {
	switch t {
	case True:
		return "true"
	case False:
		return "false"
	}
	return "unknown"
}

func truth(b bool) Truth {
	if b {
		return True
	}
	return False
}

func truthOrUnknown(b bool) Truth {
	if b {
		return True
	}
	return Unknown
}

// maxPairs bounds the two-value requests tried when looking for a counterexample.
const maxPairs = 4000

// Implies decides whether every request that satisfies all of ps satisfies q; ps and q
// are predicates on one key. False comes with the request values of a counterexample
// (nil: the key absent).
//
// q admits nothing more than ps exactly when Implies(ps, q) is True; read the other way
// round, Implies([]Predicate{newP}, oldP) not True means the new condition may widen.
func Implies(ps []Predicate, q Predicate) (Truth, []string) {
	allAbsent := true
	for _, p := range ps {
		allAbsent = allAbsent && p.Absent
	}
	if allAbsent && !q.Absent {
		return False, nil
	}
	if presentImplies(ps, q) {
		return True, nil
	}
	pool := pool(append(append([]Predicate(nil), ps...), q))
	notQ := func(v string) bool { return !q.Set.Has(v) }
	var vals []string
	var ok bool
	if q.All {
		vals, ok = satisfy(ps, pool, nil, notQ) // one value outside q's set fails q
	} else {
		vals, ok = satisfy(ps, pool, notQ, nil) // every value outside q's set fails q
	}
	if ok && holdsAll(ps, vals) && !q.Holds(vals) {
		return False, vals
	}
	return Unknown, nil
}

// presentImplies proves that request values (one or more) satisfying ps satisfy q.
func presentImplies(ps []Predicate, q Predicate) bool {
	if q.Set.IsAll() {
		return true
	}
	var all []ValueSet
	for _, p := range ps {
		if p.Set.IsEmpty() {
			return true // ps reject every present value
		}
		if (p.All || !q.All) && subsetTrue(p.Set, q.Set) {
			return true
		}
		if p.All {
			all = append(all, p.Set)
		}
	}
	// every value lies in each ForAllValues set: their intersection must be inside q
	if len(all) > 1 {
		if in, ok := intersectAll(all); ok && subsetTrue(in, q.Set) {
			return true
		}
	}
	return false
}

func subsetTrue(a, b ValueSet) bool {
	t, _ := a.Subset(b)
	return t == True
}

// intersectAll intersects sets of one non-string domain.
func intersectAll(sets []ValueSet) (ValueSet, bool) {
	out := sets[0]
	for _, s := range sets[1:] {
		if s.dom != out.dom {
			return ValueSet{}, false
		}
		switch s.dom {
		case DomainIP:
			out.ip = out.ip.intersect(s.ip)
		case DomainNumber, DomainDate:
			out.num = out.num.intersect(s.num)
			out.overflow = out.overflow && s.overflow
		default:
			return ValueSet{}, false
		}
	}
	return out, true
}

func holdsAll(ps []Predicate, vals []string) bool {
	for _, p := range ps {
		if !p.Holds(vals) {
			return false
		}
	}
	return true
}

// pool is the sample values of the predicates' sets.
func pool(ps []Predicate) []string {
	sets := make([]ValueSet, len(ps))
	for i, p := range ps {
		sets[i] = p.Set
	}
	return Samples(sets...)
}

// satisfy builds present request values for one key that satisfy all of ps, from the
// sample pool: every value passes the ForAllValues predicates and keep (if set), each
// other predicate gets a value of its own, and must (if set) one more.
func satisfy(ps []Predicate, pool []string, keep, must func(string) bool) ([]string, bool) {
	ok := func(v string) bool {
		if keep != nil && !keep(v) {
			return false
		}
		for _, p := range ps {
			if p.All && !p.Set.Has(v) {
				return false
			}
		}
		return true
	}
	var vals []string
	pick := func(test func(string) bool) bool {
		for _, v := range pool {
			if ok(v) && test(v) {
				if !slices.Contains(vals, v) {
					vals = append(vals, v)
				}
				return true
			}
		}
		return false
	}
	for _, p := range ps {
		if !p.All && !pick(p.Set.Has) {
			return nil, false
		}
	}
	if must != nil && !pick(must) {
		return nil, false
	}
	if len(vals) == 0 && !pick(func(string) bool { return true }) {
		return nil, false
	}
	return vals, true
}

// Candidates returns request values for one key that together exercise every predicate
// of ps the ways it can go: the key absent, each sample value alone and pairs of them.
// Values every predicate treats alike are kept once.
func Candidates(ps []Predicate) [][]string {
	sets := make([]ValueSet, len(ps))
	for i, p := range ps {
		sets[i] = p.Set
	}
	var singles []string
	seen := map[string]bool{}
	for _, v := range Samples(sets...) {
		var sig strings.Builder
		for _, s := range sets {
			if s.Has(v) {
				sig.WriteByte('1')
			} else {
				sig.WriteByte('0')
			}
		}
		if !seen[sig.String()] {
			seen[sig.String()] = true
			singles = append(singles, v)
		}
	}
	out := [][]string{nil}
	for _, v := range singles {
		out = append(out, []string{v})
	}
	if len(ps) < 2 && !anyAll(ps) {
		return out // one predicate without ForAllValues passes a list exactly when it passes one of its values
	}
	n := 0
	for i := range singles {
		for j := i + 1; j < len(singles) && n < maxPairs; j++ {
			out = append(out, []string{singles[i], singles[j]})
			n++
		}
	}
	return out
}

func anyAll(ps []Predicate) bool {
	for _, p := range ps {
		if p.All {
			return true
		}
	}
	return false
}

// ByKey groups predicates by key, keys sorted.
func ByKey(ps []Predicate) ([]string, map[string][]Predicate) {
	m := map[string][]Predicate{}
	for _, p := range ps {
		m[p.Key] = append(m[p.Key], p)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, m
}

// Context is request context: lower-case condition keys and their values; a key that
// is missing is absent.
type Context map[string][]string

// ImpliesAll decides whether every request context satisfying all of ps (a Condition's
// predicates, any keys) satisfies all of qs. False comes with a counterexample.
func ImpliesAll(ps, qs []Predicate) (Truth, Context) {
	_, pk := ByKey(ps)
	qkeys, qk := ByKey(qs)
	result := True
	for _, k := range qkeys {
		for _, q := range qk[k] {
			t, vals := Implies(pk[k], q)
			switch t {
			case True:
				continue
			case False:
				if ctx, ok := satisfyOthers(pk, k); ok {
					ctx.set(k, vals)
					return False, ctx
				}
			}
			result = Unknown
		}
	}
	return result, nil
}

// Satisfiable decides whether some request context satisfies all of ps; True comes with
// one.
func Satisfiable(ps []Predicate) (Truth, Context) {
	keys, pk := ByKey(ps)
	ctx := Context{}
	for _, k := range keys {
		vals, ok := satisfyKey(pk[k])
		if !ok {
			if unsatisfiable(pk[k]) {
				return False, nil
			}
			return Unknown, nil
		}
		ctx.set(k, vals)
	}
	return True, ctx
}

// satisfyKey finds values of one key satisfying all of ps: absent when that does, else
// values from the samples.
func satisfyKey(ps []Predicate) ([]string, bool) {
	if holdsAll(ps, nil) {
		return nil, true
	}
	vals, ok := satisfy(ps, pool(ps), nil, nil)
	return vals, ok && holdsAll(ps, vals)
}

// unsatisfiable proves that no values of one key satisfy all of ps: the key must be
// present (some predicate is false on an absent key), and then no value list passes.
func unsatisfiable(ps []Predicate) bool {
	present := false
	for _, p := range ps {
		present = present || !p.Absent
	}
	if !present {
		return false
	}
	for i, p := range ps {
		if p.Set.IsEmpty() {
			return true
		}
		for _, q := range ps[i+1:] {
			if p.All || q.All {
				if t, _ := p.Set.Disjoint(q.Set); t == True {
					return true
				}
			}
		}
	}
	return false
}

// satisfyOthers finds values satisfying the predicates of every key but skip.
func satisfyOthers(pk map[string][]Predicate, skip string) (Context, bool) {
	ctx := Context{}
	for k, ps := range pk {
		if k == skip {
			continue
		}
		vals, ok := satisfyKey(ps)
		if !ok {
			return nil, false
		}
		ctx.set(k, vals)
	}
	return ctx, true
}

func (c Context) set(k string, vals []string) {
	if vals != nil {
		c[k] = vals
	}
}

// Holds reports whether the context satisfies all of ps.
func (c Context) Holds(ps []Predicate) bool {
	for _, p := range ps {
		if !p.Holds(c[p.Key]) {
			return false
		}
	}
	return true
}
