package policy

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// atomKind is how one string condition value tests a request value (spec §5.3, §5.4).
type atomKind uint8

// The string tests, as the decision engine runs them (authz: base functions).
const (
	atomEq         atomKind = iota // v == x (StringEquals)
	atomEqCI                       // lower(v) == x (…IgnoreCase, Bool)
	atomPrefixCI                   // lower(v) starts with x (StringStartWith)
	atomSuffixCI                   // lower(v) ends with x (StringEndWith)
	atomContainsCI                 // lower(v) contains x (StringLike)
	atomGlob                       // v matches the pattern x (StringMatch)
)

var atomNames = [...]string{"eq", "ci", "prefix", "suffix", "contains", "glob"}

// strAtom is one string test. x is lower case for the case-insensitive tests.
type strAtom struct {
	kind atomKind
	x    string
}

func (a strAtom) match(v string) bool {
	switch a.kind {
	case atomEq:
		return v == a.x
	case atomEqCI:
		return strings.ToLower(v) == a.x
	case atomPrefixCI:
		return strings.HasPrefix(strings.ToLower(v), a.x)
	case atomSuffixCI:
		return strings.HasSuffix(strings.ToLower(v), a.x)
	case atomContainsCI:
		return strings.Contains(strings.ToLower(v), a.x)
	default:
		return GlobMatch(a.x, v)
	}
}

// universal reports whether every string passes the test.
func (a strAtom) universal() bool {
	switch a.kind {
	case atomPrefixCI, atomSuffixCI, atomContainsCI:
		return a.x == ""
	case atomGlob:
		return onlyStars(a.x)
	}
	return false
}

// strSet is a set of strings: those passing some atom, or (neg) those passing none.
type strSet struct {
	neg   bool
	atoms []strAtom
}

var (
	allStrings = strSet{neg: true}
	noStrings  = strSet{}
)

// newStrSet normalizes: globs without wildcards become equality, a universal atom makes
// the set everything (or, negated, nothing), atoms are sorted and unique.
func newStrSet(neg bool, atoms []strAtom) strSet {
	var out []strAtom
	for _, a := range atoms {
		if a.kind == atomGlob && !hasWildcard(a.x) {
			a.kind = atomEq
		}
		if a.universal() {
			if neg {
				return noStrings
			}
			return allStrings
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return out[i].kind < out[j].kind
		}
		return out[i].x < out[j].x
	})
	uniq := out[:0]
	for i, a := range out {
		if i == 0 || a != out[i-1] {
			uniq = append(uniq, a)
		}
	}
	return strSet{neg: neg, atoms: uniq}
}

func (s strSet) has(v string) bool {
	for _, a := range s.atoms {
		if a.match(v) {
			return !s.neg
		}
	}
	return s.neg
}

func (s strSet) isEmpty() bool { return !s.neg && len(s.atoms) == 0 }

func (s strSet) isAll() bool { return s.neg && len(s.atoms) == 0 }

// finite reports whether the set is a list of exact strings.
func (s strSet) finite() bool { return !s.neg && s.onlyEq() }

// cofinite reports whether the set is everything but a list of exact strings.
func (s strSet) cofinite() bool { return s.neg && s.onlyEq() }

func (s strSet) onlyEq() bool {
	for _, a := range s.atoms {
		if a.kind != atomEq {
			return false
		}
	}
	return true
}

// flip is the complement.
func (s strSet) flip() strSet { return strSet{neg: !s.neg, atoms: s.atoms} }

// atomSubset decides whether every string passing a passes b; unknown when the rules
// below cannot tell (the caller then looks for a counterexample).
func atomSubset(a, b strAtom) Truth {
	if b.universal() {
		return True
	}
	if a.kind == atomEq {
		return truth(b.match(a.x))
	}
	if a.kind == atomEqCI {
		// every member lower-cases to a.x
		switch b.kind {
		case atomEqCI:
			return truth(a.x == b.x)
		case atomPrefixCI:
			return truth(strings.HasPrefix(a.x, b.x))
		case atomSuffixCI:
			return truth(strings.HasSuffix(a.x, b.x))
		case atomContainsCI:
			return truth(strings.Contains(a.x, b.x))
		}
		return Unknown
	}
	switch {
	case a.kind == atomPrefixCI && b.kind == atomPrefixCI:
		return truthOrUnknown(strings.HasPrefix(a.x, b.x))
	case a.kind == atomSuffixCI && b.kind == atomSuffixCI:
		return truthOrUnknown(strings.HasSuffix(a.x, b.x))
	case a.kind != atomGlob && b.kind == atomContainsCI:
		return truthOrUnknown(strings.Contains(a.x, b.x))
	case a.kind == atomGlob && b.kind == atomGlob:
		return truthOrUnknown(GlobSubset(a.x, b.x))
	case a.kind == atomGlob:
		pre, suf, runs := globLiterals(a.x)
		switch b.kind {
		case atomPrefixCI:
			return truthOrUnknown(strings.HasPrefix(strings.ToLower(pre), b.x))
		case atomSuffixCI:
			return truthOrUnknown(strings.HasSuffix(strings.ToLower(suf), b.x))
		case atomContainsCI:
			for _, r := range runs {
				if strings.Contains(strings.ToLower(r), b.x) {
					return True
				}
			}
		}
	}
	return Unknown
}

// atomDisjoint decides whether no string passes both a and b.
func atomDisjoint(a, b strAtom) Truth {
	if a.kind > b.kind {
		a, b = b, a
	}
	switch {
	case a.kind == atomEq:
		return truth(!b.match(a.x))
	case a.kind == atomEqCI && b.kind != atomGlob:
		// every member of a lower-cases to a.x; b's tests read the lower-case form
		return truth(!b.match(a.x))
	case a.kind == atomPrefixCI && b.kind == atomPrefixCI:
		return truth(!strings.HasPrefix(a.x, b.x) && !strings.HasPrefix(b.x, a.x))
	case a.kind == atomSuffixCI && b.kind == atomSuffixCI:
		return truth(!strings.HasSuffix(a.x, b.x) && !strings.HasSuffix(b.x, a.x))
	case a.kind >= atomPrefixCI && b.kind >= atomPrefixCI && b.kind <= atomContainsCI:
		return False // a string can start with one and end with or contain the other
	case a.kind == atomGlob && b.kind == atomGlob:
		return truth(!GlobsOverlap(a.x, b.x))
	}
	return Unknown
}

// strSubset decides s ⊆ t for string sets; witness search is the caller's.
func strSubset(s, t strSet) Truth {
	switch {
	case s.isEmpty() || t.isAll():
		return True
	case s.finite():
		for _, a := range s.atoms {
			if !t.has(a.x) {
				return False
			}
		}
		return True
	case t.cofinite():
		for _, a := range t.atoms {
			if s.has(a.x) {
				return False
			}
		}
		return True
	case !s.neg && !t.neg:
		return everyAtom(s.atoms, t.atoms, atomSubset)
	case s.neg && t.neg:
		return everyAtom(t.atoms, s.atoms, func(a, b strAtom) Truth { return atomSubset(a, b) })
	case !s.neg && t.neg:
		return allPairs(s.atoms, t.atoms, atomDisjoint)
	}
	return Unknown
}

// strDisjoint decides s ∩ t = ∅ for string sets.
func strDisjoint(s, t strSet) Truth {
	switch {
	case s.isEmpty() || t.isEmpty():
		return True
	case s.finite():
		for _, a := range s.atoms {
			if t.has(a.x) {
				return False
			}
		}
		return True
	case t.finite():
		return strDisjoint(t, s)
	case !s.neg && !t.neg:
		return allPairs(s.atoms, t.atoms, atomDisjoint)
	case !s.neg && t.neg:
		return strSubset(s, t.flip())
	case s.neg && !t.neg:
		return strSubset(t, s.flip())
	}
	return Unknown
}

// everyAtom: every atom of as is (provably) inside some atom of bs.
func everyAtom(as, bs []strAtom, sub func(a, b strAtom) Truth) Truth {
	for _, a := range as {
		found := false
		for _, b := range bs {
			if sub(a, b) == True {
				found = true
				break
			}
		}
		if !found {
			return Unknown
		}
	}
	return True
}

// allPairs: every pair (a, b) is provably disjoint.
func allPairs(as, bs []strAtom, disjoint func(a, b strAtom) Truth) Truth {
	for _, a := range as {
		for _, b := range bs {
			if disjoint(a, b) != True {
				return Unknown
			}
		}
	}
	return True
}

// strSamples returns strings around the atoms of the sets: each value as written, in
// other cases, extended, shortened, and the patterns' instances.
func strSamples(sets ...strSet) []string {
	out := []string{"", "q", "Q", "imsguard-none"}
	for _, s := range sets {
		for _, a := range s.atoms {
			x := a.x
			up := strings.ToUpper(x)
			out = append(out, x, up, x+"q", "q"+x, "q"+x+"q", up+"Q", dropLast(x), dropFirst(x))
			if a.kind == atomGlob {
				out = append(out, globInstances(x, "QzQ")...)
			}
		}
	}
	return out
}

func dropLast(s string) string {
	if s == "" {
		return s
	}
	_, n := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-n]
}

func dropFirst(s string) string {
	if s == "" {
		return s
	}
	_, n := utf8.DecodeRuneInString(s)
	return s[n:]
}

// canonical is a stable text form of the set.
func (s strSet) canonical() string {
	var b strings.Builder
	if s.neg {
		b.WriteString("not")
	}
	for _, a := range s.atoms {
		b.WriteByte('|')
		b.WriteString(atomNames[a.kind])
		b.WriteByte(':')
		b.WriteString(a.x)
	}
	return b.String()
}

// values lists the exact strings of a finite or cofinite set.
func (s strSet) values() []string {
	out := make([]string, len(s.atoms))
	for i, a := range s.atoms {
		out[i] = a.x
	}
	return out
}
