# Helpers for the lint unit tests: a minimal, well-formed input (what the Go input builder builds
# for {"Version": "1.1", "Statement": []}) that each test extends with object.union.
package imsguard.lint_test

import data.imsguard.lint

limits := {
	"statements": 8, "actions": 100, "resources": 10, "conditions": 10, "values": 10,
	"action_length": 128, "resource_length": 128, "value_length": 1024, "agency_uris": 20,
	"agency_uri_length": 128, "display_name": 64, "policy_size": 6144,
}

operators := {
	"stringequals": {"name": "StringEquals", "fn": "eq", "negated": false, "type": "string", "edition": "all", "case_insensitive": false},
	"stringlike": {"name": "StringLike", "fn": "contains_ci", "negated": false, "type": "string", "edition": "2021", "case_insensitive": true},
	"stringmatch": {"name": "StringMatch", "fn": "match", "negated": false, "type": "string", "edition": "2023", "case_insensitive": false},
	"datelessthan": {"name": "DateLessThan", "fn": "date_lt", "negated": false, "type": "date", "edition": "all", "case_insensitive": false},
	"bool": {"name": "Bool", "fn": "bool", "negated": false, "type": "boolean", "edition": "all", "case_insensitive": true},
	"ipaddress": {"name": "IpAddress", "fn": "ip", "negated": false, "type": "ip", "edition": "2021", "case_insensitive": false},
	"isnull": {"name": "IsNull", "fn": "is_null", "negated": false, "type": "null", "edition": "2021", "case_insensitive": false},
	"null": {"name": "Null", "fn": "null", "negated": false, "type": "null", "edition": "2023", "case_insensitive": false},
}

catalog := {
	"services": {"ims": true},
	"apis": {
		"glance_add_member": {"id": "glance_add_member", "section": "6.3.1", "path": "/v2/images/{image_id}/members", "family": "openstack", "actions": ["ims:images:get", "ims:images:share"]},
		"batch_add_members": {"id": "batch_add_members", "section": "5.2.2", "path": "/v1/cloudimages/members", "family": "extension", "actions": ["ims:images:share"]},
	},
}

base := {
	"file": "t.json", "pointer": "", "family": "policy",
	"version": {"kind": "string", "pointer": "/Version", "count": 0, "value": "1.1", "length": 3},
	"root": {"kind": "object", "pointer": "", "keys": ["Version", "Statement"]},
	"statement": {"kind": "array", "pointer": "/Statement", "count": 1},
	"statements": [],
	"actions": [], "resources": [], "agency_uris": [], "condition_operators": [], "condition_keys": [],
	"wrapper": {"kind": "", "pointer": "", "node_kind": "missing", "members": {}},
	"depends": {"kind": "missing"},
	"size": {"minified": 80, "raw": 90},
	"services": set(), "has": {}, "max": {}, "over": {},
	"allowed": set(), "denied": set(), "denied_always": set(),
	"ims": {"deps": [], "deps_more": [], "partial": [], "gaps": [], "no_ep": [], "no_ep_apis": set()},
	"gate": {"action": true, "condition": true, "document": true, "ims": true, "resource": true, "statement": true, "wrapper": true},
	"catalog": catalog, "operator_catalog": operators, "limits": limits,
	"settings": {"profile": "strict", "operator_edition": "", "size_mode": "minified", "regions": {}},
}

# doc builds an input from base and overrides (top-level members replaced, not merged).
doc(overrides) := object.union(object.remove(base, object.keys(overrides)), overrides)

# codes are the codes the rules report for an input.
codes(inp) := {f.code | some f in lint.findings with input as inp}

# found reports findings of one code as {pointer: message}.
found(inp, code) := {f.pointer: f.message | some f in lint.findings with input as inp; f.code == code}

# stmt is a well-formed Allow statement at index i.
stmt(i) := {
	"index": i, "pointer": sprintf("/Statement/%d", [i]), "kind": "object", "keys": ["Effect", "Action"],
	"effect": "Allow", "conditional": false,
	"f": {
		"Effect": {"kind": "string", "pointer": sprintf("/Statement/%d/Effect", [i]), "count": 0, "value": "Allow", "length": 5},
		"Action": {"kind": "array", "pointer": sprintf("/Statement/%d/Action", [i]), "count": 1},
	},
}

# with_f is statement i with its member fields replaced by f.
with_f(i, f) := object.union(object.remove(stmt(i), ["f"]), {"f": f})

# m is the measurement object of a plain, known 1.1 action.
m(value) := {
	"value": value, "lower": lower(value), "length": count(value), "segments": count(split(value, ":")),
	"service": split(value, ":")[0], "service_lower": lower(split(value, ":")[0]), "bad_chars": "", "qmark": false,
	"upper_service": false, "wildcard": false, "norm_segments": split(lower(value), ":"), "expands": [value],
	"known": true, "suggestion": "", "partial": [], "partial_needs": set(), "partial_apis": {}, "gaps": [], "gaps_needs": set(), "deps": [],
	"deps_direct": set(), "deps_direct_apis": set(), "has_partial": false, "has_gaps": false, "has_deps": false,
	"no_ep": set(), "has_no_ep": false,
}

# act is element j of statement i's Action, with measurement overrides mo.
act(i, j, value, effect, mo) := {
	"statement": i, "index": j, "field": "Action", "effect": effect, "conditional": false,
	"pointer": sprintf("/Statement/%d/Action/%d", [i, j]), "kind": "string", "m": object.union(m(value), mo),
}

test_base_is_clean if {
	count(codes(base)) == 0
}
