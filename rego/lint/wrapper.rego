# imsguard lint - role wrapper and scope rules
#
# The IAM API wrapper of a custom policy, {"role": {display_name, type, description,
# policy}} (spec 9.1, E-ROLE-*), and whether the policy's services fit one attachment
# scope (spec 7.2, E-SCOPE-MIX and W-SCOPE-TYPE). Responses (a role with id, links or
# domain_id) and role list responses are system output, not requests: only E-ROLE-POLICY
# applies to them.
#
# Why every rule starts with `input.has.X == true` (or `input.over.X == true`): X is a
# fact of the whole document that the Go input builder sets (input.go) when the rule can
# fire, and OPA's rule index, which indexes such equalities, then visits only the rules
# whose fact the document has. gate.go reads these guards at start-up and opens
# input.gate.wrapper only for documents with one of this module's facts, so `findings`
# (rules.rego) does not even look at wrapper_findings otherwise. Most documents have few
# facts: most rules are never evaluated. A rule without a fact guard stops the linter from
# starting; a new fact needs a line in the input builder. Each code is described once, by
# a METADATA block on its first rule (title; custom: code, severity, basis; rules.rego).
package imsguard.lint

# role_request: the document is the policy of a create/modify request {"role": {...}},
# not of a response (input.has.role_request, measured from the members only responses
# carry: id, links, domain_id, created_time).
role_request if input.has.role_request == true

wm := input.wrapper.members

# METADATA
# title: role policy missing or not an object
# custom:
#   code: E-ROLE-POLICY
#   severity: error
#   basis: IAM.1020
wrapper_findings contains {
	"code": "E-ROLE-POLICY",
	"pointer": input.wrapper.pointer,
	"message": "the role has no \"policy\" (IAM.1020)",
	"fix": "add \"policy\": {\"Version\": \"1.1\", \"Statement\": [...]}",
} if {
	input.has.no_policy == true
	not wm.policy
}

wrapper_findings contains {
	"code": "E-ROLE-POLICY",
	"pointer": wm.policy.pointer,
	"message": sprintf("the role's \"policy\" must be an object, found %s (IAM.1020)", [kind_text(wm.policy.kind)]),
	"fix": "write the policy as a JSON object, not as a string",
} if {
	input.has.no_policy == true
	wm.policy.kind != "object"
}

# METADATA
# title: display_name missing, blank or not a string
# custom:
#   code: E-ROLE-NAME
#   severity: error
#   basis: IAM.1001
wrapper_findings contains {
	"code": "E-ROLE-NAME",
	"pointer": input.wrapper.pointer,
	"message": "display_name is required (IAM.1001)",
	"fix": "add \"display_name\": \"IMSImageReaders\"",
} if {
	input.has.role_display_name_irregular == true
	input.has.role_request == true
	not wm.display_name
}

wrapper_findings contains {
	"code": "E-ROLE-NAME",
	"pointer": wm.display_name.pointer,
	"message": sprintf("display_name must be a non-blank string, found %s (IAM.1001)", [name_text]),
} if {
	input.has.role_display_name_irregular == true
	input.has.role_request == true
	name_problem
}

name_problem if wm.display_name.kind != "string"

name_problem if trim_space(wm.display_name.value) == ""

name_text := kind_text(wm.display_name.kind) if {
	wm.display_name.kind != "string"
} else := "a blank string"

# METADATA
# title: display_name too long
# custom:
#   code: E-ROLE-NAME-LENGTH
#   severity: error
#   basis: IAM.1002
wrapper_findings contains {
	"code": "E-ROLE-NAME-LENGTH",
	"pointer": wm.display_name.pointer,
	"message": sprintf("display_name has %d characters; the %s profile allows at most %d (IAM.1002)", [wm.display_name.length, input.settings.profile, input.limits.display_name]),
} if {
	input.has.role_display_name_irregular == true
	input.has.role_request == true
	wm.display_name.length > input.limits.display_name
}

# METADATA
# title: display_name has illegal characters
# custom:
#   code: E-ROLE-NAME-CHARS
#   severity: error
#   basis: IAM.1003
wrapper_findings contains {
	"code": "E-ROLE-NAME-CHARS",
	"pointer": wm.display_name.pointer,
	"message": "display_name contains control characters or < > (IAM.1003)",
	"fix": "use letters, digits, spaces and punctuation such as - _ .",
} if {
	input.has.role_display_name_irregular == true
	input.has.role_request == true
	regex.match(`[\x00-\x1f\x7f<>]`, wm.display_name.value)
}

# METADATA
# title: role type missing or not AX or XA
# custom:
#   code: E-ROLE-TYPE
#   severity: error
#   basis: IAM.1004/1005/1009
wrapper_findings contains {
	"code": "E-ROLE-TYPE",
	"pointer": input.wrapper.pointer,
	"message": "type is required: \"XA\" for project-level services such as IMS, \"AX\" for global services (IAM.1004)",
	"fix": "add \"type\": \"XA\"",
} if {
	input.has.role_type_irregular == true
	input.has.role_request == true
	not wm.type
}

wrapper_findings contains {
	"code": "E-ROLE-TYPE",
	"pointer": wm.type.pointer,
	"message": sprintf("type must be \"AX\" or \"XA\" for a custom policy, found %s (IAM.1005/1009)", [type_text]),
	"fix": "use \"XA\" for IMS (a project-level service)",
} if {
	input.has.role_type_irregular == true
	input.has.role_request == true
	not wm.type.value in {"AX", "XA"}
}

type_text := sprintf("%q", [wm.type.value]) if {
	wm.type.kind == "string"
} else := kind_text(wm.type.kind)

# METADATA
# title: custom policy sets catalog, flag or name
# custom:
#   code: E-ROLE-RESERVED
#   severity: error
#   basis: IAM.1006-1008
wrapper_findings contains {
	"code": "E-ROLE-RESERVED",
	"pointer": wm[k].pointer,
	"message": sprintf("a custom policy must not set %q: IAM fills it in (IAM.1006-1008)", [k]),
	"fix": sprintf("remove %q", [k]),
} if {
	input.has.role_reserved == true
	input.has.role_request == true
	some k in {"catalog", "flag", "name"}
	wm[k]
}

# METADATA
# title: role description missing or not a string
# custom:
#   code: E-ROLE-DESCRIPTION
#   severity: error
#   basis: spec 9.1
wrapper_findings contains {
	"code": "E-ROLE-DESCRIPTION",
	"pointer": input.wrapper.pointer,
	"message": "description is required by the create-policy API",
	"fix": "add \"description\": \"what the policy is for\"",
} if {
	input.has.role_description_irregular == true
	input.has.role_request == true
	not wm.description
}

wrapper_findings contains {
	"code": "E-ROLE-DESCRIPTION",
	"pointer": wm.description.pointer,
	"message": sprintf("description must be a string, found %s", [kind_text(wm.description.kind)]),
} if {
	input.has.role_description_irregular == true
	input.has.role_request == true
	wm.description.kind != "string"
}

# ---------------------------------------------------------------- scope (spec 7.2)

# METADATA
# title: policy mixes global and project-level services
# custom:
#   code: E-SCOPE-MIX
#   severity: error
#   basis: spec 7.2
wrapper_findings contains {
	"code": "E-SCOPE-MIX",
	"pointer": input.statement.pointer,
	"message": sprintf("the policy mixes global services (%s) with project-level services (%s); the console does not accept such a custom policy", [concat(", ", sort(g)), concat(", ", sort(p))]),
	"fix": "split it: one policy for the global services (attached to the global service project) and one for the project-level services",
} if {
	input.has.several_services == true
	input.family == "policy"
	g := global_services & input.services
	count(g) > 0
	p := project_services & input.services
	count(p) > 0
}

# METADATA
# title: role type (AX/XA) does not fit the policy's services
# custom:
#   code: W-SCOPE-TYPE
#   severity: warning
#   basis: spec 7.2
wrapper_findings contains {
	"code": "W-SCOPE-TYPE",
	"pointer": wm.type.pointer,
	"message": sprintf("type %q is for %s services, but the policy grants %s services (%s)", [wm.type.value, want, have, concat(", ", sort(svcs))]),
	"fix": sprintf("use \"type\": %q", [fit]),
} if {
	input.has.role_request == true
	[want, have, fit, table] := scope_types[wm.type.value]
	svcs := table & input.services
	count(svcs) > 0
}

# scope_types: for each role type, the services it is meant for, the services that do not
# fit it, the type that would, and the table of misfits.
scope_types := {
	"AX": ["global", "project-level", "XA", project_services],
	"XA": ["project-level", "global", "AX", global_services],
}
