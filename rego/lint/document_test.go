package lint

// documentCases test the rules of document.rego (see ruleCase).
var documentCases = []ruleCase{
	{name: "Version missing", code: "E-VERSION-MISSING",
		doc:  `{"Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}]}`,
		want: []want{{pointer: "", fix: `add "Version": "1.1"`}}},
	{name: "Version a number", code: "E-VERSION-TYPE",
		doc:  `{"Version": 1.1, "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}]}`,
		want: []want{{pointer: "/Version", message: "found a number"}}},
	{name: "a Version that is not a policy language version", code: "E-VERSION-VALUE",
		doc:  `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}]}`,
		want: []want{{pointer: "/Version", message: `Version "2012-10-17" is not a policy language version`}}},
	{name: "a 1.0 role in a create request", code: "E-VERSION-VALUE",
		doc: `{"role": {"display_name": "r", "type": "XA", "description": "d",
		  "policy": {"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}]}}}`,
		want: []want{{pointer: "/role/policy/Version", message: "must have Version \"1.1\", found \"1.0\""}}},
	{name: "a create request is no role document", code: "I-ROLE-NOT-CREATABLE",
		doc: `{"role": {"display_name": "r", "type": "XA", "description": "d",
		  "policy": {"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}]}}}`},
	{name: "a 1.1 policy_document", code: "E-VERSION-VALUE",
		doc:  `{"policy_document": "{\"Version\": \"1.1\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"ims:quotas:get\"]}]}"}`,
		want: []want{{pointer: "/policy_document/Version", message: "must have Version \"5.0\", found \"1.1\""}}},
	{name: "a 5.0 policy_document", code: "E-VERSION-VALUE",
		doc: `{"policy_document": "{\"Version\": \"5.0\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"ims:quotas:get\"]}]}"}`},
	{name: "a 1.0 role", code: "I-ROLE-NOT-CREATABLE", only: true,
		doc:  `{"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}]}`,
		want: []want{at("/Version")}},
	{name: "an unknown top-level key in the wrong letter case", code: "E-UNKNOWN-KEY",
		doc:  `{"Version": "1.1", "statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}]}`,
		want: []want{{pointer: "/statement", fix: `rename "statement" to "Statement"`}}},
	{name: "Depends in a 1.1 policy", code: "E-DEPENDS-V11", only: true,
		doc:  `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}], "Depends": []}`,
		want: []want{at("/Depends")}},
	{name: "Depends is not an unknown key", code: "E-UNKNOWN-KEY",
		doc: `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}], "Depends": []}`},
	{name: "the roles a 1.0 role depends on", code: "I-DEPENDS",
		doc: `{"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"]}],
		  "Depends": [{"catalog": "OBS", "display_name": "Tenant Administrator"}]}`,
		want: []want{{pointer: "/Depends", message: `"Tenant Administrator" (catalog OBS) is also granted`}}},
	{name: "Statement missing", code: "E-STATEMENT-TYPE",
		doc:  `{"Version": "1.1"}`,
		want: []want{{pointer: "", message: "Statement is missing"}}},
	{name: "Statement an object", code: "E-STATEMENT-TYPE",
		doc:  `{"Version": "1.1", "Statement": {"Effect": "Allow", "Action": ["ims:quotas:get"]}}`,
		want: []want{{pointer: "/Statement", message: "found an object", fix: "wrap the statement in [ ]"}}},
	{name: "a statement that is no object", code: "E-STATEMENT-TYPE",
		doc:  policy11(`"ims:quotas:get"`),
		want: []want{{pointer: "/Statement/0", message: "statement 0 must be an object"}}},
	{name: "Statement empty", code: "E-STATEMENT-COUNT",
		doc:  `{"Version": "1.1", "Statement": []}`,
		want: []want{{pointer: "/Statement", message: "Statement is empty"}}},
	{name: "too many statements", code: "E-STATEMENT-COUNT",
		doc:  policy11(repeat(allow(`["ims:quotas:get"]`), 9)...),
		want: []want{{pointer: "/Statement", message: "9 statements: the strict profile allows at most 8"}}},
	{name: "a policy larger than 6,144 characters", code: "E-POLICY-SIZE",
		doc:  policy11(allow(`[` + quotedList("ims:images:get", 500) + `]`)),
		want: []want{{pointer: "", message: "characters (counted minified), more than the 6144"}}},
	{name: "only Deny statements", code: "I-DENY-ONLY",
		doc:  policy11(deny(`["ims:images:delete"]`)),
		want: []want{at("/Statement")}},
	{name: "a Deny beside an Allow", code: "I-DENY-ONLY",
		doc: policy11(deny(`["ims:images:delete"]`), allow(`["ims:quotas:get"]`))},
}

// repeat is n copies of s.
func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
