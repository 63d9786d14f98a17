package imsguard.lint_test

import data.imsguard.lint

test_every_code_has_severity_matching_its_letter if {
	every code, r in lint.rules {
		r.severity in {"error", "warning", "info"}
		startswith(code, upper(substring(r.severity, 0, 1)))
		r.title != ""
	}
}

test_spec_codes_are_all_listed if {
	spec := {
		"E-JSON", "E-JSON-DUPKEY", "E-VERSION-MISSING", "E-VERSION-TYPE", "E-VERSION-VALUE", "E-UNKNOWN-KEY",
		"E-DEPENDS-V11", "E-STATEMENT-TYPE", "E-STATEMENT-COUNT", "E-EFFECT-MISSING", "E-EFFECT-VALUE",
		"W-EFFECT-CASE", "E-ACTION-TYPE", "E-ACTION-COUNT", "E-ACTION-LENGTH", "E-ACTION-CHARS", "E-ACTION-FORMAT",
		"E-ACTION-NOTACTION", "E-ACTION-UNREGISTERED", "W-UNKNOWN-ACTION", "W-SERVICE-CASE", "W-ACTION-QMARK",
		"W-MISSING-DEPENDENT-ACTION", "E-RESOURCE-FORMAT", "E-RESOURCE-COUNT", "E-RESOURCE-LENGTH",
		"E-RESOURCE-CHARS", "E-RESOURCE-UNSUPPORTED", "E-RESOURCE-REGION", "W-RESOURCE-STAR-V11",
		"E-AGENCY-ACTION", "E-AGENCY-CONDITION", "E-AGENCY-URI", "E-COND-COUNT", "E-COND-OPERATOR",
		"W-OPERATOR-CASE", "W-LEGACY-OPERATOR", "W-NEW-OPERATOR", "E-COND-VALUE-TYPE", "E-COND-VALUES-COUNT",
		"E-COND-VALUE-LENGTH", "E-COND-VALUE", "E-COND-TYPE", "W-COND-KEY-UNKNOWN", "W-COND-VALUE-CHARSET",
		"W-STRINGLIKE-GLOB", "E-POLICY-SIZE", "E-SCOPE-MIX", "W-SCOPE-TYPE", "I-DENY-ONLY", "I-BROAD-ALLOW",
		"I-ROLE-NOT-CREATABLE", "I-DEPENDS",
	}
	missing := spec - {c | some c, _ in lint.rules}
	count(missing) == 0
	count({c | some c, _ in lint.rules; startswith(c, "E-ROLE-")}) >= 5
}
