# METADATA
# title: imsguard lint rule catalogue
# description: |
#   Every finding code the built-in lint rules can report, with its default severity, a
#   one-line title and the basis in the policy-language spec (section 8.1 codes) or in the IMS
#   catalog (imsguard's own IMS-aware codes). The Go linter reads this object once at start-up:
#   it gives findings their severity and SARIF its rule list. Findings themselves are the
#   `findings` set, built by the rules in the other modules of this package; each is
#   {code, pointer, message} plus an optional fix. Pointers are RFC 6901 JSON pointers from
#   the file root; the Go side maps them to line and column.
#
#   Lists in messages are rendered by the Go side, which is much cheaper than sorting and
#   joining in Rego: a finding may carry "apis" and "apis_other" (sets or arrays of catalog
#   API ids) and "actions" (action names), and its message and fix may use the placeholders
#   {value} (the string the finding's pointer designates), {apis} ("APIs 6.3.1, 6.3.2 (/v2/images/{image_id}/members)"), {sections} ("APIs 5.1.3,
#   5.1.4"), {families} (the route families of the APIs), {apis_other} and
#   {families_other} (the same for apis_other), and {actions} ("a, b, c", sorted).
package imsguard.lint

rules := {
	# JSON (reported from the parser's problems, listed here for severity and SARIF)
	"E-JSON": {"severity": "error", "title": "not exactly one well-formed JSON object", "basis": "spec 3.3"},
	"E-JSON-DUPKEY": {"severity": "error", "title": "duplicate key in a JSON object", "basis": "spec 3.3"},
	# document
	"E-VERSION-MISSING": {"severity": "error", "title": "Version is missing", "basis": "IAM.1024"},
	"E-VERSION-TYPE": {"severity": "error", "title": "Version is not a string", "basis": "IAM.1024"},
	"E-VERSION-VALUE": {"severity": "error", "title": "Version is not valid for this kind of document", "basis": "IAM.1024/1026"},
	"E-UNKNOWN-KEY": {"severity": "error", "title": "unknown top-level or statement key", "basis": "IAM.1059"},
	"E-DEPENDS-V11": {"severity": "error", "title": "Depends in a 1.1 policy", "basis": "IAM.1025"},
	"E-STATEMENT-TYPE": {"severity": "error", "title": "Statement is not an array of objects", "basis": "IAM.1027"},
	"E-STATEMENT-COUNT": {"severity": "error", "title": "too few or too many statements", "basis": "IAM.1028"},
	"E-POLICY-SIZE": {"severity": "error", "title": "policy larger than 6,144 characters", "basis": "IAM.1021"},
	"I-DENY-ONLY": {"severity": "info", "title": "policy contains only Deny statements", "basis": "spec 7.3"},
	"I-ROLE-NOT-CREATABLE": {"severity": "info", "title": "1.0 role document: cannot be created as a custom policy", "basis": "IAM.1024"},
	"I-DEPENDS": {"severity": "info", "title": "1.0 role with Depends: roles to grant in the same project", "basis": "spec 7.4"},
	# statements and effects
	"E-EFFECT-MISSING": {"severity": "error", "title": "Effect is missing", "basis": "IAM.1029"},
	"E-EFFECT-VALUE": {"severity": "error", "title": "Effect is not Allow or Deny", "basis": "IAM.1029"},
	"W-EFFECT-CASE": {"severity": "warning", "title": "Effect in non-canonical letter case", "basis": "IAM.1029 text"},
	# actions
	"E-ACTION-TYPE": {"severity": "error", "title": "Action missing, not an array, or not strings", "basis": "IAM.1030"},
	"E-ACTION-COUNT": {"severity": "error", "title": "Action empty or with too many entries", "basis": "IAM.1033"},
	"E-ACTION-LENGTH": {"severity": "error", "title": "action longer than 128 characters", "basis": "IAM.1034"},
	"E-ACTION-CHARS": {"severity": "error", "title": "illegal characters in an action", "basis": "IAM.1035"},
	"E-ACTION-FORMAT": {"severity": "error", "title": "action is not service:resourceType:operation", "basis": "spec 4.1"},
	"E-ACTION-NOTACTION": {"severity": "error", "title": "NotAction in a custom 1.1 policy, or together with Action", "basis": "IAM.1031"},
	"E-ACTION-UNREGISTERED": {"severity": "error", "title": "action not registered in the service's catalogue", "basis": "IAM.1036"},
	"W-UNKNOWN-ACTION": {"severity": "warning", "title": "action cannot be checked, or wildcard matches nothing", "basis": "spec 8.1"},
	"W-SERVICE-CASE": {"severity": "warning", "title": "upper-case letters in the service name", "basis": "spec 4.1"},
	"W-ACTION-QMARK": {"severity": "warning", "title": "'?' in a 1.1 action", "basis": "spec 4.2"},
	"I-BROAD-ALLOW": {"severity": "info", "title": "all actions of a service (or of every service) allowed", "basis": "spec 8.1"},
	# resources and agencies
	"E-RESOURCE-FORMAT": {"severity": "error", "title": "Resource is not an array of service:region:account:type:path strings", "basis": "IAM.1047"},
	"E-RESOURCE-COUNT": {"severity": "error", "title": "Resource empty or with too many entries", "basis": "IAM.1040"},
	"E-RESOURCE-LENGTH": {"severity": "error", "title": "resource longer than 128 characters", "basis": "IAM.1042"},
	"E-RESOURCE-CHARS": {"severity": "error", "title": "illegal characters in a resource", "basis": "IAM.1048"},
	"E-RESOURCE-UNSUPPORTED": {"severity": "error", "title": "Resource for a service without resource-level authorization (e.g. IMS)", "basis": "IAM.1045/1046"},
	"E-RESOURCE-REGION": {"severity": "error", "title": "resource region is neither * nor a known region", "basis": "IAM.1043/1044"},
	"E-RESOURCE-NOTRESOURCE": {"severity": "error", "title": "Resource and NotResource together (5.0)", "basis": "spec 11.1"},
	"W-RESOURCE-STAR-V11": {"severity": "warning", "title": "bare \"*\" resource in a 1.1 policy", "basis": "spec 6.2"},
	"E-AGENCY-ACTION": {"severity": "error", "title": "agency statement whose Action is not exactly iam:agencies:assume", "basis": "IAM.1038"},
	"E-AGENCY-CONDITION": {"severity": "error", "title": "Condition in an agency statement", "basis": "IAM.1039"},
	"E-AGENCY-URI": {"severity": "error", "title": "agency Resource is not {\"uri\": [\"/iam/agencies/<id>\", ...]} with 1..20 URIs", "basis": "IAM.1037/1041"},
	# conditions
	"E-COND-COUNT": {"severity": "error", "title": "Condition empty or with too many (operator, key) pairs", "basis": "IAM.1050"},
	"E-COND-OPERATOR": {"severity": "error", "title": "unknown or invalid condition operator", "basis": "spec 5.3"},
	"W-OPERATOR-CASE": {"severity": "warning", "title": "operator spelled in non-canonical letter case", "basis": "spec 5.4"},
	"W-LEGACY-OPERATOR": {"severity": "warning", "title": "operator only in the 2021/2022 edition (2023 edition profile)", "basis": "spec 5.3"},
	"W-NEW-OPERATOR": {"severity": "warning", "title": "operator only in the 2023 edition (2021 edition profile)", "basis": "spec 5.3"},
	"E-COND-VALUE-TYPE": {"severity": "error", "title": "Condition, operator or key value of the wrong JSON type", "basis": "IAM.1051/1053"},
	"E-COND-VALUES-COUNT": {"severity": "error", "title": "no values, or too many values, for a condition key", "basis": "IAM.1054"},
	"E-COND-VALUE-LENGTH": {"severity": "error", "title": "condition value empty or longer than 1,024 characters", "basis": "IAM.1056"},
	"E-COND-VALUE": {"severity": "error", "title": "condition value not parsable for the operator, or with control characters", "basis": "spec 5.6/5.7"},
	"E-COND-TYPE": {"severity": "error", "title": "operator incompatible with the condition key's type", "basis": "IAM.1055"},
	"W-COND-KEY-UNKNOWN": {"severity": "warning", "title": "condition key is not a known global or service key", "basis": "IAM.1052"},
	"W-COND-VALUE-CHARSET": {"severity": "warning", "title": "condition value has characters outside the documented set", "basis": "spec 5.7"},
	"W-COND-NULL-VALUE": {"severity": "warning", "title": "null-check operator with values other than [] or [\"true\"]", "basis": "spec 5.3"},
	"W-STRINGLIKE-GLOB": {"severity": "warning", "title": "StringLike value with * or ? (StringLike is a substring test)", "basis": "spec 5.3"},
	# scope and role wrapper
	"E-SCOPE-MIX": {"severity": "error", "title": "policy mixes global and project-level services", "basis": "spec 7.2"},
	"W-SCOPE-TYPE": {"severity": "warning", "title": "role type (AX/XA) does not fit the policy's services", "basis": "spec 7.2"},
	"E-ROLE-NAME": {"severity": "error", "title": "display_name missing, blank or not a string", "basis": "IAM.1001"},
	"E-ROLE-NAME-LENGTH": {"severity": "error", "title": "display_name too long", "basis": "IAM.1002"},
	"E-ROLE-NAME-CHARS": {"severity": "error", "title": "display_name has illegal characters", "basis": "IAM.1003"},
	"E-ROLE-TYPE": {"severity": "error", "title": "role type missing or not AX or XA", "basis": "IAM.1004/1005/1009"},
	"E-ROLE-RESERVED": {"severity": "error", "title": "custom policy sets catalog, flag or name", "basis": "IAM.1006-1008"},
	"E-ROLE-POLICY": {"severity": "error", "title": "role policy missing or not an object", "basis": "IAM.1020"},
	"E-ROLE-DESCRIPTION": {"severity": "error", "title": "role description missing or not a string", "basis": "spec 9.1"},
	# IMS-aware checks (imsguard's own codes)
	"W-MISSING-DEPENDENT-ACTION": {"severity": "warning", "title": "allowed IMS operation lacks its documented dependent actions", "basis": "spec 4.4; catalog dependencies"},
	"W-PARTIAL-API": {"severity": "warning", "title": "Allow grants only part of the actions an IMS API requires", "basis": "IMS catalog (e.g. 6.1.4, 6.3.x)"},
	"W-ROUTE-FAMILY-GAP": {"severity": "warning", "title": "Deny blocks an IMS operation on one route family while the other family still allows it", "basis": "IMS catalog"},
	"I-EP-UNSUPPORTED": {"severity": "info", "title": "allowed IMS APIs ignore enterprise-project grants", "basis": "IMS catalog enterprise_project"},
}

# findings: the findings of every module. The rules of each module build that module's set
# (action_findings, condition_findings, ...) and start with a fact guard (input.has.X ==
# true or input.over.X == true); the Go linter reads those guards from these modules at
# start-up and opens a module's gate (input.gate.<module>) when the document has one of its
# facts, so OPA's rule index never visits the rules of a module that cannot fire. Rules
# guarded otherwise (document.rego's wrapper and role checks) add to findings directly.
findings contains f if {
	input.gate.action == true
	some f in action_findings
}

findings contains f if {
	input.gate.condition == true
	some f in condition_findings
}

findings contains f if {
	input.gate.document == true
	some f in document_findings
}

findings contains f if {
	input.gate.ims == true
	some f in ims_findings
}

findings contains f if {
	input.gate.resource == true
	some f in resource_findings
}

findings contains f if {
	input.gate.statement == true
	some f in statement_findings
}

findings contains f if {
	input.gate.wrapper == true
	some f in wrapper_findings
}
