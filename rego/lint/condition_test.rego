package imsguard.lint_test

# opm is the measurement of an operator name as written.
opm(name, base, catalog) := object.union(
	{"name": name, "qualifier": "", "qualifier_lower": "", "has_qualifier": false, "base": base, "base_lower": lower(base), "suffix": "", "suggestion": ""},
	{"catalog": catalog},
)

val(ptr, value, mo) := {"pointer": ptr, "kind": "string", "m": object.union({"value": value, "length": count(value), "control": false, "charset": "", "glob": false, "parses": {"number": false, "date": false, "boolean": false, "ip": false}}, mo)}

# cond builds an input with one statement holding one (operator, key) pair. Like the Go
# input builder, it gives the key its type (key_type) and derives the facts cond_key_unknown,
# cond_key_type and cond_value_unparsed.
cond(om, key, values, has) := doc({
	"statements": [object.union(stmt(0), {"f": {"Condition": {"kind": "object", "pointer": "/Statement/0/Condition", "count": 1}}})],
	"condition_operators": [{"statement": 0, "index": 0, "pointer": sprintf("/Statement/0/Condition/%s", [om.name]), "kind": "object", "count": 1, "m": om}],
	"condition_keys": [{"op": 0, "opm": om, "key": key, "key_lower": lower(key), "type": kt, "pointer": sprintf("/Statement/0/Condition/%s/%s", [om.name, key]), "kind": "array", "count": count(values), "values": values}],
	"has": object.union(object.union({"condition": true}, derived), has),
}) if {
	kt := data.imsguard.lint.key_type(lower(key))
	op_type := object.get(om, ["catalog", "type"], "")
	parse := object.get(data.imsguard.lint.value_type, object.get(om, ["catalog", "fn"], ""), "")
	unparsed := [v | some v in values; v.kind == "string"; parse != ""; v.m.parses[parse] == false]
	facts := {
		"cond_key_unknown": kt == "unknown",
		"cond_key_type": type_mismatch(kt, op_type),
		"cond_value_unparsed": count(unparsed) > 0,
	}
	derived := {name: true | some name, holds in facts; holds}
}

# type_mismatch: a key of a known type under a typed operator of another type.
type_mismatch(key_type, op_type) if {
	key_type != "unknown"
	not op_type in {"", "null", key_type}
} else := false

test_clean_condition if {
	codes(cond(opm("StringEquals", "StringEquals", operators.stringequals), "g:UserName", [val("/v/0", "alice", {})], {})) == set()
}

test_unknown_operator_with_suggestion if {
	om := object.remove(opm("StringEqual", "StringEqual", {}), ["catalog"])
	inp := cond(object.union(om, {"suggestion": "StringEquals"}), "g:UserName", [val("/v/0", "alice", {})], {"cond_operator_spelling": true})
	some f in data.imsguard.lint.findings with input as inp
	f.code == "E-COND-OPERATOR"
	f.fix == "did you mean \"StringEquals\"?"
}

test_numeric_operator_hint if {
	om := object.remove(opm("NumericLessThan", "NumericLessThan", {}), ["catalog"])
	some msg in found(cond(om, "g:MFAAge", [val("/v/0", "900", {})], {"cond_operator_spelling": true}), "E-COND-OPERATOR")
	contains(msg, "Number")
}

test_operator_case if {
	om := opm("stringequals", "stringequals", operators.stringequals)
	some f in data.imsguard.lint.findings with input as cond(om, "g:UserName", [val("/v/0", "alice", {})], {"cond_operator_spelling": true})
	f.code == "W-OPERATOR-CASE"
	f.fix == "write \"StringEquals\""
}

test_if_exists_on_null_check if {
	om := object.union(opm("IsNullIfExists", "IsNull", operators.isnull), {"suffix": "IfExists"})
	"E-COND-OPERATOR" in codes(cond(om, "g:UserName", [], {"cond_if_exists": true}))
}

test_bad_qualifier if {
	om := object.union(opm("ForSomeValues:StringEquals", "StringEquals", operators.stringequals), {"qualifier": "ForSomeValues", "qualifier_lower": "forsomevalues", "has_qualifier": true})
	"E-COND-OPERATOR" in codes(cond(om, "g:UserName", [val("/v/0", "a", {})], {"cond_operator_spelling": true, "cond_qualifier": true}))
}

test_value_parsing if {
	om := opm("DateLessThan", "DateLessThan", operators.datelessthan)
	"E-COND-VALUE" in codes(cond(om, "g:CurrentTime", [val("/v/0", "tomorrow", {})], {}))
	ok := val("/v/0", "2030-01-01T00:00:00Z", {"parses": {"number": false, "date": true, "boolean": false, "ip": false}})
	codes(cond(om, "g:CurrentTime", [ok], {})) == set()
}

test_bool_and_ip_values if {
	"E-COND-VALUE" in codes(cond(opm("Bool", "Bool", operators.bool), "g:MFAPresent", [val("/v/0", "yes", {})], {}))
	"E-COND-VALUE" in codes(cond(opm("IpAddress", "IpAddress", operators.ipaddress), "g:SourceIp", [val("/v/0", "10.0.0.300", {})], {}))
}

test_type_mismatch if {
	"E-COND-TYPE" in codes(cond(opm("StringEquals", "StringEquals", operators.stringequals), "g:CurrentTime", [val("/v/0", "x", {})], {}))
	"E-COND-TYPE" in codes(cond(opm("IpAddress", "IpAddress", operators.ipaddress), "g:UserName", [val("/v/0", "10.0.0.1", {"parses": {"number": false, "date": false, "boolean": false, "ip": true}})], {}))
}

test_unknown_key if {
	some f in data.imsguard.lint.findings with input as cond(opm("StringEquals", "StringEquals", operators.stringequals), "hw:SourceIp", [val("/v/0", "x", {})], {})
	f.code == "W-COND-KEY-UNKNOWN"
	f.fix == "did you mean \"g:SourceIp\"?"
}

test_tag_keys_are_known if {
	codes(cond(opm("StringEquals", "StringEquals", operators.stringequals), "g:ResourceTag/team", [val("/v/0", "x", {})], {})) == set()
}

test_values_count_and_length if {
	om := opm("StringEquals", "StringEquals", operators.stringequals)
	"E-COND-VALUES-COUNT" in codes(cond(om, "g:UserName", [], {"cond_empty": true}))
	"E-COND-VALUE-LENGTH" in codes(cond(om, "g:UserName", [val("/v/0", "", {})], {"cond_empty": true}))
	vals := [val(sprintf("/v/%d", [i]), "a", {}) | some i in numbers.range(0, 10)]
	"E-COND-VALUES-COUNT" in codes(object.union(cond(om, "g:UserName", vals, {}), {"over": {"values": true}}))
}

test_null_operator_takes_one_value if {
	"E-COND-VALUES-COUNT" in codes(cond(opm("Null", "Null", operators.null), "g:UserName", [], {"cond_null": true}))
}

test_null_check_values if {
	"W-COND-NULL-VALUE" in codes(cond(opm("IsNull", "IsNull", operators.isnull), "g:UserName", [val("/v/0", "no", {})], {"cond_null_check": true}))
	codes(cond(opm("IsNull", "IsNull", operators.isnull), "g:UserName", [val("/v/0", "true", {})], {"cond_null_check": true})) == set()
}

test_charset_control_and_glob if {
	om := opm("StringEquals", "StringEquals", operators.stringequals)
	"W-COND-VALUE-CHARSET" in codes(cond(om, "g:UserName", [val("/v/0", "a b", {"charset": " "})], {"cond_value_charset": true}))
	"E-COND-VALUE" in codes(cond(om, "g:UserName", [val("/v/0", "a\tb", {"control": true, "charset": "\t"})], {"cond_value_control": true, "cond_value_charset": true}))
	like := opm("StringLike", "StringLike", operators.stringlike)
	"W-STRINGLIKE-GLOB" in codes(cond(like, "g:UserName", [val("/v/0", "adm*", {"glob": true})], {"cond_value_glob": true}))
}

test_condition_shape if {
	s := object.union(stmt(0), {"f": {"Condition": {"kind": "object", "pointer": "/Statement/0/Condition", "count": 0}}})
	"E-COND-COUNT" in codes(doc({"statements": [s], "has": {"condition": true, "cond_empty": true}}))
	arr := object.union(stmt(0), {"f": {"Condition": {"kind": "array", "pointer": "/Statement/0/Condition", "count": 0}}})
	"E-COND-VALUE-TYPE" in codes(doc({"statements": [arr], "has": {"condition": true, "cond_value_type": true}}))
}

test_editions if {
	like := opm("StringLike", "StringLike", operators.stringlike)
	inp := cond(like, "g:UserName", [val("/v/0", "adm", {})], {})
	"W-LEGACY-OPERATOR" in codes(object.union(inp, {"settings": {"operator_edition": "2023"}}))
	not "W-LEGACY-OPERATOR" in codes(inp)
	match := cond(opm("StringMatch", "StringMatch", operators.stringmatch), "g:UserName", [val("/v/0", "adm*", {})], {})
	"W-NEW-OPERATOR" in codes(object.union(match, {"settings": {"operator_edition": "2021"}}))
}
