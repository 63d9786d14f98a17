# imsguard lint - resource and agency rules
#
# Resource arrays (spec 6: format, count, length, characters, region, resource-level
# authorization) and the agency variant {"uri": [...]} (spec 6.4). input.resources holds
# the elements of every Resource / NotResource array; input.agency_uris the URIs of every
# agency Resource object. Identity policies (5.0) use URNs: only their JSON types are
# checked.
#
# Why every rule starts with `input.has.X == true` (or `input.over.X == true`): X is a
# fact of the whole document that the Go input builder sets (input.go) when the rule can
# fire, and OPA's rule index, which indexes such equalities, then visits only the rules
# whose fact the document has. gate.go reads these guards at start-up and opens
# input.gate.resource only for documents with one of this module's facts, so `findings`
# (rules.rego) does not even look at resource_findings otherwise. Most documents have few
# facts: most rules are never evaluated. A rule without a fact guard stops the linter from
# starting; a new fact needs a line in the input builder. Each code is described once, by
# a METADATA block on its first rule (title; custom: code, severity, basis; rules.rego).
package imsguard.lint

# METADATA
# title: Resource is not an array of service:region:account:type:path strings
# custom:
#   code: E-RESOURCE-FORMAT
#   severity: error
#   basis: IAM.1047
resource_findings contains {
	"code": "E-RESOURCE-FORMAT",
	"pointer": s.f.Resource.pointer,
	"message": sprintf("Resource must be an array of strings, found %s (IAM.1047)", [kind_text(s.f.Resource.kind)]),
	"fix": "write \"Resource\": [\"obs:*:*:bucket:my-bucket\"], or remove Resource",
} if {
	input.has.resource == true
	some s in input.statements
	s.f.Resource.kind != "array"
	s.f.Resource.kind != "object"
}

resource_findings contains {
	"code": "E-RESOURCE-FORMAT",
	"pointer": r.pointer,
	"message": sprintf("%s element %d must be a string, found %s", [r.field, r.index, kind_text(r.kind)]),
} if {
	input.has.resource == true
	some r in input.resources
	r.kind != "string"
}

resource_findings contains {
	"code": "E-RESOURCE-FORMAT",
	"pointer": r.pointer,
	"message": sprintf("resource %q is not service:region:account:resourceType:path (IAM.1047)", [r.m.value]),
	"fix": "write five colon-separated segments, e.g. obs:*:*:bucket:my-bucket",
} if {
	input.has.resource == true
	input.family != "identity"
	some r in input.resources
	r.m.segments < 5
	r.m.value != "*"
}

# METADATA
# title: Resource empty or with too many entries
# custom:
#   code: E-RESOURCE-COUNT
#   severity: error
#   basis: IAM.1040
resource_findings contains {
	"code": "E-RESOURCE-COUNT",
	"pointer": s.f.Resource.pointer,
	"message": "Resource is empty: list at least one resource, or remove Resource to apply the statement to all resources (IAM.1040)",
} if {
	input.has.resource == true
	input.family != "identity"
	some s in input.statements
	s.f.Resource.kind == "array"
	s.f.Resource.count == 0
}

resource_findings contains {
	"code": "E-RESOURCE-COUNT",
	"pointer": s.f.Resource.pointer,
	"message": sprintf("statement %d has %d resources: the %s profile allows at most %d (IAM.1040)", [s.index, s.f.Resource.count, input.settings.profile, input.limits.resources]),
	"fix": "use a wildcard in the path, or split the statement",
} if {
	input.over.resources == true
	input.family != "identity"
	some s in input.statements
	s.f.Resource.kind == "array"
	s.f.Resource.count > input.limits.resources
}

# METADATA
# title: resource longer than 128 characters
# custom:
#   code: E-RESOURCE-LENGTH
#   severity: error
#   basis: IAM.1042
resource_findings contains {
	"code": "E-RESOURCE-LENGTH",
	"pointer": r.pointer,
	"message": sprintf("the resource has %d characters, more than %d (IAM.1042)", [r.m.length, input.limits.resource_length]),
	"fix": "shorten the path with a wildcard",
} if {
	input.over.resource_length == true
	input.family != "identity"
	some r in input.resources
	r.m.length > input.limits.resource_length
}

# METADATA
# title: illegal characters in a resource
# custom:
#   code: E-RESOURCE-CHARS
#   severity: error
#   basis: IAM.1048
resource_findings contains {
	"code": "E-RESOURCE-CHARS",
	"pointer": r.pointer,
	"message": sprintf("resource %q contains %s: resources may hold only letters, digits and - _ * . / \\ (IAM.1048)", [r.m.value, chars_text(r.m.bad_chars)]),
	"fix": "replace the characters with *",
} if {
	input.has.resource == true
	input.family != "identity"
	some r in input.resources
	r.m.bad_chars != ""
}

# METADATA
# title: resource region is neither * nor a known region
# custom:
#   code: E-RESOURCE-REGION
#   severity: error
#   basis: IAM.1043/1044
resource_findings contains {
	"code": "E-RESOURCE-REGION",
	"pointer": r.pointer,
	"message": sprintf("region %q of resource %q is neither * nor a known region (IAM.1043/1044)", [r.m.region, r.m.value]),
	"fix": "write * or a region such as ae-ad-1 (add your own regions with `regions` in imsguard.toml)",
} if {
	input.has.resource == true
	input.family != "identity"
	some r in input.resources
	r.m.segments == 5
	r.m.region != "*"
	not known_regions[r.m.region]
	not input.settings.regions[r.m.region]
}

# METADATA
# title: Resource for a service without resource-level authorization (e.g. IMS)
# custom:
#   code: E-RESOURCE-UNSUPPORTED
#   severity: error
#   basis: IAM.1045/1046
resource_findings contains {
	"code": "E-RESOURCE-UNSUPPORTED",
	"pointer": r.pointer,
	"message": sprintf("service %q does not support resource-level authorization: a policy with this resource cannot be created (IAM.1045/1046)", [r.m.service_lower]),
	"fix": "remove Resource; the statement then applies to all resources of its actions",
} if {
	input.has.resource == true
	input.family != "identity"
	some r in input.resources
	r.m.segments == 5
	not resource_services[r.m.service_lower]
	not contains(r.m.service_lower, "*")
}

resource_findings contains {
	"code": "E-RESOURCE-UNSUPPORTED",
	"pointer": s.f.Resource.pointer,
	"message": sprintf("statement %d limits actions of %s to resources, but %s no resource-level authorization: IAM rejects the policy (IAM.1045/1046)", [s.index, concat(", ", sort(svcs)), plural(count(svcs), "that service has", "those services have")]),
	"fix": "remove Resource from the statement (for IMS the statement then applies to all images), or move these actions into a statement without Resource",
} if {
	input.has.resource == true
	input.family != "identity"
	some s in input.statements
	s.f.Resource.kind == "array"
	s.f.Resource.count > 0
	svcs := {a.m.norm_segments[0] |
		some a in input.actions
		a.statement == s.index
		a.field == "Action"
		not contains(a.m.norm_segments[0], "*")
		not resource_services[a.m.norm_segments[0]]
	}
	count(svcs) > 0
}

# METADATA
# title: bare "*" resource in a 1.1 policy
# custom:
#   code: W-RESOURCE-STAR-V11
#   severity: warning
#   basis: spec 6.2
resource_findings contains {
	"code": "W-RESOURCE-STAR-V11",
	"pointer": r.pointer,
	"message": "a bare \"*\" resource is not documented for 1.1 policies; imsguard evaluates it as all resources",
	"fix": "remove Resource: a statement without Resource applies to all resources",
} if {
	input.has.resource == true
	input.family != "identity"
	some r in input.resources
	r.m.value == "*"
}

# ---------------------------------------------------------------- agency (spec 6.4)

agency_statement(s) if s.f.Resource.kind == "object"

# METADATA
# title: 'agency Resource is not {"uri": ["/iam/agencies/<id>", ...]} with 1..20 URIs'
# custom:
#   code: E-AGENCY-URI
#   severity: error
#   basis: IAM.1037/1041
resource_findings contains {
	"code": "E-AGENCY-URI",
	"pointer": s.f.Resource.pointer,
	"message": sprintf("an agency Resource is {\"uri\": [...]}; %s", [agency_uri_problem(s)]),
	"fix": "write \"Resource\": {\"uri\": [\"/iam/agencies/<agency-id>\"]}",
} if {
	input.has.agency == true
	some s in input.statements
	agency_statement(s)
	agency_uri_problem(s)
}

# agency_uri_problem(s): what is wrong with an agency Resource object (one answer per
# statement: a function must not yield two values for one argument).
agency_uri_problem(s) := sprintf("unexpected key %s", [concat(", ", extra)]) if {
	extra := agency_extra_keys(s)
	count(extra) == 1
} else := sprintf("unexpected keys %s", [concat(", ", extra)]) if {
	extra := agency_extra_keys(s)
	count(extra) > 1
} else := "\"uri\" is missing" if {
	not "uri" in s.f.Resource.keys
} else := "\"uri\" must be an array of URIs" if {
	s.f.Resource.uri_kind != "array"
} else := sprintf("\"uri\" must list 1 to %d URIs (IAM.1037)", [input.limits.agency_uris]) if {
	n := count([u | some u in input.agency_uris; u.statement == s.index])
	not agency_count_ok(n)
}

# agency_extra_keys(s): the quoted keys of an agency Resource other than "uri", in document order.
agency_extra_keys(s) := [sprintf("%q", [k]) | some k in s.f.Resource.keys; k != "uri"]

agency_count_ok(n) if {
	n > 0
	n <= input.limits.agency_uris
}

resource_findings contains {
	"code": "E-AGENCY-URI",
	"pointer": u.pointer,
	"message": sprintf("agency URI %s must be \"/iam/agencies/<agency-id>\" without blanks, at most %d characters (IAM.1041)", [uri_text(u), input.limits.agency_uri_length]),
} if {
	input.has.agency == true
	some u in input.agency_uris
	not uri_ok(u)
}

uri_ok(u) if {
	u.kind == "string"
	not u.blank
	u.length <= input.limits.agency_uri_length
	regex.match(`^/iam/agencies/[A-Za-z0-9_-]+$`, u.value)
}

uri_text(u) := sprintf("%q", [u.value]) if {
	u.kind == "string"
} else := kind_text(u.kind)

# METADATA
# title: agency statement whose Action is not exactly iam:agencies:assume
# custom:
#   code: E-AGENCY-ACTION
#   severity: error
#   basis: IAM.1038
resource_findings contains {
	"code": "E-AGENCY-ACTION",
	"pointer": s.f.Action.pointer,
	"message": sprintf("a statement with an agency Resource must have exactly \"Action\": [\"iam:agencies:assume\"], found %v (IAM.1038)", [acts]),
	"fix": "move the other actions into a statement of their own policy",
} if {
	input.has.agency == true
	some s in input.statements
	agency_statement(s)
	acts := [a.m.lower | some a in input.actions; a.statement == s.index; a.field == "Action"]
	acts != ["iam:agencies:assume"]
}

# METADATA
# title: Condition in an agency statement
# custom:
#   code: E-AGENCY-CONDITION
#   severity: error
#   basis: IAM.1039
resource_findings contains {
	"code": "E-AGENCY-CONDITION",
	"pointer": s.f.Condition.pointer,
	"message": "agency statements do not support Condition (IAM.1039)",
	"fix": "remove Condition",
} if {
	input.has.agency == true
	some s in input.statements
	agency_statement(s)
	s.f.Condition
}
