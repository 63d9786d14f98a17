package imsguard.lint_test

res(i, j, value, mo) := {
	"statement": i, "index": j, "field": "Resource", "pointer": sprintf("/Statement/%d/Resource/%d", [i, j]), "kind": "string",
	"m": object.union(
		{"value": value, "length": count(value), "segments": count(split(value, ":")), "service_lower": lower(split(value, ":")[0]), "region": "*", "account": "*", "type_lower": "bucket", "bad_chars": ""},
		mo,
	),
}

res_stmt(n) := with_f(0, {"Effect": stmt(0).f.Effect, "Action": stmt(0).f.Action, "Resource": {"kind": "array", "pointer": "/Statement/0/Resource", "count": n}})

one_resource(r, a) := doc({"statements": [res_stmt(1)], "actions": [a], "resources": [r], "has": {"resource": true}})

test_ims_resource_unsupported if {
	a := act(0, 0, "ims:images:list", "Allow", {})
	r := res(0, 0, "ims:*:*:image:*", {"type_lower": "image"})
	found(one_resource(r, a), "E-RESOURCE-UNSUPPORTED") == {
		"/Statement/0/Resource": "statement 0 limits actions of ims to resources, but that service has no resource-level authorization: IAM rejects the policy (IAM.1045/1046)",
		"/Statement/0/Resource/0": "service \"ims\" does not support resource-level authorization: a policy with this resource cannot be created (IAM.1045/1046)",
	}
}

test_obs_resource_is_fine if {
	a := act(0, 0, "obs:object:GetObject", "Allow", {})
	codes(one_resource(res(0, 0, "obs:*:*:object:my-bucket/*", {"type_lower": "object"}), a)) == set()
}

test_resource_format_chars_region if {
	a := act(0, 0, "obs:object:GetObject", "Allow", {})
	"E-RESOURCE-FORMAT" in codes(one_resource(res(0, 0, "obs:bucket", {}), a))
	"E-RESOURCE-CHARS" in codes(one_resource(res(0, 0, "obs:*:*:bucket:a b", {"bad_chars": " "}), a))
	"E-RESOURCE-REGION" in codes(one_resource(res(0, 0, "obs:mars-1:*:bucket:x", {"region": "mars-1"}), a))
	"W-RESOURCE-STAR-V11" in codes(one_resource(res(0, 0, "*", {"segments": 1}), a))
}

test_configured_region_is_known if {
	a := act(0, 0, "obs:object:GetObject", "Allow", {})
	inp := object.union(one_resource(res(0, 0, "obs:my-1:*:bucket:x", {"region": "my-1"}), a), {"settings": {"regions": {"my-1": true}}})
	not "E-RESOURCE-REGION" in codes(inp)
}

test_resource_count if {
	inp := doc({"statements": [res_stmt(0)], "has": {"resource": true}})
	"E-RESOURCE-COUNT" in codes(inp)
}

agency_stmt(keys, cond) := object.union(
	with_f(0, {
		"Effect": stmt(0).f.Effect, "Action": stmt(0).f.Action,
		"Resource": {"kind": "object", "pointer": "/Statement/0/Resource", "count": count(keys), "keys": keys, "uri_kind": "array"},
	}),
	{"f": cond},
)

uri(j, value) := {"statement": 0, "index": j, "pointer": sprintf("/Statement/0/Resource/uri/%d", [j]), "kind": "string", "value": value, "length": count(value), "blank": contains(value, " ")}

test_agency_ok if {
	inp := doc({"family": "agency", "statements": [agency_stmt(["uri"], {})], "actions": [act(0, 0, "iam:agencies:assume", "Allow", {})], "agency_uris": [uri(0, "/iam/agencies/07805acaba80")], "has": {"resource": true, "agency": true}})
	codes(inp) == set()
}

test_agency_rules if {
	cond := {"Condition": {"kind": "object", "pointer": "/Statement/0/Condition", "count": 1}}
	inp := doc({"family": "agency", "statements": [agency_stmt(["uri", "id"], cond)], "actions": [act(0, 0, "ims:images:list", "Allow", {})], "agency_uris": [uri(0, "/iam/agencies/x y")], "has": {"resource": true, "agency": true}})
	codes(inp) == {"E-AGENCY-URI", "E-AGENCY-ACTION", "E-AGENCY-CONDITION"}
}

test_agency_several_unexpected_keys_in_one_message if {
	# Two keys besides "uri" used to make agency_uri_problem yield two values (an
	# evaluation error that failed the whole lint run); found by FuzzLint.
	inp := doc({"family": "agency", "statements": [agency_stmt(["", "0"], {})], "actions": [act(0, 0, "iam:agencies:assume", "Allow", {})], "has": {"resource": true, "agency": true}})
	msgs := found(inp, "E-AGENCY-URI")
	msgs["/Statement/0/Resource"] == "an agency Resource is {\"uri\": [...]}; unexpected keys \"\", \"0\""
}
