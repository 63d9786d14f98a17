package imsguard.authz_test

import data.imsguard.authz

# ---------------------------------------------------------------- helpers

raw(fn, neg, values) := {"fn": fn, "neg": neg, "key": "k", "values": values, "if_exists": false, "qual": "", "valid": true}

c(fn, neg, values) := authz.annotate(raw(fn, neg, values))

holds(cond, vals) if authz.cond_holds(cond, "Allow") with input as {"context": {"k": vals}, "set": {}}

holds_absent(cond) if authz.cond_holds(cond, "Allow") with input as {"context": {}, "set": {}}

# ---------------------------------------------------------------- string operators

test_string_equals_is_case_sensitive_any_value if {
	holds(c("eq", false, ["a", "b"]), ["b"])
	not holds(c("eq", false, ["a"]), ["A"])
}

test_string_not_equals_needs_all_values_to_differ if {
	holds(c("eq", true, ["a", "b"]), ["c"])
	not holds(c("eq", true, ["a", "b"]), ["b"])
}

test_string_equals_ignore_case if {
	holds(c("eq_ci", false, ["alice"]), ["ALICE"])
	not holds(c("eq_ci", true, ["alice"]), ["Alice"])
	holds(c("eq_ci", true, ["alice"]), ["bob"])
}

test_string_like_is_substring_case_insensitive if {
	holds(c("contains_ci", false, ["dev"]), ["ae-ad-1_DEV"])
	not holds(c("contains_ci", false, ["prod"]), ["ae-ad-1_dev"])
	holds(c("contains_ci", true, ["prod"]), ["ae-ad-1_dev"])
	not holds(c("contains_ci", true, ["dev"]), ["x_dev_y"])
}

test_string_start_and_end_with if {
	holds(c("prefix_ci", false, ["ae-"]), ["AE-ad-1"])
	not holds(c("prefix_ci", false, ["ad"]), ["ae-ad-1"])
	holds(c("prefix_ci", true, ["eu-"]), ["ae-ad-1"])
	holds(c("suffix_ci", false, ["_dev"]), ["ae-ad-1_DEV"])
	not holds(c("suffix_ci", true, ["_dev"]), ["ae-ad-1_dev"])
}

test_string_match_glob_case_sensitive if {
	holds(c("match", false, ["ali*"]), ["alice"])
	holds(c("match", false, ["b?b"]), ["bob"])
	not holds(c("match", false, ["b?b"]), ["boob"])
	not holds(c("match", false, ["Ali*"]), ["alice"])
	holds(c("match", true, ["x*"]), ["alice"])
	not holds(c("match", true, ["a*"]), ["alice"])
}

test_string_match_star_spans_dots_and_slashes if {
	holds(c("match", false, ["alice*"]), ["alice.smith"])
	holds(c("match", false, ["*.ops"]), ["team.a.ops"])
	holds(c("match", false, ["a?b"]), ["a.b"])
	holds(c("match", false, ["dept/*"]), ["dept/a.b/c"])
	not holds(c("match", true, ["alice*"]), ["alice.smith"])
}

# ---------------------------------------------------------------- number, date, bool, ip

test_number_operators if {
	holds(c("num_eq", false, [900]), ["900"])
	holds(c("num_eq", false, [1.5]), ["1.50"])
	holds(c("num_lt", false, [10]), ["9"])
	not holds(c("num_lt", false, [10]), ["10"])
	holds(c("num_le", false, [10]), ["10"])
	holds(c("num_gt", false, [10]), ["11"])
	holds(c("num_ge", false, [10]), ["10"])
	not holds(c("num_ge", false, [10]), ["-3"])
	holds(c("num_eq", true, [1, 2]), ["3"])
	not holds(c("num_eq", true, [1, 2]), ["2"])
}

test_unparsable_request_number_is_false_also_when_negated if {
	not holds(c("num_eq", false, [1]), ["one"])
	not holds(c("num_eq", true, [1]), ["one"])
	not holds(c("num_lt", false, [10]), ["1e0"])
}

t2030 := time.parse_rfc3339_ns("2030-01-01T00:00:00Z")

test_date_operators if {
	holds(c("date_lt", false, [t2030]), ["2029-12-31T23:59:59Z"])
	not holds(c("date_lt", false, [t2030]), ["2030-01-01T00:00:00Z"])
	holds(c("date_le", false, [t2030]), ["2030-01-01T04:00:00+04:00"])
	holds(c("date_gt", false, [t2030]), ["2030-01-01T00:00:01Z"])
	holds(c("date_ge", false, [t2030]), ["2030-01-01T00:00:00Z"])
	not holds(c("date_gt", false, [t2030]), ["not a date"])
}

test_bool if {
	holds(c("bool", false, ["true"]), ["TRUE"])
	not holds(c("bool", false, ["true"]), ["false"])
	not holds(c("bool", false, ["false"]), ["no"])
}

test_ip_address if {
	holds(c("ip", false, ["10.0.0.0/8"]), ["10.1.2.3"])
	holds(c("ip", false, ["192.0.2.7/32", "10.0.0.0/8"]), ["192.0.2.7"])
	not holds(c("ip", false, ["10.0.0.0/8"]), ["11.0.0.1"])
	holds(c("ip", false, ["2001:db8::/32"]), ["2001:db8::1"])
	holds(c("ip", true, ["10.0.0.0/8"]), ["11.0.0.1"])
	not holds(c("ip", true, ["10.0.0.0/8"]), ["10.0.0.1"])
	not holds(c("ip", true, ["10.0.0.0/8"]), ["not-an-ip"])
	not holds(c("ip", false, ["10.0.0.0/8"]), ["not-an-ip"])
}

# ---------------------------------------------------------------- null checks

test_null_operators if {
	holds_absent(c("is_null", false, []))
	not holds(c("is_null", false, []), ["x"])
	not holds_absent(c("is_not_null", false, []))
	holds(c("is_not_null", false, []), ["x"])
	holds_absent(c("is_null_or_empty", false, []))
	holds(c("is_null_or_empty", false, []), [""])
	not holds(c("is_null_or_empty", false, []), ["x"])
	holds_absent(c("null", false, ["true"]))
	not holds(c("null", false, ["true"]), ["x"])
	not holds_absent(c("null", false, ["false"]))
	holds(c("null", false, ["false"]), ["x"])
}

# ---------------------------------------------------------------- absent keys, IfExists, qualifiers

test_absent_key_is_false_even_for_negated_operators if {
	not holds_absent(c("eq", false, ["a"]))
	not holds_absent(c("eq", true, ["a"]))
	holds(c("eq", false, ["a"]), ["a"])
}

test_absent_negated_option if {
	opts := {"options": {"absent_negated": true}}
	neg := authz.annotate(raw("eq", true, ["a"])) with input as {"set": opts}
	pos := authz.annotate(raw("eq", false, ["a"])) with input as {"set": opts}
	authz.cond_holds(neg, "Allow") with input as {"context": {}, "set": opts}
	not authz.cond_holds(pos, "Allow") with input as {"context": {}, "set": opts}
}

test_empty_value_list_counts_as_absent if {
	not holds(c("eq", true, ["a"]), [])
}

test_if_exists if {
	cond := authz.annotate(object.union(raw("eq", false, ["a"]), {"if_exists": true}))
	holds_absent(cond)
	holds(cond, ["a"])
	not holds(cond, ["b"])
}

test_for_all_values if {
	cond := authz.annotate(object.union(raw("eq", false, ["a", "b"]), {"qual": "all"}))
	holds(cond, ["a", "b"])
	not holds(cond, ["a", "z"])
	holds_absent(cond)
}

test_for_any_value if {
	cond := authz.annotate(object.union(raw("eq", false, ["a"]), {"qual": "any"}))
	holds(cond, ["z", "a"])
	not holds(cond, ["z"])
	not holds_absent(cond)
}

test_unqualified_multi_valued_key_is_any_value if {
	holds(c("eq", false, ["a"]), ["z", "a"])
}

test_invalid_condition_never_allows_and_keeps_deny if {
	bad := authz.annotate(object.union(raw("eq", false, ["a"]), {"valid": false, "fn": "invalid"}))
	not authz.cond_holds(bad, "Allow") with input as {"context": {"k": ["a"]}}
	authz.cond_holds(bad, "Deny") with input as {"context": {"k": ["zzz"]}}
}

test_conditions_are_anded if {
	st := {"effect": "Allow", "conditions": [c("eq", false, ["a"]), authz.annotate(object.union(raw("eq", false, ["b"]), {"key": "j"}))]}
	authz.conditions_hold(st) with input as {"context": {"k": ["a"], "j": ["b"]}}
	not authz.conditions_hold(st) with input as {"context": {"k": ["a"], "j": ["x"]}}
	authz.conditions_hold({"effect": "Allow", "conditions": []}) with input as {"context": {}}
}

# ---------------------------------------------------------------- actions

test_action_wildcards_stay_within_segments if {
	authz.action_matches("ims:images:get", "ims:images:get")
	authz.action_matches("ims:*:get*", "ims:images:get")
	authz.action_matches("ims:*:*", "ims:serverimages:create")
	authz.action_matches("*:*:*", "ecs:servers:list")
	authz.action_matches("ims:images:?et", "ims:images:get")
	not authz.action_matches("ims:images:?et", "ims:images:gget")
	not authz.action_matches("ims:*", "ims:images:get")
	not authz.action_matches("ims:*:get", "ims:images:list")
	not authz.action_matches("ims:images*", "ims:images:get")
}

# ---------------------------------------------------------------- scopes

scope_atts := [
	{"name": "all", "scope": {"kind": "all_projects", "projects": {}, "enterprise_projects": {}}, "statements": []},
	{"name": "proj", "scope": {"kind": "project", "projects": {"ae-ad-1": true}, "enterprise_projects": {}}, "statements": []},
	{"name": "global", "scope": {"kind": "global", "projects": {}, "enterprise_projects": {}}, "statements": []},
	{"name": "ep", "scope": {"kind": "enterprise_project", "projects": {}, "enterprise_projects": {"ep-1": true}}, "statements": []},
]

scope_set := mkset(scope_atts)

flat(groups) := [x | some g in groups; some x in g]

mkset(atts) := {"attachments": atts, "scope_index": authz.scope_index(atts)}

test_scope_all_projects_project_global_enterprise if {
	authz.applicable == {0, 1} with input as object.union({"project": "ae-ad-1", "ep_supported": true}, {"set": scope_set})
	authz.applicable == {0} with input as object.union({"project": "ae-ad-1_dev", "ep_supported": true}, {"set": scope_set})
	authz.applicable == {0, 2} with input as object.union({"project": "global"}, {"set": scope_set})
	authz.applicable == {0, 1, 3} with input as object.union({"project": "ae-ad-1", "enterprise_project_id": "ep-1", "ep_supported": true}, {"set": scope_set})
}

test_enterprise_project_grant_ignored_when_api_does_not_support_it if {
	authz.applicable == {0, 1} with input as object.union({"project": "ae-ad-1", "enterprise_project_id": "ep-1", "ep_supported": false}, {"set": scope_set})
	reasons := {r | some [3, r] in authz.skipped} with input as object.union({"project": "ae-ad-1", "enterprise_project_id": "ep-1", "ep_supported": false, "explain": true}, {"set": scope_set})
	count(reasons) == 1
}

# ---------------------------------------------------------------- decisions

stmt(idx, effect, acts) := {"index": idx, "effect": effect, "actions": acts, "resources": [], "conditions": [], "has_conditions": false}

att(stmts) := {"name": "p", "scope": {"kind": "all_projects", "projects": {}, "enterprise_projects": {}}, "statements": stmts}

decide(set, actions) := r if {
	r := authz.result with input as object.union({"actions": actions, "project": "ae-ad-1", "context": {}}, {"set": set})
}

test_explicit_deny_wins_regardless_of_order if {
	s1 := mkset([att([stmt(0, "Allow", ["ims:*:*"]), stmt(1, "Deny", ["ims:images:share"])])])
	s2 := mkset([att([stmt(0, "Deny", ["ims:images:share"])]), att([stmt(0, "Allow", ["ims:*:*"])])])
	decide(s1, ["ims:images:share"]).decision == "ExplicitDeny"
	decide(s2, ["ims:images:share"]).decision == "ExplicitDeny"
	decide(s1, ["ims:images:get"]).decision == "Allow"
}

test_implicit_deny_without_matching_allow if {
	s := mkset([att([stmt(0, "Allow", ["ims:images:list"])])])
	r := decide(s, ["ims:images:get"])
	r.decision == "ImplicitDeny"
	flat(r.actions["ims:images:get"].allow) == []
	r.actions["ims:images:get"].cond == []
}

test_every_action_must_be_allowed if {
	s := mkset([att([stmt(0, "Allow", ["ims:images:get", "ims:images:update"])])])
	r := decide(s, ["ims:images:get", "ims:images:update", "ims:images:upload"])
	r.decision == "ImplicitDeny"
	r.actions["ims:images:get"].effect == "Allow"
	r.actions["ims:images:upload"].effect == "ImplicitDeny"
}

test_pattern_case_is_ignored if {
	s := mkset([att([stmt(0, "Allow", ["ims:serverimages:create"])])])
	decide(s, ["ims:serverimages:create"]).decision == "Allow"
}

cstmt(idx, effect, acts) := object.union(stmt(idx, effect, acts), {"conditions": [c("eq", false, ["a"])], "has_conditions": true})

test_annotate_modes_and_kinds if {
	c("eq", false, ["a"]).mode == "pos"
	c("num_lt", true, [1]).mode == "neg"
	c("num_lt", true, [1]).kind == "num"
	c("ip", false, ["10.0.0.0/8"]).kind == "ip"
	c("null", false, ["false"]).mode == "null_false"
	c("null", false, ["true"]).mode == "never"
	c("null", false, ["true"]).absent == true
	c("is_null", false, []).mode == "never"
	c("eq", true, ["a"]).absent == false
}

test_index_and_scan_agree if {
	s := mkset([
		att([stmt(0, "Allow", ["ims:*:get*"]), stmt(1, "Deny", ["ims:images:get"]), cstmt(2, "Allow", ["ims:images:*"])]),
		att([stmt(0, "Allow", ["ims:images:list"])]),
		object.union(att([stmt(5, "Allow", ["ims:images:list"])]), {"scope": {"kind": "project", "projects": {"p": true}, "enterprise_projects": {}}}),
	])
	idx := authz.index(["ims:images:get", "ims:quotas:get", "ims:images:list", "ecs:servers:get"]) with input as {"set": s}
	idx["ims:images:get"].all_projects == {"allow": [[0, 0]], "deny": [[0, 1]], "cond": [[0, 2]]}
	idx["ims:quotas:get"].all_projects == {"allow": [[0, 0]], "deny": [], "cond": []}
	idx["ims:images:list"].all_projects == {"allow": [[1, 0]], "deny": [], "cond": [[0, 2]]}
	idx["ims:images:list"].projects.p == {"allow": [[2, 5]], "deny": [], "cond": []}
	idx["ecs:servers:get"].all_projects == {"allow": [], "deny": [], "cond": []}
	indexed := object.union(s, {"by_action": idx})
	every a in ["ims:images:get", "ims:images:list", "ims:quotas:get"] {
		decide(indexed, [a]) == decide(s, [a])
	}
}

test_conditional_statement_reported_when_it_holds if {
	s := mkset([att([stmt(0, "Allow", ["ims:images:get"]), cstmt(1, "Deny", ["ims:images:get"])])])
	r := authz.result with input as {"set": s, "actions": ["ims:images:get"], "project": "p", "context": {"k": ["a"]}}
	r.decision == "ExplicitDeny"
	r.actions["ims:images:get"].cond == [[0, 1, "Deny"]]
	r.context_keys == {"k"}
	r2 := authz.result with input as {"set": s, "actions": ["ims:images:get"], "project": "p", "context": {"k": ["b"]}}
	r2.decision == "Allow"
	flat(r2.actions["ims:images:get"].allow) == [[0, 0]]
	r2.actions["ims:images:get"].cond == []
}

test_ncond_counts_only_applicable_conditional_candidates if {
	plain := mkset([att([stmt(0, "Allow", ["ims:images:get"])])])
	decide(plain, ["ims:images:get"]).actions["ims:images:get"].ncond == 0
	mixed := mkset([att([stmt(0, "Allow", ["ims:images:get"]), cstmt(1, "Deny", ["ims:images:list"])])])
	decide(mixed, ["ims:images:get"]).actions["ims:images:get"].ncond == 0
	decide(mixed, ["ims:images:list"]).actions["ims:images:list"].ncond == 1
	decide(mixed, ["ims:images:list"]).context_keys == {"k"}
	decide(mixed, ["ims:images:get"]).context_keys == set()
}

test_statement_with_resource_needs_matching_resource if {
	st := object.union(stmt(0, "Allow", ["obs:object:get"]), {"resources": [["obs", "*", "*", "object", "bucket/*"]]})
	s := mkset([att([st])])
	authz.result.decision == "Allow" with input as object.union({"actions": ["obs:object:get"], "project": "p", "context": {}, "resource": "OBS:ae-ad-1:acct:object:bucket/a/b"}, {"set": s})
	authz.result.decision == "ImplicitDeny" with input as object.union({"actions": ["obs:object:get"], "project": "p", "context": {}, "resource": "obs:ae-ad-1:acct:object:other/a"}, {"set": s})
}

# ---------------------------------------------------------------- unknown enterprise project

ep_atts := [
	att([stmt(0, "Allow", ["ims:images:get"])]),
	{"name": "dev", "scope": {"kind": "enterprise_project", "projects": {}, "enterprise_projects": {"ep-dev": true}}, "statements": [stmt(0, "Allow", ["ims:*:*"])]},
	{"name": "fin", "scope": {"kind": "enterprise_project", "projects": {}, "enterprise_projects": {"ep-fin": true}}, "statements": [stmt(0, "Deny", ["ims:images:get"]), stmt(1, "Allow", ["ims:images:list"])]},
]

ep_decide(actions, extra) := r if {
	s := mkset(ep_atts)
	r := authz.result with input as object.union(object.union({"actions": actions, "project": "ae-ad-1", "context": {}, "ep_supported": true}, extra), {"set": s})
}

test_established_enterprise_project_applies_its_grants if {
	ep_decide(["ims:images:delete"], {"enterprise_project_id": "ep-dev"}).decision == "Allow"
	ep_decide(["ims:images:get"], {"enterprise_project_id": "ep-fin"}).decision == "ExplicitDeny"
	ep_decide(["ims:images:get"], {"enterprise_project_id": "ep-dev"}).decision == "Allow"
}

test_unknown_enterprise_project_allows_nothing_through_ep_grants if {
	ep_decide(["ims:images:delete"], {"ep_unknown": true}).decision == "ImplicitDeny"
	ep_decide(["ims:images:list"], {"ep_unknown": true}).decision == "ImplicitDeny"

	# a claimed id changes nothing while the enterprise project is unknown
	ep_decide(["ims:images:delete"], {"ep_unknown": true, "enterprise_project_id": "ep-dev"}).decision == "ImplicitDeny"
}

test_unknown_enterprise_project_applies_every_ep_deny if {
	# project-level Allow, enterprise-project Deny on ep-fin: the request may be in ep-fin
	ep_decide(["ims:images:get"], {"ep_unknown": true}).decision == "ExplicitDeny"
	ep_decide(["ims:images:get"], {"ep_unknown": true, "enterprise_project_id": "ep-dev"}).decision == "ExplicitDeny"

	# named none (offline evaluation, spec 7.2): enterprise-project grants are ignored
	ep_decide(["ims:images:get"], {}).decision == "Allow"
}

test_unknown_enterprise_project_applies_conditional_ep_deny_only if {
	cond_deny := object.union(stmt(0, "Deny", ["ims:images:get"]), {"has_conditions": true, "conditions": [authz.annotate(object.union(raw("eq", false, ["x"]), {"key": "g:username"}))]})
	cond_allow := object.union(stmt(1, "Allow", ["ims:images:delete"]), {"has_conditions": true, "conditions": [authz.annotate(object.union(raw("eq", false, ["x"]), {"key": "g:username"}))]})
	atts := [
		att([stmt(0, "Allow", ["ims:images:get"])]),
		{"name": "fin", "scope": {"kind": "enterprise_project", "projects": {}, "enterprise_projects": {"ep-fin": true}}, "statements": [cond_deny, cond_allow]},
	]
	s := mkset(atts)
	base := {"project": "ae-ad-1", "ep_supported": true, "ep_unknown": true, "set": s}
	r1 := authz.result with input as object.union(base, {"actions": ["ims:images:get"], "context": {"g:username": ["x"]}})
	r1.decision == "ExplicitDeny"
	r2 := authz.result with input as object.union(base, {"actions": ["ims:images:get"], "context": {"g:username": ["y"]}})
	r2.decision == "Allow"
	r3 := authz.result with input as object.union(base, {"actions": ["ims:images:delete"], "context": {"g:username": ["x"]}})
	r3.decision == "ImplicitDeny"
}
