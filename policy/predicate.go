package policy

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Predicate is one (operator, key) pair of a Condition as a typed predicate over the
// request's values for the key (spec §5), with the decision engine's semantics:
//
//   - the key absent (or given without values): the predicate is Absent;
//   - otherwise, with All (ForAllValues:) every request value must be in Set, without it
//     (ForAnyValue: or no qualifier) at least one.
//
// Set already folds in the operator: a negated operator's set holds the values that
// match none of the policy values; the null checks accept every value (IsNotNull,
// Null: false), none (IsNull, Null: true) or the empty string (IsNullOrEmpty). Keys are
// compared case-insensitively, as the engine does.
//
// A Predicate is immutable and safe for concurrent use.
type Predicate struct {
	// Key is the condition key in lower case.
	Key string
	// Written is the key as written.
	Written string
	// Operator is the operator as parsed.
	Operator ParsedOperator
	// Values are the policy values as written.
	Values []string
	// Absent is the outcome when the request lacks the key.
	Absent bool
	// All: every request value must be in Set (ForAllValues); otherwise one suffices.
	All bool
	// Set is what a single request value must be in.
	Set ValueSet
}

// PredicateOptions are the engine options that change what a condition means.
type PredicateOptions struct {
	// AbsentNegated makes negated operators (without a qualifier) true on an absent key,
	// as the engine's Options.AbsentNegated does (spec §5.5).
	AbsentNegated bool
}

// ErrInvalidCondition is wrapped by NewPredicate errors: a condition the engine refuses
// (or, leniently, evaluates fail-safe: false in an Allow, true in a Deny).
var ErrInvalidCondition = errors.New("invalid condition")

// NewPredicate builds the predicate of one (operator, key) pair. It accepts exactly what
// the decision engine evaluates: a known operator and qualifier, values that parse for the
// operator's type, at least one value (except for the null checks), one value for Null.
func NewPredicate(c CondEntry, opts PredicateOptions) (Predicate, error) {
	op := ParseOperator(c.Operator)
	p := Predicate{Key: strings.ToLower(c.Key), Written: c.Key, Operator: op, Values: c.Values, All: op.Qualifier == QualAll}
	fail := func(format string, args ...any) (Predicate, error) {
		return p, fmt.Errorf("%w: %s %s: %s", ErrInvalidCondition, c.Operator, c.Key, fmt.Sprintf(format, args...))
	}
	if op.Problem != "" {
		return fail("%s", op.Problem)
	}
	o := op.Operator
	if o.Type != TypeNull && len(c.Values) == 0 {
		return fail("no values")
	}
	if o.Fn == "null" && len(c.Values) != 1 {
		return fail(`Null needs exactly one value, "true" or "false"`)
	}
	set, err := valueSet(o, c.Values)
	if err != nil {
		return fail("%v", err)
	}
	p.Set = set
	nullTrue := o.Fn == "null" && strings.EqualFold(c.Values[0], "true")
	p.Absent = op.IfExists || p.All || o.Fn == "is_null" || o.Fn == "is_null_or_empty" || nullTrue ||
		(o.Negated && op.Qualifier == QualNone && opts.AbsentNegated)
	return p, nil
}

// valueSet builds the set of single request values the operator accepts.
func valueSet(o Operator, values []string) (ValueSet, error) {
	switch o.Type {
	case TypeNull:
		for _, v := range values {
			if o.Fn == "null" {
				if _, err := ParseBoolValue(v); err != nil {
					return ValueSet{}, fmt.Errorf("value %q: Null takes \"true\" or \"false\"", v)
				}
			}
		}
		switch {
		case o.Fn == "is_null_or_empty":
			return ValueSet{dom: DomainString, str: newStrSet(false, []strAtom{{atomEq, ""}})}, nil
		case o.Fn == "is_not_null" || (o.Fn == "null" && strings.EqualFold(values[0], "false")):
			return ValueSet{dom: DomainString, str: allStrings}, nil
		}
		return ValueSet{dom: DomainString, str: noStrings}, nil
	case TypeNumber, TypeDate:
		return intervalSet(o, values)
	case TypeIP:
		var rs []ipRange
		for _, v := range values {
			pfx, err := ParseIPValue(v)
			if err != nil {
				return ValueSet{}, fmt.Errorf("value %q: %w", v, err)
			}
			r, ok := prefixRanges(pfx.String())
			if !ok {
				return ValueSet{}, fmt.Errorf("value %q: %w", v, ErrNotIP)
			}
			rs = append(rs, r...)
		}
		s := newIPSet(rs)
		if o.Negated {
			s = s.complement()
		}
		return ValueSet{dom: DomainIP, ip: s}, nil
	}
	kind := map[string]atomKind{"eq": atomEq, "eq_ci": atomEqCI, "bool": atomEqCI, "contains_ci": atomContainsCI,
		"prefix_ci": atomPrefixCI, "suffix_ci": atomSuffixCI, "match": atomGlob}[o.Fn]
	atoms := make([]strAtom, 0, len(values))
	for _, v := range values {
		x := v
		switch {
		case o.Type == TypeBool:
			b, err := ParseBoolValue(v)
			if err != nil {
				return ValueSet{}, fmt.Errorf("value %q: %w", v, err)
			}
			x = b
		case o.CaseInsensitive:
			x = strings.ToLower(v)
		}
		atoms = append(atoms, strAtom{kind, x})
	}
	return ValueSet{dom: DomainString, str: newStrSet(o.Negated, atoms)}, nil
}

// intervalSet builds the set of a Number… or Date… operator: the union of one interval
// per policy value (a negated operator: its complement, plus the decimals too large to
// compare, which the engine lets through a negated operator only).
func intervalSet(o Operator, values []string) (ValueSet, error) {
	date := o.Type == TypeDate
	var ivs []interval
	for _, v := range values {
		var x *big.Rat
		if date {
			t, err := ParseDateValue(v)
			if err != nil {
				return ValueSet{}, fmt.Errorf("value %q: %w", v, err)
			}
			x = new(big.Rat).SetInt64(t.UnixNano()) // what the engine compares, even beyond 2262
		} else {
			f, err := ParseNumberValue(v)
			if err != nil {
				return ValueSet{}, fmt.Errorf("value %q: %w", v, err)
			}
			// the engine holds the float64 in its shortest decimal form
			x, _ = new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
		}
		switch o.Fn {
		case "num_eq":
			ivs = append(ivs, interval{finite(x, false), finite(x, false)})
		case "num_lt", "date_lt":
			ivs = append(ivs, interval{negInf, finite(x, true)})
		case "num_le", "date_le":
			ivs = append(ivs, interval{negInf, finite(x, false)})
		case "num_gt", "date_gt":
			ivs = append(ivs, interval{finite(x, true), posInf})
		case "num_ge", "date_ge":
			ivs = append(ivs, interval{finite(x, false), posInf})
		}
	}
	if date {
		s := newIntervals(true, timeUniverse, ivs)
		return ValueSet{dom: DomainDate, num: s}, nil
	}
	s := newIntervals(false, numUniverse, ivs)
	if o.Negated {
		return ValueSet{dom: DomainNumber, num: s.complement(), overflow: true}, nil
	}
	return ValueSet{dom: DomainNumber, num: s}, nil
}

// Holds reports whether the predicate is true for the request values of its key (nil or
// empty: the key is absent).
func (p Predicate) Holds(values []string) bool {
	if len(values) == 0 {
		return p.Absent
	}
	for _, v := range values {
		in := p.Set.Has(v)
		if p.All && !in {
			return false
		}
		if !p.All && in {
			return true
		}
	}
	return p.All
}

// HoldsOne is Holds([]string{v}), reading v through p (ValueSet.HasParsed): for one
// value, every qualifier asks whether the value is in the set.
func (p Predicate) HoldsOne(v string, parsed *Parsed) bool {
	return p.Set.HasParsed(v, parsed)
}

// Canonical is a text form equal for predicates that accept the same requests the same
// way (the key, the absent outcome, the qualifier and the set).
func (p Predicate) Canonical() string {
	q := "any"
	if p.All {
		q = "all"
	}
	return p.Key + "|" + strconv.FormatBool(p.Absent) + "|" + q + "|" + p.Set.Canonical()
}

// String writes the predicate in words, e.g. "g:SourceIp in 10.0.0.0/8" or
// "g:UserName is alice or bob (or absent)".
func (p Predicate) String() string {
	o := p.Operator.Operator
	key := p.Written
	switch {
	case p.All:
		key = "every value of " + key
	case p.Operator.Qualifier == QualAny:
		key = "some value of " + key
	}
	var body string
	switch o.Fn {
	case "is_null":
		return p.Written + " is absent"
	case "is_null_or_empty":
		return p.Written + " is absent or empty"
	case "is_not_null":
		return p.Written + " is present"
	case "null":
		if p.Absent {
			return p.Written + " is absent"
		}
		return p.Written + " is present"
	case "ip":
		body = key + " in " + p.Set.Describe()
		if o.Negated {
			body = key + " not in " + p.Set.Describe()
			if c, ok := p.complementText(); ok {
				body = key + " not in " + c
			}
		}
	case "num_eq", "num_lt", "num_le", "num_gt", "num_ge", "date_lt", "date_le", "date_gt", "date_ge":
		d := p.Set.Describe()
		switch {
		case strings.HasPrefix(d, "anything"):
			body = key + " is " + d
		case o.Fn == "num_eq":
			body = key + " = " + d
		default:
			body = key + " " + d
		}
	default:
		body = key + " " + stringVerb(o) + " " + strings.Join(p.Values, ", ")
		if o.CaseInsensitive && o.Fn != "bool" {
			body += " (any case)"
		}
	}
	if p.Absent {
		body += " (or absent)"
	}
	return body
}

// complementText describes the policy values of a negated IP condition.
func (p Predicate) complementText() (string, bool) {
	if p.Set.dom != DomainIP {
		return "", false
	}
	return ValueSet{dom: DomainIP, ip: p.Set.ip.complement()}.Describe(), true
}

func stringVerb(o Operator) string {
	verbs := map[string][2]string{
		"eq": {"is", "is none of"}, "eq_ci": {"is", "is none of"}, "contains_ci": {"contains", "contains none of"},
		"prefix_ci": {"starts with", "starts with none of"}, "suffix_ci": {"ends with", "ends with none of"},
		"match": {"matches", "matches none of"}, "bool": {"is", "is not"},
	}
	v := verbs[o.Fn]
	if o.Negated {
		return v[1]
	}
	return v[0]
}
