package imsguard.lint_test

member(ptr, kind, value) := {"kind": kind, "pointer": ptr, "count": 0, "value": value, "length": count(value)}

good_members := {
	"display_name": member("/role/display_name", "string", "IMSImageReaders"),
	"type": member("/role/type", "string", "XA"),
	"description": member("/role/description", "string", "read images"),
	"policy": {"kind": "object", "pointer": "/role/policy", "count": 2},
}

role_doc(members, has) := doc({
	"pointer": "/role/policy",
	"wrapper": {"kind": "role", "pointer": "/role", "node_kind": "object", "members": members},
	"has": object.union({"role_request": true}, has),
	"services": {"ims"},
})

test_clean_role_request if {
	codes(role_doc(good_members, {})) == set()
}

test_role_name_rules if {
	"E-ROLE-NAME" in codes(role_doc(object.remove(good_members, ["display_name"]), {"role_display_name_irregular": true}))
	"E-ROLE-NAME" in codes(role_doc(object.union(good_members, {"display_name": member("/role/display_name", "string", "  ")}), {"role_display_name_irregular": true}))
	long := concat("", ["x" | some _ in numbers.range(1, 65)])
	"E-ROLE-NAME-LENGTH" in codes(role_doc(object.union(good_members, {"display_name": member("/role/display_name", "string", long)}), {"role_display_name_irregular": true}))
	"E-ROLE-NAME-CHARS" in codes(role_doc(object.union(good_members, {"display_name": member("/role/display_name", "string", "<b>")}), {"role_display_name_irregular": true}))
}

test_role_type_reserved_description if {
	"E-ROLE-TYPE" in codes(role_doc(object.union(good_members, {"type": member("/role/type", "string", "AA")}), {"role_type_irregular": true}))
	"E-ROLE-RESERVED" in codes(role_doc(object.union(good_members, {"catalog": member("/role/catalog", "string", "CUSTOMED")}), {"role_reserved": true}))
	"E-ROLE-DESCRIPTION" in codes(role_doc(object.remove(good_members, ["description"]), {"role_description_irregular": true}))
}

test_role_policy_missing if {
	inp := object.union(role_doc(object.remove(good_members, ["policy"]), {"no_policy": true}), {"root": {"kind": "missing"}})
	"E-ROLE-POLICY" in codes(inp)
}

test_responses_are_not_requests if {
	inp := role_doc(object.union(good_members, {"catalog": member("/role/catalog", "string", "CUSTOMED")}), {"role_reserved": true})
	not "E-ROLE-RESERVED" in codes(object.union(object.remove(inp, ["has"]), {"has": {"role_response": true, "role_reserved": true}}))
}

test_scope_type_and_mix if {
	ax := role_doc(object.union(good_members, {"type": member("/role/type", "string", "AX")}), {})
	"W-SCOPE-TYPE" in codes(ax)
	"E-SCOPE-MIX" in codes(doc({"services": {"ims", "obs"}, "has": {"several_services": true}}))
	not "E-SCOPE-MIX" in codes(doc({"services": {"ims", "ecs"}, "has": {"several_services": true}}))
}
