package imsguard.lint_test

one_action(a, has) := doc({"statements": [stmt(0)], "actions": [a], "has": has})

test_action_chars if {
	a := act(0, 0, "ims:images:list ", "Allow", {"bad_chars": " "})
	"E-ACTION-CHARS" in codes(one_action(a, {"action_chars": true}))
}

test_action_qmark_warns_in_1_1_only if {
	a := act(0, 0, "ims:images:ge?", "Allow", {"qmark": true, "wildcard": true})
	"W-ACTION-QMARK" in codes(one_action(a, {"action_chars": true}))
	not "W-ACTION-QMARK" in codes(object.union(one_action(a, {"action_chars": true}), {"family": "identity"}))
}

test_action_format if {
	a := act(0, 0, "ims:images", "Allow", {"segments": 2, "norm_segments": []})
	"E-ACTION-FORMAT" in codes(one_action(a, {"action_segments": true}))
	star := act(0, 0, "*", "Allow", {"segments": 1, "norm_segments": ["*", "*", "*"]})
	some f in data.imsguard.lint.findings with input as one_action(star, {"action_segments": true})
	f.code == "E-ACTION-FORMAT"
	contains(f.fix, "*:*:*")
	not "E-ACTION-FORMAT" in codes(object.union(one_action(star, {"action_segments": true}), {"family": "identity"}))
}

test_role_actions_may_have_two_segments if {
	a := act(0, 0, "ims:*", "Allow", {"segments": 2, "norm_segments": ["ims", "*", "*"]})
	not "E-ACTION-FORMAT" in codes(object.union(one_action(a, {"action_segments": true}), {"family": "role"}))
}

test_service_case if {
	a := act(0, 0, "OBS:bucket:list", "Allow", {"upper_service": true})
	some f in data.imsguard.lint.findings with input as one_action(a, {"action_upper_service": true})
	f.code == "W-SERVICE-CASE"
	f.fix == "write \"obs:bucket:list\""
}

test_unregistered_ims_action_suggests if {
	a := act(0, 0, "ims:image:list", "Allow", {"known": false, "expands": [], "suggestion": "ims:images:list"})
	some f in data.imsguard.lint.findings with input as one_action(a, {"action_unknown": true})
	f.code == "E-ACTION-UNREGISTERED"
	f.fix == "did you mean \"ims:images:list\"?"
}

test_unknown_service_warns if {
	a := act(0, 0, "vpc:ports:get", "Allow", {"known": false, "expands": []})
	codes(one_action(a, {"action_unknown": true})) == {"W-UNKNOWN-ACTION"}
}

test_wildcard_matching_nothing_warns if {
	a := act(0, 0, "ims:volumes:*", "Allow", {"known": false, "expands": [], "wildcard": true})
	codes(one_action(a, {"action_unknown": true})) == {"W-UNKNOWN-ACTION"}
}

test_broad_allow if {
	a := act(0, 0, "ims:*:*", "Allow", {"wildcard": true})
	"I-BROAD-ALLOW" in codes(one_action(a, {"action_broad": true}))
	d := act(0, 0, "ims:*:*", "Deny", {"wildcard": true})
	not "I-BROAD-ALLOW" in codes(one_action(d, {"action_broad": true}))
}
