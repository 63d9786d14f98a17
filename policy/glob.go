package policy

import "strings"

// Glob patterns as the decision engine matches them: '*' matches any run of characters
// (possibly empty), '?' exactly one character, every other character itself. Action
// segments (spec §4.3) and StringMatch values (spec §5.3) use them.

// GlobMatch reports whether s matches pattern.
func GlobMatch(pattern, s string) bool {
	p, r := []rune(pattern), []rune(s)
	pi, ri := 0, 0
	star, mark := -1, 0
	for ri < len(r) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == r[ri]) && p[pi] != '*':
			pi++
			ri++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ri
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ri = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// ActionMatch reports whether the action pattern matches the action segment by segment
// (spec §4.3): GlobMatch on each ':'-separated segment, so a wildcard never crosses ':',
// and a different number of segments never matches. Case counts: callers compare lower
// case.
func ActionMatch(pattern, action string) bool { return SegmentsMatch(pattern, action, GlobMatch) }

// SegmentsMatch reports whether p and q have as many ':'-separated segments and match
// holds for each pair of segments in turn (GlobMatch, GlobSubset, GlobsOverlap, ...).
func SegmentsMatch(p, q string, match func(p, q string) bool) bool {
	for {
		ps, prest, pmore := strings.Cut(p, ":")
		qs, qrest, qmore := strings.Cut(q, ":")
		if pmore != qmore || !match(ps, qs) {
			return false
		}
		if !pmore {
			return true
		}
		p, q = prest, qrest
	}
}

// maxGlobWork bounds the table the glob comparisons fill (pattern length × pattern
// length); beyond it they give their cautious answer.
const maxGlobWork = 1 << 20

// GlobSubset reports whether every string matching p also matches q, as far as it can be
// shown by matching p's wildcards with q's: true is a proof, false means "not shown"
// (almost always: not a subset).
func GlobSubset(p, q string) bool {
	ps, qs := []rune(p), []rune(q)
	if (len(ps)+1)*(len(qs)+1) > maxGlobWork {
		return false
	}
	memo := map[[2]int]bool{}
	var sub func(i, j int) bool
	sub = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var v bool
		switch {
		case j < len(qs) && qs[j] == '*':
			// q's star absorbs nothing, or p's next symbol (a character or a wildcard)
			v = sub(i, j+1) || (i < len(ps) && sub(i+1, j))
		case i == len(ps) || j == len(qs):
			v = i == len(ps) && j == len(qs)
		case ps[i] == '*':
			v = false // only a star of q covers a star of p
		case qs[j] == '?':
			v = sub(i+1, j+1) // a character or a '?' of p
		case ps[i] == '?':
			v = false
		default:
			v = ps[i] == qs[j] && sub(i+1, j+1)
		}
		memo[k] = v
		return v
	}
	return sub(0, 0)
}

// GlobsOverlap reports whether some string matches both p and q (true, the cautious
// answer, for patterns too long to compare).
func GlobsOverlap(p, q string) bool {
	ps, qs := []rune(p), []rune(q)
	if (len(ps)+1)*(len(qs)+1) > maxGlobWork {
		return true
	}
	memo := map[[2]int]bool{}
	var ov func(i, j int) bool
	ov = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var v bool
		switch {
		case i < len(ps) && ps[i] == '*':
			v = ov(i+1, j) || (j < len(qs) && ov(i, j+1))
		case j < len(qs) && qs[j] == '*':
			v = ov(i, j+1) || (i < len(ps) && ov(i+1, j))
		case i == len(ps) || j == len(qs):
			v = i == len(ps) && j == len(qs)
		case ps[i] == '?' || qs[j] == '?' || ps[i] == qs[j]:
			v = ov(i+1, j+1)
		}
		memo[k] = v
		return v
	}
	return ov(0, 0)
}

// globLiterals returns the characters before the first wildcard, after the last one, and
// every run of characters between wildcards.
func globLiterals(p string) (prefix, suffix string, runs []string) {
	rs := []rune(p)
	start := 0
	first := true
	for i := 0; i <= len(rs); i++ {
		if i < len(rs) && rs[i] != '*' && rs[i] != '?' {
			continue
		}
		run := string(rs[start:i])
		if first {
			prefix, first = run, false
		}
		if run != "" {
			runs = append(runs, run)
		}
		suffix = run
		start = i + 1
	}
	return prefix, suffix, runs
}

// hasWildcard reports whether p holds '*' or '?'.
func hasWildcard(p string) bool {
	for _, r := range p {
		if r == '*' || r == '?' {
			return true
		}
	}
	return false
}

// onlyStars reports whether p is one or more '*' (it matches every string).
func onlyStars(p string) bool {
	if p == "" {
		return false
	}
	for _, r := range p {
		if r != '*' {
			return false
		}
	}
	return true
}

// globInstances returns strings matching p: its wildcards filled with nothing, with one
// character, and with fill.
func globInstances(p, fill string) []string {
	var a, b, c []rune
	for _, r := range p {
		switch r {
		case '*':
			b = append(b, []rune(fill)...)
			c = append(c, 'q')
		case '?':
			a = append(a, 'q')
			b = append(b, []rune(fill)[:1]...)
			c = append(c, 'q')
		default:
			a, b, c = append(a, r), append(b, r), append(c, r)
		}
	}
	return []string{string(a), string(b), string(c)}
}
