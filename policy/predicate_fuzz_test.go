package policy

import (
	"strings"
	"testing"
)

// FuzzNewPredicate builds predicates from arbitrary operators, keys and values (values
// separated by "\x00") and checks the algebra's invariants: no panic; a predicate
// implies itself; a counterexample really is one; Holds agrees with the set; HoldsOne
// agrees with Holds of one value, also through a Parsed another predicate read first.
func FuzzNewPredicate(f *testing.F) {
	seeds := [][3]string{
		{"IpAddress", "g:SourceIp", "10.0.0.0/8\x00::ffff:10.0.0.0/104"},
		{"NotIpAddress", "g:SourceIp", "2001:db8::/32"},
		{"DateLessThanEquals", "g:CurrentTime", "2030-01-01T00:00:00Z"},
		{"NumberNotEqualsAnyOf", "g:MFAAge", "3\x00-4.25"},
		{"ForAllValues:StringMatchIfExists", "g:TagKeys", "a*?\x00*"},
		{"StringNotLike", "g:UserName", "adm\x00"},
		{"BoolIfExists", "g:MFAPresent", "TRUE"},
		{"Null", "g:UserName", "false"},
		{"IsNullOrEmpty", "g:UserName", ""},
		{"ForAnyValue:StringEqualsIgnoreCaseAnyOf", "g:TagKeys", "Ä\x00ß"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], "10.1.1.1\x00alice")
	}
	f.Fuzz(func(t *testing.T, op, key, values, request string) {
		var vals []string
		if values != "" {
			vals = strings.Split(values, "\x00")
		}
		p, err := NewPredicate(CondEntry{Operator: op, Key: key, Values: vals}, PredicateOptions{})
		if err != nil {
			return
		}
		_ = p.String()
		if p.Canonical() == "" {
			t.Fatal("empty canonical form")
		}
		if got, _ := Implies([]Predicate{p}, p); got != True {
			t.Fatalf("%s does not imply itself: %v", p, got)
		}
		req := strings.Split(request, "\x00")
		if p.Holds(req) != (p.All == allIn(p.Set, req)) && p.All {
			t.Fatalf("ForAllValues %s disagrees with its set on %q", p, req)
		}
		for _, v := range req {
			var parsed Parsed
			for _, other := range []string{"IpAddress", "DateGreaterThan", "NumberLessThan"} {
				if o, err := NewPredicate(CondEntry{Operator: other, Key: key, Values: vals}, PredicateOptions{}); err == nil {
					if o.HoldsOne(v, &parsed) != o.Holds([]string{v}) {
						t.Fatalf("%s: HoldsOne(%q) disagrees with Holds", o, v)
					}
				}
			}
			if p.HoldsOne(v, &parsed) != p.Holds([]string{v}) {
				t.Fatalf("%s: HoldsOne(%q) disagrees with Holds", p, v)
			}
		}
		q, err := NewPredicate(CondEntry{Operator: "StringEquals", Key: key, Values: req}, PredicateOptions{})
		if err != nil {
			return
		}
		for _, pair := range [][2]Predicate{{p, q}, {q, p}} {
			got, w := Implies([]Predicate{pair[0]}, pair[1])
			if got == False && (!pair[0].Holds(w) || pair[1].Holds(w)) {
				t.Fatalf("%s => %s: %q is no counterexample", pair[0], pair[1], w)
			}
		}
	})
}

func allIn(s ValueSet, vals []string) bool {
	for _, v := range vals {
		if !s.Has(v) {
			return false
		}
	}
	return true
}
