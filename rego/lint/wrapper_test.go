package lint

import "strings"

// roleRequest is a create request {"role": {...}} with the given members (JSON, without
// braces) and a policy allowing the given actions (JSON array).
func roleRequest(members, actions string) string {
	return `{"role": {` + members + `, "policy": ` + policy11(allow(actions)) + `}}`
}

// wrapperCases test the rules of wrapper.rego (see ruleCase).
var wrapperCases = []ruleCase{
	{name: "display_name missing", code: "E-ROLE-NAME",
		doc:  roleRequest(`"type": "XA", "description": "d"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role", message: "display_name is required"}}},
	{name: "display_name blank", code: "E-ROLE-NAME",
		doc:  roleRequest(`"display_name": "  ", "type": "XA", "description": "d"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role/display_name", message: "found a blank string"}}},
	{name: "display_name too long", code: "E-ROLE-NAME-LENGTH",
		doc:  roleRequest(`"display_name": "`+strings.Repeat("x", 65)+`", "type": "XA", "description": "d"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role/display_name", message: "display_name has 65 characters; the strict profile allows at most 64"}}},
	{name: "display_name of 65 characters in the quota-2025 profile", code: "E-ROLE-NAME-LENGTH",
		opts: Options{Profile: ProfileQuota2025},
		doc:  roleRequest(`"display_name": "`+strings.Repeat("x", 65)+`", "type": "XA", "description": "d"`, `["ims:quotas:get"]`)},
	{name: "display_name with < >", code: "E-ROLE-NAME-CHARS",
		doc:  roleRequest(`"display_name": "<b>", "type": "XA", "description": "d"`, `["ims:quotas:get"]`),
		want: []want{at("/role/display_name")}},
	{name: "type neither AX nor XA", code: "E-ROLE-TYPE",
		doc:  roleRequest(`"display_name": "r", "type": "AA", "description": "d"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role/type", message: `found "AA"`}}},
	{name: "type missing", code: "E-ROLE-TYPE",
		doc:  roleRequest(`"display_name": "r", "description": "d"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role", message: "type is required"}}},
	{name: "a reserved member", code: "E-ROLE-RESERVED",
		doc:  roleRequest(`"display_name": "r", "type": "XA", "description": "d", "catalog": "CUSTOMED"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role/catalog", fix: `remove "catalog"`}}},
	{name: "responses are not requests", code: "E-ROLE-RESERVED",
		doc: roleRequest(`"id": "1", "display_name": "r", "type": "XA", "description": "d", "catalog": "CUSTOMED"`, `["ims:quotas:get"]`)},
	{name: "description missing", code: "E-ROLE-DESCRIPTION",
		doc:  roleRequest(`"display_name": "r", "type": "XA"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role", message: "description is required"}}},
	{name: "description not a string", code: "E-ROLE-DESCRIPTION",
		doc:  roleRequest(`"display_name": "r", "type": "XA", "description": 7`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role/description", message: "found a number"}}},
	{name: "policy missing", code: "E-ROLE-POLICY",
		doc:  `{"role": {"display_name": "r", "type": "XA", "description": "d"}}`,
		want: []want{{pointer: "/role", message: `the role has no "policy"`}}},
	{name: "policy a string", code: "E-ROLE-POLICY",
		doc:  `{"role": {"display_name": "r", "type": "XA", "description": "d", "policy": "{}"}}`,
		want: []want{{pointer: "/role/policy", message: "found a string"}}},
	{name: "an AX role for IMS", code: "W-SCOPE-TYPE",
		doc:  roleRequest(`"display_name": "r", "type": "AX", "description": "d"`, `["ims:quotas:get"]`),
		want: []want{{pointer: "/role/type", fix: `use "type": "XA"`}}},
	{name: "OBS (global) and IMS (project) in one policy", code: "E-SCOPE-MIX",
		doc:  policy11(allow(`["ims:quotas:get", "obs:bucket:*"]`)),
		want: []want{{pointer: "/Statement", message: "global services (obs) with project-level services (ims)"}}},
	{name: "IMS and ECS in one policy", code: "E-SCOPE-MIX",
		doc: policy11(allow(`["ims:quotas:get", "ecs:servers:get"]`))},
}
