package policy

import "strings"

// Edition says which generation of the IAM policy-syntax page documents an operator
// (spec §5.3): the 2021/2022 tables (the ae-ad-1 baseline), the 2023 rewrite, or both.
type Edition string

// The operator editions.
const (
	EditionAll    Edition = "all"
	EditionLegacy Edition = "2021"
	EditionNew    Edition = "2023"
)

// KeyType is the value type an operator compares.
type KeyType string

// The operator value types.
const (
	TypeString KeyType = "string"
	TypeNumber KeyType = "number"
	TypeDate   KeyType = "date"
	TypeBool   KeyType = "boolean"
	TypeIP     KeyType = "ip"
	TypeNull   KeyType = "null" // IsNull, IsNotNull, IsNullOrEmpty, Null: any key
)

// Operator describes one condition operator of the 1.1 language (spec §5.3). The lint
// rules and the decision engine read the same catalogue.
type Operator struct {
	Name    string  `json:"name"`    // canonical spelling
	Fn      string  `json:"fn"`      // base function the decision engine evaluates
	Negated bool    `json:"negated"` // satisfied when no policy value matches
	Type    KeyType `json:"type"`
	Edition Edition `json:"edition"`
	// CaseInsensitive: string comparison ignores case (spec §5.4).
	CaseInsensitive bool `json:"case_insensitive"`
}

// operatorTable is the union of both editions (spec §5.3).
var operatorTable = []Operator{
	{"StringEquals", "eq", false, TypeString, EditionAll, false},
	{"StringNotEquals", "eq", true, TypeString, EditionAll, false},
	{"StringEqualsIgnoreCase", "eq_ci", false, TypeString, EditionAll, true},
	{"StringNotEqualsIgnoreCase", "eq_ci", true, TypeString, EditionAll, true},
	{"StringLike", "contains_ci", false, TypeString, EditionLegacy, true},
	{"StringNotLike", "contains_ci", true, TypeString, EditionLegacy, true},
	{"StringStartWith", "prefix_ci", false, TypeString, EditionLegacy, true},
	{"StringEndWith", "suffix_ci", false, TypeString, EditionLegacy, true},
	{"StringNotStartWith", "prefix_ci", true, TypeString, EditionLegacy, true},
	{"StringNotEndWith", "suffix_ci", true, TypeString, EditionLegacy, true},
	{"StringEqualsAnyOf", "eq", false, TypeString, EditionLegacy, false},
	{"StringNotEqualsAnyOf", "eq", true, TypeString, EditionLegacy, false},
	{"StringEqualsIgnoreCaseAnyOf", "eq_ci", false, TypeString, EditionLegacy, true},
	{"StringNotEqualsIgnoreCaseAnyOf", "eq_ci", true, TypeString, EditionLegacy, true},
	{"StringLikeAnyOf", "contains_ci", false, TypeString, EditionLegacy, true},
	{"StringNotLikeAnyOf", "contains_ci", true, TypeString, EditionLegacy, true},
	{"StringStartWithAnyOf", "prefix_ci", false, TypeString, EditionLegacy, true},
	{"StringEndWithAnyOf", "suffix_ci", false, TypeString, EditionLegacy, true},
	{"StringNotStartWithAnyOf", "prefix_ci", true, TypeString, EditionLegacy, true},
	{"StringNotEndWithAnyOf", "suffix_ci", true, TypeString, EditionLegacy, true},
	{"StringMatch", "match", false, TypeString, EditionNew, false},
	{"StringNotMatch", "match", true, TypeString, EditionNew, false},
	{"NumberEquals", "num_eq", false, TypeNumber, EditionAll, false},
	{"NumberNotEquals", "num_eq", true, TypeNumber, EditionAll, false},
	{"NumberLessThan", "num_lt", false, TypeNumber, EditionAll, false},
	{"NumberLessThanEquals", "num_le", false, TypeNumber, EditionAll, false},
	{"NumberGreaterThan", "num_gt", false, TypeNumber, EditionAll, false},
	{"NumberGreaterThanEquals", "num_ge", false, TypeNumber, EditionAll, false},
	{"NumberEqualsAnyOf", "num_eq", false, TypeNumber, EditionLegacy, false},
	{"NumberNotEqualsAnyOf", "num_eq", true, TypeNumber, EditionLegacy, false},
	{"DateLessThan", "date_lt", false, TypeDate, EditionAll, false},
	{"DateLessThanEquals", "date_le", false, TypeDate, EditionAll, false},
	{"DateGreaterThan", "date_gt", false, TypeDate, EditionAll, false},
	{"DateGreaterThanEquals", "date_ge", false, TypeDate, EditionAll, false},
	{"Bool", "bool", false, TypeBool, EditionAll, true},
	{"IpAddress", "ip", false, TypeIP, EditionLegacy, false},
	{"NotIpAddress", "ip", true, TypeIP, EditionLegacy, false},
	{"IsNullOrEmpty", "is_null_or_empty", false, TypeNull, EditionLegacy, false},
	{"IsNull", "is_null", false, TypeNull, EditionLegacy, false},
	{"IsNotNull", "is_not_null", false, TypeNull, EditionLegacy, false},
	{"Null", "null", false, TypeNull, EditionNew, false},
}

var operatorsByLower = func() map[string]Operator {
	m := make(map[string]Operator, len(operatorTable))
	for _, op := range operatorTable {
		m[strings.ToLower(op.Name)] = op
	}
	return m
}()

// Operators returns the operator catalogue (both editions), in spec order.
func Operators() []Operator { return append([]Operator(nil), operatorTable...) }

// Qualifier is the multi-value qualifier of an operator.
type Qualifier string

// The qualifiers ("" = none: evaluated like ForAnyValue).
const (
	QualNone Qualifier = ""
	QualAny  Qualifier = "any"
	QualAll  Qualifier = "all"
)

// ParsedOperator is an operator name as written, split into its parts.
type ParsedOperator struct {
	Written   string
	Operator  Operator  // the base operator (valid when Known)
	Known     bool      // the base name is in the catalogue (case-insensitively)
	IfExists  bool      // "IfExists" suffix
	Qualifier Qualifier // ForAllValues: / ForAnyValue:
	// CaseMismatch: the spelling differs from the canonical one (W-OPERATOR-CASE).
	CaseMismatch bool
	// Problem says why the name is not a valid operator (E-COND-OPERATOR), "" when valid.
	Problem string
}

// ParseOperator splits an operator name: an optional "ForAllValues:" / "ForAnyValue:"
// qualifier, the base name (looked up case-insensitively) and an optional "IfExists" suffix.
func ParseOperator(written string) ParsedOperator {
	p := ParsedOperator{Written: written}
	name := written
	canonical := ""
	if q, rest, ok := strings.Cut(name, ":"); ok {
		switch strings.ToLower(q) {
		case "forallvalues":
			p.Qualifier, canonical = QualAll, "ForAllValues:"
		case "foranyvalue":
			p.Qualifier, canonical = QualAny, "ForAnyValue:"
		default:
			p.Problem = "unknown qualifier " + q + ": (use ForAllValues: or ForAnyValue:)"
			return p
		}
		if q+":" != canonical {
			p.CaseMismatch = true
		}
		name = rest
	}
	base := name
	if len(name) > len("IfExists") && strings.EqualFold(name[len(name)-len("IfExists"):], "IfExists") {
		if _, ok := operatorsByLower[strings.ToLower(name)]; !ok {
			p.IfExists = true
			base = name[:len(name)-len("IfExists")]
			if name[len(base):] != "IfExists" {
				p.CaseMismatch = true
			}
		}
	}
	op, ok := operatorsByLower[strings.ToLower(base)]
	if !ok {
		p.Problem = "unknown operator " + base
		return p
	}
	p.Operator, p.Known = op, true
	if base != op.Name {
		p.CaseMismatch = true
	}
	if p.IfExists && op.Type == TypeNull {
		p.Problem = "IfExists is meaningless on " + op.Name
	}
	return p
}
