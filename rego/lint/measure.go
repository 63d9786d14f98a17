package lint

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/imsguard/imsguard/policy"
)

// Lexical measurements the lint input carries. They describe what is written (lengths,
// character classes, segment counts, whether a value parses as a type) and never decide
// whether that is a problem: the Rego rules do, against the spec, the family and the limit
// profile.

// actionAlphabet reports whether r may appear in an action segment (spec 4.1: ASCII
// letters, digits, '_', '-', and the wildcards '*' and '?').
func actionAlphabet(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '_' || r == '-' || r == '*' || r == '?')
}

// resourceAlphabet reports whether r may appear in a resource (spec 6.1: letters, digits,
// "- _ * . / \", and ':' between and inside the segments).
func resourceAlphabet(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune(`-_*./\:`, r))
}

// valueAlphabet reports whether r is in the documented condition-value set (spec 5.7:
// letters, digits and "- , . / _ @ # $ % &") widened by ": + * ?", which dates and
// StringMatch patterns need.
func valueAlphabet(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-,./_@#$%&:+*?", r)
}

// outside returns the distinct characters of s (skipping skip) for which ok is false, in
// order of first appearance, at most 8 of them.
func outside(s string, ok func(rune) bool, skip rune) string {
	var b []rune
	for _, r := range s {
		if r == skip || ok(r) {
			continue
		}
		dup := false
		for _, x := range b {
			if x == r {
				dup = true
				break
			}
		}
		if !dup {
			b = append(b, r)
			if len(b) == 8 {
				break
			}
		}
	}
	return string(b)
}

// hasControl reports whether s contains a control character.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// hasUpper reports whether s contains an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// valueParses reports which operator types (spec 5.6) a condition value parses as, using the
// same parsers as the decision engine.
type valueParses struct{ number, date, boolean, ip bool }

// is reports whether the value passes the named parse (number, date, boolean or ip).
func (p valueParses) is(parse string) bool {
	switch parse {
	case "number":
		return p.number
	case "date":
		return p.date
	case "boolean":
		return p.boolean
	case "ip":
		return p.ip
	}
	return false
}

func parseValue(v string) valueParses {
	var p valueParses
	_, err := policy.ParseNumberValue(v)
	p.number = err == nil
	if len(v) >= 20 && v[4] == '-' {
		_, err := policy.ParseDateValue(v)
		p.date = err == nil
	}
	_, err = policy.ParseBoolValue(v)
	p.boolean = err == nil
	_, err = policy.ParseIPValue(v)
	p.ip = err == nil
	return p
}

// minifiedLen is the spec 8 policy size: Unicode code points of the minified JSON
// serialisation of n (duplicate keys counted as written, strings with the minimal escapes).
func minifiedLen(n *policy.Node) int {
	if n == nil {
		return 0
	}
	switch n.Kind {
	case policy.KindNull:
		return 4
	case policy.KindBool:
		if n.Bool {
			return 4
		}
		return 5
	case policy.KindNumber:
		return len(n.Str)
	case policy.KindString:
		return jsonStringLen(n.Str)
	case policy.KindArray:
		size := 2 + max(len(n.Items)-1, 0)
		for _, it := range n.Items {
			size += minifiedLen(it)
		}
		return size
	default:
		size := 2 + max(len(n.Members)-1, 0)
		for _, m := range n.Members {
			size += jsonStringLen(m.Key) + 1 + minifiedLen(m.Value)
		}
		return size
	}
}

// jsonStringLen is the length in code points of s encoded as a JSON string.
func jsonStringLen(s string) int {
	size := 2
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
			size += 2
		case r < 0x20:
			size += 6
		default:
			size++
		}
	}
	return size
}

// segmentGlob matches an action pattern against a name, both lower case, segment by segment
// (spec 4.3): '*' matches any run within a segment, '?' one character; neither crosses ':'.
func segmentGlob(pattern, name string) bool {
	for {
		p, prest, pmore := strings.Cut(pattern, ":")
		n, nrest, nmore := strings.Cut(name, ":")
		if pmore != nmore || !glob(p, n) {
			return false
		}
		if !pmore {
			return true
		}
		pattern, name = prest, nrest
	}
}

// glob matches one segment: '*' any run, '?' one character (byte-wise on ASCII, which is all
// an action may hold; other bytes compare literally).
func glob(p, s string) bool {
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(s) {
		switch {
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case i < len(p) && (p[i] == '?' || p[i] == s[j]):
			i++
			j++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}
