# imsguard lint - condition rules
#
# Condition blocks (spec 5): operator names with the ForAllValues: / ForAnyValue:
# qualifiers and the IfExists suffix, looked up case-insensitively in
# input.operator_catalog; value types and counts; Bool, Number, Date and IP parsing; known
# condition keys and their types. input.condition_operators has one entry per operator
# member, input.condition_keys one per (operator, key) pair; key.op indexes the operator.
#
# Why every rule starts with `input.has.X == true` (or `input.over.X == true`): X is a
# fact of the whole document that the Go input builder sets (input.go) when the rule can
# fire, and OPA's rule index, which indexes such equalities, then visits only the rules
# whose fact the document has. gate.go reads these guards at start-up and opens
# input.gate.condition only for documents with one of this module's facts, so `findings`
# (rules.rego) does not even look at condition_findings otherwise. Most documents have few
# facts: most rules are never evaluated. A rule without a fact guard stops the linter from
# starting; a new fact needs a line in the input builder. Each code is described once, by
# a METADATA block on its first rule (title; custom: code, severity, basis; rules.rego).
package imsguard.lint

# METADATA
# title: Condition, operator or key value of the wrong JSON type
# custom:
#   code: E-COND-VALUE-TYPE
#   severity: error
#   basis: IAM.1051/1053
condition_findings contains {
	"code": "E-COND-VALUE-TYPE",
	"pointer": s.f.Condition.pointer,
	"message": sprintf("Condition must be an object {\"Operator\": {\"key\": [\"value\"]}}, found %s", [kind_text(s.f.Condition.kind)]),
} if {
	input.has.cond_value_type == true
	some s in input.statements
	s.f.Condition.kind != "object"
}

# METADATA
# title: Condition empty or with too many (operator, key) pairs
# custom:
#   code: E-COND-COUNT
#   severity: error
#   basis: IAM.1050
condition_findings contains {
	"code": "E-COND-COUNT",
	"pointer": s.f.Condition.pointer,
	"message": "Condition is empty (IAM.1050)",
	"fix": "remove Condition, or add a condition such as {\"StringEquals\": {\"g:ProjectName\": [\"ae-ad-1\"]}}",
} if {
	input.has.cond_empty == true
	some s in input.statements
	s.f.Condition.kind == "object"
	s.f.Condition.count == 0
}

condition_findings contains {
	"code": "E-COND-COUNT",
	"pointer": s.f.Condition.pointer,
	"message": sprintf("statement %d has %d (operator, key) conditions: the %s profile allows at most %d (IAM.1050)", [s.index, n, input.settings.profile, input.limits.conditions]),
	"fix": "merge values under one key, or split the statement",
} if {
	input.over.conditions == true
	input.family != "identity"
	some s in input.statements
	n := count([k | some k in input.condition_keys; input.condition_operators[k.op].statement == s.index])
	n > input.limits.conditions
}

# ---------------------------------------------------------------- operators

condition_findings contains {
	"code": "E-COND-VALUE-TYPE",
	"pointer": o.pointer,
	"message": sprintf("the value of operator %s must be an object {\"key\": [\"value\"]}, found %s (IAM.1051)", [o.m.name, kind_text(o.kind)]),
} if {
	input.has.cond_value_type == true
	some o in input.condition_operators
	o.kind != "object"
}

# METADATA
# title: unknown or invalid condition operator
# custom:
#   code: E-COND-OPERATOR
#   severity: error
#   basis: spec 5.3
condition_findings contains {
	"code": "E-COND-OPERATOR",
	"pointer": o.pointer,
	"message": sprintf("operator %q has an unknown qualifier %q", [o.m.name, o.m.qualifier]),
	"fix": sprintf("write ForAllValues:%s or ForAnyValue:%s", [o.m.base, o.m.base]),
} if {
	input.has.cond_operator_spelling == true
	some o in input.condition_operators
	o.m.has_qualifier
	not o.m.qualifier_lower in {"forallvalues", "foranyvalue"}
}

condition_findings contains {
	"code": "E-COND-OPERATOR",
	"pointer": o.pointer,
	"message": sprintf("unknown condition operator %q%s", [o.m.base, aws_hint(o.m.base_lower)]),
	"fix": operator_fix(o),
} if {
	input.has.cond_operator_spelling == true
	some o in input.condition_operators
	not input.operator_catalog[o.m.base_lower]
}

aws_hint(b) := " (AWS and OBS bucket policies use Numeric*/DateEquals; IAM uses Number*/Date* names)" if {
	some p in {"numeric", "dateequals", "datenotequals", "arn", "binary"}
	startswith(b, p)
} else := ""

operator_fix(o) := sprintf("did you mean %q?", [o.m.suggestion]) if {
	o.m.suggestion != ""
} else := "see the operator table in the spec, section 5.3"

condition_findings contains {
	"code": "E-COND-OPERATOR",
	"pointer": o.pointer,
	"message": sprintf("IfExists is meaningless on %s: the operator already decides what an absent key means", [op.name]),
	"fix": sprintf("write %s", [op.name]),
} if {
	input.has.cond_if_exists == true
	some o in input.condition_operators
	o.m.suffix != ""
	op := input.operator_catalog[o.m.base_lower]
	op.type == "null"
}

# METADATA
# title: operator spelled in non-canonical letter case
# custom:
#   code: W-OPERATOR-CASE
#   severity: warning
#   basis: spec 5.4
condition_findings contains {
	"code": "W-OPERATOR-CASE",
	"pointer": o.pointer,
	"message": sprintf("operator %q is spelled differently from %q", [o.m.name, canon]),
	"fix": sprintf("write %q", [canon]),
} if {
	input.has.cond_operator_spelling == true
	some o in input.condition_operators
	op := input.operator_catalog[o.m.base_lower]
	canon := canonical_operator(o, op)
	canon != o.m.name
	qualifier_ok(o)
}

qualifier_ok(o) if not o.m.has_qualifier

qualifier_ok(o) if o.m.qualifier_lower in {"forallvalues", "foranyvalue"}

canonical_operator(o, op) := concat("", [canonical_qualifier[o.m.qualifier_lower], op.name, if_exists_text(o)])

canonical_qualifier := {"": "", "forallvalues": "ForAllValues:", "foranyvalue": "ForAnyValue:"}

if_exists_text(o) := "IfExists" if {
	o.m.suffix != ""
} else := ""

# METADATA
# title: operator only in the 2021/2022 edition (2023 edition profile)
# custom:
#   code: W-LEGACY-OPERATOR
#   severity: warning
#   basis: spec 5.3
condition_findings contains {
	"code": "W-LEGACY-OPERATOR",
	"pointer": o.pointer,
	"message": sprintf("operator %s is documented only in the 2021/2022 editions of the policy syntax, not in the 2023 edition selected", [op.name]),
} if {
	input.has.condition == true
	input.settings.operator_edition == "2023"
	some o in input.condition_operators
	op := input.operator_catalog[o.m.base_lower]
	op.edition == "2021"
}

# METADATA
# title: operator only in the 2023 edition (2021 edition profile)
# custom:
#   code: W-NEW-OPERATOR
#   severity: warning
#   basis: spec 5.3
condition_findings contains {
	"code": "W-NEW-OPERATOR",
	"pointer": o.pointer,
	"message": sprintf("%s is documented only in the 2023 edition of the policy syntax, not in the 2021/2022 edition (the ae-ad-1 baseline) selected", [what]),
} if {
	input.has.condition == true
	input.settings.operator_edition == "2021"
	some o in input.condition_operators
	op := input.operator_catalog[o.m.base_lower]
	some what in new_parts(o, op)
}

new_parts(o, op) := {x |
	some [cond, x] in [[op.edition == "2023", sprintf("operator %s", [op.name])], [o.m.has_qualifier, sprintf("the qualifier %s", [o.m.qualifier])]]
	cond
}

# ---------------------------------------------------------------- keys and values

condition_findings contains {
	"code": "E-COND-VALUE-TYPE",
	"pointer": k.pointer,
	"message": sprintf("the values of %s must be an array of strings, found %s (IAM.1053)", [k.key, kind_text(k.kind)]),
	"fix": sprintf("write \"%s\": [...]", [k.key]),
} if {
	input.has.cond_value_type == true
	some k in input.condition_keys
	k.kind != "array"
	not identity_scalar(k)
}

identity_scalar(k) if {
	input.family == "identity"
	k.kind == "string"
}

condition_findings contains {
	"code": "E-COND-VALUE-TYPE",
	"pointer": v.pointer,
	"message": sprintf("condition values are strings (also numbers, dates and booleans: \"900\", \"true\"); found %s", [kind_text(v.kind)]),
	"fix": "quote the value",
} if {
	input.has.cond_value_type == true
	some k in input.condition_keys
	some v in k.values
	v.kind != "string"
}

# METADATA
# title: no values, or too many values, for a condition key
# custom:
#   code: E-COND-VALUES-COUNT
#   severity: error
#   basis: IAM.1054
condition_findings contains {
	"code": "E-COND-VALUES-COUNT",
	"pointer": k.pointer,
	"message": sprintf("%s %s takes exactly one value, [\"true\"] or [\"false\"]", [k.opm.name, k.key]),
} if {
	input.has.cond_null == true
	some k in input.condition_keys
	k.opm.catalog.fn == "null"
	k.count != 1
}

condition_findings contains {
	"code": "E-COND-VALUES-COUNT",
	"pointer": k.pointer,
	"message": sprintf("%s %s has no values; give 1 to %d (IAM.1054)", [k.opm.name, k.key, input.limits.values]),
} if {
	input.has.cond_empty == true
	some k in input.condition_keys
	k.count == 0
	k.kind == "array"
	k.opm.catalog.type != "null"
}

condition_findings contains {
	"code": "E-COND-VALUES-COUNT",
	"pointer": k.pointer,
	"message": sprintf("%s %s has %d values; the limit is %d per key (IAM.1054)", [k.opm.name, k.key, k.count, input.limits.values]),
	"fix": "split the key over two statements, or use a fuzzy operator such as StringStartWith",
} if {
	input.over.values == true
	some k in input.condition_keys
	k.count > input.limits.values
}

# METADATA
# title: condition value empty or longer than 1,024 characters
# custom:
#   code: E-COND-VALUE-LENGTH
#   severity: error
#   basis: IAM.1056
condition_findings contains {
	"code": "E-COND-VALUE-LENGTH",
	"pointer": v.pointer,
	"message": "condition values must not be empty (IAM.1056)",
} if {
	input.has.cond_empty == true
	some k in input.condition_keys
	k.opm.catalog.type != "null"
	some v in k.values
	v.m.length == 0
}

condition_findings contains {
	"code": "E-COND-VALUE-LENGTH",
	"pointer": v.pointer,
	"message": sprintf("condition values must have at most %d characters, this one has %d (IAM.1056)", [input.limits.value_length, v.m.length]),
} if {
	input.over.value_length == true
	some k in input.condition_keys
	some v in k.values
	v.m.length > input.limits.value_length
}

# METADATA
# title: condition value not parsable for the operator, or with control characters
# custom:
#   code: E-COND-VALUE
#   severity: error
#   basis: spec 5.6/5.7
condition_findings contains {
	"code": "E-COND-VALUE",
	"pointer": v.pointer,
	"message": sprintf("%s value %q is not %s", [k.opm.catalog.name, v.m.value, type_expect[t]]),
	"fix": type_example[t],
} if {
	input.has.cond_value_unparsed == true
	some k in input.condition_keys
	t := value_type[k.opm.catalog.fn]
	some v in k.values
	v.kind == "string"
	v.m.parses[t] == false
}

# value_type: the parse a policy value must pass, by operator function (Null takes
# "true"/"false"; the other null checks ignore their values).
value_type := {
	"num_eq": "number", "num_lt": "number", "num_le": "number", "num_gt": "number", "num_ge": "number",
	"date_lt": "date", "date_le": "date", "date_gt": "date", "date_ge": "date",
	"bool": "boolean", "null": "boolean", "ip": "ip",
}

type_expect := {
	"number": "a decimal number",
	"date": "an ISO 8601 date-time",
	"boolean": "\"true\" or \"false\"",
	"ip": "an IP address or CIDR block",
}

type_example := {
	"number": "write a decimal number such as \"900\" or \"1.5\"",
	"date": "write a date-time such as \"2030-01-01T00:00:00Z\"",
	"boolean": "write \"true\" or \"false\"",
	"ip": "write an address such as \"203.0.113.5\" or a block such as \"10.0.0.0/8\"",
}

condition_findings contains {
	"code": "E-COND-VALUE",
	"pointer": v.pointer,
	"message": "the condition value contains a control character",
	"fix": "remove it",
} if {
	input.has.cond_value_control == true
	some k in input.condition_keys
	some v in k.values
	v.m.control
}

# METADATA
# title: null-check operator with values other than [] or ["true"]
# custom:
#   code: W-COND-NULL-VALUE
#   severity: warning
#   basis: spec 5.3
condition_findings contains {
	"code": "W-COND-NULL-VALUE",
	"pointer": k.pointer,
	"message": sprintf("%s ignores its values; imsguard accepts [] or [\"true\"]", [k.opm.catalog.name]),
	"fix": "write []",
} if {
	input.has.cond_null_check == true
	some k in input.condition_keys
	k.opm.catalog.fn in {"is_null", "is_not_null", "is_null_or_empty"}
	k.count > 0
	not null_values_ok(k)
}

null_values_ok(k) if {
	k.count == 1
	lower(k.values[0].m.value) == "true"
}

# METADATA
# title: operator incompatible with the condition key's type
# custom:
#   code: E-COND-TYPE
#   severity: error
#   basis: IAM.1055
condition_findings contains {
	"code": "E-COND-TYPE",
	"pointer": k.pointer,
	"message": sprintf("%s is a %s key; %s compares %s values (IAM.1055)", [k.key, t, op.name, op.type]),
	"fix": sprintf("use a %s operator such as %s", [t, type_operator[t]]),
} if {
	input.has.cond_key_type == true
	some k in input.condition_keys
	op := k.opm.catalog
	op.type != "null"
	t := k.type
	t != "unknown"
	t != op.type
}

type_operator := {
	"string": "StringEquals",
	"number": "NumberLessThan",
	"date": "DateLessThan",
	"boolean": "Bool",
	"ip": "IpAddress",
}

# METADATA
# title: condition key is not a known global or service key
# custom:
#   code: W-COND-KEY-UNKNOWN
#   severity: warning
#   basis: IAM.1052
condition_findings contains {
	"code": "W-COND-KEY-UNKNOWN",
	"pointer": k.pointer,
	"message": sprintf("condition key %q is not a known global key%s: IAM may reject it (IAM.1052), and imsguard does not check its type", [k.key, key_hint(k.key_lower)]),
	"fix": key_fix_text(k.key_lower),
} if {
	input.has.cond_key_unknown == true
	some k in input.condition_keys
	k.type == "unknown"
}

key_hint(k) := " (IMS defines no service-level condition keys for 1.1 policies)" if {
	startswith(k, "ims:")
} else := ""

key_fix_text(k) := sprintf("did you mean %q?", [name]) if {
	some g, name in global_key_names
	g != k
	replace(g, "g:", "") == regex.replace(k, `^[a-z0-9-]+:`, "")
} else := "use a global key such as g:UserName, g:ProjectName or g:CurrentTime"

# METADATA
# title: condition value has characters outside the documented set
# custom:
#   code: W-COND-VALUE-CHARSET
#   severity: warning
#   basis: spec 5.7
condition_findings contains {
	"code": "W-COND-VALUE-CHARSET",
	"pointer": v.pointer,
	"message": sprintf("condition value %q contains %s, outside the documented value characters (letters, digits and - , . / _ @ # $ %% &)", [v.m.value, chars_text(v.m.charset)]),
	"fix": "use a fuzzy operator such as StringStartWith with the part before the character",
} if {
	input.has.cond_value_charset == true
	some k in input.condition_keys
	some v in k.values
	v.m.charset != ""
	not v.m.control
}

# METADATA
# title: StringLike value with * or ? (StringLike is a substring test)
# custom:
#   code: W-STRINGLIKE-GLOB
#   severity: warning
#   basis: spec 5.3
condition_findings contains {
	"code": "W-STRINGLIKE-GLOB",
	"pointer": v.pointer,
	"message": sprintf("%s tests whether the request value contains %q literally: * and ? are not wildcards in StringLike", [k.opm.catalog.name, v.m.value]),
	"fix": "use StringMatch for * and ? patterns, or drop the wildcard for a substring test",
} if {
	input.has.cond_value_glob == true
	some k in input.condition_keys
	k.opm.catalog.fn == "contains_ci"
	some v in k.values
	v.m.glob
}
