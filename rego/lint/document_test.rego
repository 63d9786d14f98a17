package imsguard.lint_test

test_version_missing if {
	"E-VERSION-MISSING" in codes(doc({"version": {"kind": "missing"}, "has": {"version_irregular": true}}))
}

test_version_type if {
	c := codes(doc({"version": {"kind": "number", "pointer": "/Version", "count": 0}, "has": {"version_irregular": true}}))
	c == {"E-VERSION-TYPE"}
}

test_version_value if {
	"E-VERSION-VALUE" in codes(doc({"version": {"kind": "string", "pointer": "/Version", "value": "2012-10-17"}, "has": {"version_irregular": true}}))
}

test_version_role_request_needs_1_1 if {
	inp := doc({
		"family": "role", "version": {"kind": "string", "pointer": "/role/policy/Version", "value": "1.0"},
		"wrapper": {"kind": "role", "pointer": "/role", "node_kind": "object", "members": {}},
		"has": {"role_request": true},
	})
	"E-VERSION-VALUE" in codes(inp)
	not "I-ROLE-NOT-CREATABLE" in codes(inp)
}

test_policy_document_needs_5_0 if {
	"E-VERSION-VALUE" in codes(doc({"wrapper": {"kind": "policy_document", "pointer": "/policy_document", "node_kind": "missing", "members": {}}}))
}

test_role_not_creatable if {
	codes(doc({"family": "role", "version": {"kind": "string", "pointer": "/Version", "value": "1.0"}})) == {"I-ROLE-NOT-CREATABLE"}
}

test_unknown_top_key_with_fix if {
	inp := doc({"root": {"kind": "object", "pointer": "", "keys": ["Version", "statement"]}, "has": {"top_extra_key": true}})
	some f in data.imsguard.lint.findings with input as inp
	f.code == "E-UNKNOWN-KEY"
	f.pointer == "/statement"
	contains(f.fix, "\"Statement\"")
}

test_depends_in_1_1 if {
	inp := doc({"root": {"kind": "object", "pointer": "", "keys": ["Version", "Statement", "Depends"]}, "has": {"top_extra_key": true, "depends": true}, "depends": {"kind": "array", "pointer": "/Depends", "count": 0, "entries": []}})
	codes(inp) == {"E-DEPENDS-V11"}
}

test_role_depends_is_listed if {
	inp := doc({
		"family": "role", "version": {"kind": "string", "pointer": "/Version", "value": "1.0"}, "has": {"depends": true},
		"depends": {"kind": "array", "pointer": "/Depends", "count": 1, "entries": [{"pointer": "/Depends/0", "kind": "object", "catalog": "OBS", "display_name": "Tenant Administrator"}]},
	})
	some msg in found(inp, "I-DEPENDS")
	contains(msg, "Tenant Administrator")
}

test_statement_missing_and_type if {
	"E-STATEMENT-TYPE" in codes(doc({"statement": {"kind": "missing"}, "has": {"statement_irregular": true}}))
	"E-STATEMENT-TYPE" in codes(doc({"statement": {"kind": "object", "pointer": "/Statement", "count": 2}, "has": {"statement_irregular": true}}))
}

test_statement_count if {
	"E-STATEMENT-COUNT" in codes(doc({"statement": {"kind": "array", "pointer": "/Statement", "count": 0}, "has": {"statement_irregular": true}}))
	"E-STATEMENT-COUNT" in codes(doc({"statement": {"kind": "array", "pointer": "/Statement", "count": 9}, "max": {"statements": 9}, "over": {"statements": true}}))
}

test_policy_size if {
	some msg in found(doc({"max": {"policy_size": 7000}, "over": {"policy_size": true}}), "E-POLICY-SIZE")
	contains(msg, "7000 characters")
}

test_deny_only if {
	s := object.union(stmt(0), {"effect": "Deny"})
	"I-DENY-ONLY" in codes(doc({"statements": [s], "has": {"deny": true}}))
	not "I-DENY-ONLY" in codes(doc({"statements": [s, stmt(1)], "has": {"deny": true, "allow": true}}))
}
