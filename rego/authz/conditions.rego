# Condition evaluation for authz.rego (spec §5): every operator of both editions, IfExists,
# ForAllValues/ForAnyValue, absent keys, value parsing. Conditions are annotated once per
# policy set (annotate_set) and checked per request (conditions_hold).
package imsguard.authz

# ---------------------------------------------------------------- conditions (spec 5)

# A condition as the engine prepares it: {fn, neg, key, values, if_exists, qual, valid}.
# annotate_set adds, once per policy set, what does not depend on the request: "absent"
# (whether it holds when the key is absent), "mode" and "kind" (how a present value is
# checked), so a request only dispatches on constants that OPA's rule index resolves.
annotate_set(set) := object.union(set, {"attachments": [object.union(att, {"statements": [object.union(st, {"conditions": [annotate(c) | some c in st.conditions]}) |
	some st in att.statements
]}) |
	some att in set.attachments
]})

annotate(c) := object.union(c, {"absent": absent_value(c), "mode": mode(c), "kind": kind(c.fn)})

absent_value(c) := true if absent_holds(c) else := false

# Absent keys (spec 5.5): IfExists, ForAllValues and the null checks that expect absence
# hold; ForAnyValue and everything else, including negated operators, do not (unless the
# absent_negated option asks for AWS semantics).
absent_holds(c) if c.if_exists

absent_holds(c) if c.qual == "all"

absent_holds(c) if c.fn in {"is_null", "is_null_or_empty"}

absent_holds(c) if {
	c.fn == "null"
	c.values[0] == "true"
}

absent_holds(c) if {
	c.neg
	c.qual == ""
	input.set.options.absent_negated
}

mode(c) := "is_not_null" if c.fn == "is_not_null"

mode(c) := "null_false" if {
	c.fn == "null"
	c.values[0] == "false"
}

mode(c) := "never" if {
	c.fn == "null"
	c.values[0] != "false"
}

mode(c) := "never" if c.fn == "is_null"

mode(c) := "empty" if c.fn == "is_null_or_empty"

mode(c) := "neg" if {
	not null_fns[c.fn]
	c.neg
}

mode(c) := "pos" if {
	not null_fns[c.fn]
	not c.neg
}

null_fns := {"is_null", "is_not_null", "is_null_or_empty", "null"}

kind(fn) := "num" if fn in {"num_eq", "num_lt", "num_le", "num_gt", "num_ge"}

kind(fn) := "date" if fn in {"date_lt", "date_le", "date_gt", "date_ge"}

kind(fn) := "bool" if fn == "bool"

kind(fn) := "ip" if fn == "ip"

kind(fn) := "str" if not fn in {"num_eq", "num_lt", "num_le", "num_gt", "num_ge", "date_lt", "date_le", "date_gt", "date_ge", "bool", "ip"}

conditions_hold(st) if {
	every c in st.conditions {
		cond_holds(c, st.effect)
	}
}

# A condition that cannot be evaluated (unknown operator, unparsable policy value) never
# lets an Allow through, and keeps a Deny in force.
cond_holds(c, effect) if {
	not c.valid
	effect == "Deny"
}

cond_holds(c, _) if {
	c.valid
	key_holds(c, object.get(input.context, c.key, []))
}

present(key) if count(input.context[key]) > 0

key_holds(c, vals) if {
	count(vals) == 0
	c.absent
}

# ForAllValues: every request value; ForAnyValue and no qualifier: at least one.
key_holds(c, vals) if {
	count(vals) > 0
	c.qual == "all"
	every v in vals {
		check(c.mode, c, v)
	}
}

key_holds(c, vals) if {
	count(vals) > 0
	c.qual != "all"
	some v in vals
	check(c.mode, c, v)
}

# check(mode, c, v): does the present request value v satisfy the condition?
check("is_not_null", _, _) := true

check("null_false", _, _) := true

check("empty", _, v) if v == ""

# Positive operators: the request value satisfies the operator against any policy value.
check("pos", c, v) if {
	parses(c.kind, v)
	some x in c.values
	base(c.fn, v, x)
}

# Negated operators: a parsable request value satisfies none of the policy values.
check("neg", c, v) if {
	parses(c.kind, v)
	every x in c.values {
		not base(c.fn, v, x)
	}
}

base("eq", v, x) if v == x

base("eq_ci", v, x) if lower(v) == x

base("contains_ci", v, x) if contains(lower(v), x)

base("prefix_ci", v, x) if startswith(lower(v), x)

base("suffix_ci", v, x) if endswith(lower(v), x)

# null delimiters: '*' spans every character ("[]" would stop it at '.', so "alice*" would
# miss "alice.smith" while the compiled engine's predicate matches it).
base("match", v, x) if glob.match(x, null, v)

base("num_eq", v, x) if to_number(v) == x

base("num_lt", v, x) if to_number(v) < x

base("num_le", v, x) if to_number(v) <= x

base("num_gt", v, x) if to_number(v) > x

base("num_ge", v, x) if to_number(v) >= x

base("date_lt", v, x) if time.parse_rfc3339_ns(v) < x

base("date_le", v, x) if time.parse_rfc3339_ns(v) <= x

base("date_gt", v, x) if time.parse_rfc3339_ns(v) > x

base("date_ge", v, x) if time.parse_rfc3339_ns(v) >= x

base("bool", v, x) if lower(v) == x

base("ip", v, x) if net.cidr_contains(x, v)

# parses(kind, v): unparsable request values make every operator of that type false.
parses("str", _) := true

parses("num", v) if regex.match(`^-?[0-9]+(\.[0-9]+)?$`, v)

parses("date", v) if time.parse_rfc3339_ns(v)

parses("bool", v) if lower(v) in {"true", "false"}

parses("ip", v) if net.cidr_is_valid(ip_cidr(v))

ip_cidr(v) := concat("", [v, "/128"]) if contains(v, ":")

ip_cidr(v) := concat("", [v, "/32"]) if not contains(v, ":")
