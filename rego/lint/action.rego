# imsguard lint - action rules
#
# The format, characters and length of every action, and whether it names something the
# IMS catalog knows (spec 4). input.actions holds every element of every Action and
# NotAction array, with its statement, effect and lexical measurements; expands lists the
# known names (IMS actions and documented dependencies) the normalized pattern matches.
#
# Why every rule starts with `input.has.X == true` (or `input.over.X == true`): X is a
# fact of the whole document that the Go input builder sets (input.go) when the rule can
# fire, and OPA's rule index, which indexes such equalities, then visits only the rules
# whose fact the document has. gate.go reads these guards at start-up and opens
# input.gate.action only for documents with one of this module's facts, so `findings`
# (rules.rego) does not even look at action_findings otherwise. Most documents have few
# facts: most rules are never evaluated. A rule without a fact guard stops the linter from
# starting; a new fact needs a line in the input builder. Each code is described once, by
# a METADATA block on its first rule (title; custom: code, severity, basis; rules.rego).
package imsguard.lint

# METADATA
# title: action longer than 128 characters
# custom:
#   code: E-ACTION-LENGTH
#   severity: error
#   basis: IAM.1034
action_findings contains {
	"code": "E-ACTION-LENGTH",
	"pointer": a.pointer,
	"message": sprintf("the action has %d characters, more than %d (IAM.1034)", [a.m.length, input.limits.action_length]),
} if {
	input.over.action_length == true
	some a in input.actions
	a.m.length > input.limits.action_length
}

# METADATA
# title: illegal characters in an action
# custom:
#   code: E-ACTION-CHARS
#   severity: error
#   basis: IAM.1035
action_findings contains {
	"code": "E-ACTION-CHARS",
	"pointer": a.pointer,
	"message": sprintf("action %q contains %s: actions may hold only letters, digits, _, - and * between the colons (IAM.1035)", [a.m.value, chars_text(a.m.bad_chars)]),
	"fix": "remove the characters (no spaces; one action per array element)",
} if {
	input.has.action_chars == true
	some a in input.actions
	a.m.bad_chars != ""
}

# METADATA
# title: "'?' in a 1.1 action"
# custom:
#   code: W-ACTION-QMARK
#   severity: warning
#   basis: spec 4.2
action_findings contains {
	"code": "W-ACTION-QMARK",
	"pointer": a.pointer,
	"message": sprintf("action %q uses '?', which 1.1 policies do not document; imsguard evaluates it as exactly one character", [a.m.value]),
	"fix": "use * (any run of characters) instead of ?",
} if {
	input.has.action_chars == true
	input.family != "identity"
	some a in input.actions
	a.m.qmark
}

# METADATA
# title: action is not service:resourceType:operation
# custom:
#   code: E-ACTION-FORMAT
#   severity: error
#   basis: spec 4.1
action_findings contains {
	"code": "E-ACTION-FORMAT",
	"pointer": a.pointer,
	"message": sprintf("action %q must be service:resourceType:operation with three non-empty segments, e.g. ims:images:list", [a.m.value]),
	"fix": format_fix(a),
} if {
	input.has.action_segments == true
	some a in input.actions
	a.kind == "string"
	not format_ok(a)
}

format_ok(a) if {
	input.family in {"policy", "agency", "unknown"}
	a.m.segments == 3
	not empty_segment(a.m.value)
}

format_ok(a) if {
	input.family == "role"
	count(a.m.norm_segments) == 3
}

format_ok(a) if {
	input.family == "identity"
	a.m.value == "*"
}

format_ok(a) if {
	input.family == "identity"
	a.m.segments == 3
	not empty_segment(a.m.value)
}

empty_segment(v) if startswith(v, ":")

empty_segment(v) if endswith(v, ":")

empty_segment(v) if contains(v, "::")

format_fix(a) := "write \"*:*:*\" (a lone \"*\" is valid only in 5.0 identity policies)" if {
	a.m.value == "*"
} else := "write exactly three segments separated by colons"

# METADATA
# title: upper-case letters in the service name
# custom:
#   code: W-SERVICE-CASE
#   severity: warning
#   basis: spec 4.1
action_findings contains {
	"code": "W-SERVICE-CASE",
	"pointer": a.pointer,
	"message": sprintf("service %q in %q has upper-case letters; the documentation asks for lower case (IAM compares actions case-insensitively)", [a.m.service, a.m.value]),
	"fix": sprintf("write %q", [concat(":", array.concat([lower(a.m.service)], array.slice(split(a.m.value, ":"), 1, a.m.segments)))]),
} if {
	input.has.action_upper_service == true
	input.family != "role"
	some a in input.actions
	a.m.upper_service
}

# METADATA
# title: action not registered in the service's catalogue
# custom:
#   code: E-ACTION-UNREGISTERED
#   severity: error
#   basis: IAM.1036
action_findings contains {
	"code": "E-ACTION-UNREGISTERED",
	"pointer": a.pointer,
	"message": sprintf("%q is not a registered %s action: IAM rejects unregistered actions (IAM.1036)", [a.m.value, a.m.service_lower]),
	"fix": unregistered_fix(a),
} if {
	input.has.action_unknown == true
	input.family != "identity"
	some a in input.actions
	a.kind == "string"
	a.m.known == false
	a.m.wildcard == false
	count(a.m.norm_segments) == 3
	input.catalog.services[a.m.service_lower]
}

unregistered_fix(a) := sprintf("did you mean %q?", [a.m.suggestion]) if {
	a.m.suggestion != ""
} else := "run `imsguard actions list` for the IMS actions"

# W-UNKNOWN-ACTION: only services with a full action list in the catalog
# (input.catalog.services: ims) are judged, so a valid-looking action of another service
# (kms:cmk:get, ecs:servers:get) passes and --fail-on warning stays usable on correct
# policies. In 1.1 policies an exact unknown IMS action is E-ACTION-UNREGISTERED; 5.0
# identity policies are checked against the same IMS actions (IAM's 5.0 action table for
# IMS could not be read: a warning, not an error).

# METADATA
# title: pattern matching no action of a service imsguard knows (IMS), or an unknown IMS action in a 5.0 identity policy of a service imsguard knows (IMS), or an unknown IMS action in a 5.0 identity policy
# custom:
#   code: W-UNKNOWN-ACTION
#   severity: warning
#   basis: spec 8.1
action_findings contains {
	"code": "W-UNKNOWN-ACTION",
	"pointer": a.pointer,
	"message": unknown_text(a),
	"fix": unknown_fix(a),
} if {
	input.has.action_unknown == true
	some a in input.actions
	a.kind == "string"
	a.m.known == false
	count(a.m.norm_segments) == 3
	input.catalog.services[a.m.service_lower]
	unknown_kind(a)
}

unknown_kind(a) if a.m.wildcard

unknown_kind(a) if input.family == "identity"

unknown_text(a) := sprintf("%q matches no %s action: the wildcard grants nothing", [a.m.value, a.m.service_lower]) if {
	a.m.wildcard
} else := sprintf("%q is not an %s action imsguard knows (identity policies are checked against the IMS catalog's actions); IAM rejects an action its action table does not list", [a.m.value, a.m.service_lower])

unknown_fix(a) := "" if {
	a.m.wildcard
} else := unregistered_fix(a)

# METADATA
# title: all actions of a service (or of every service) allowed
# custom:
#   code: I-BROAD-ALLOW
#   severity: info
#   basis: spec 8.1
action_findings contains {
	"code": "I-BROAD-ALLOW",
	"pointer": a.pointer,
	"message": sprintf("%q allows every action of %s%s", [a.m.value, broad_scope(a), broad_condition(a)]),
	"fix": "allow only the actions needed, e.g. ims:images:list and ims:images:get for read-only access",
} if {
	input.has.action_broad == true
	some a in input.actions
	a.effect == "Allow"
	a.field == "Action"
	a.m.norm_segments[1] == "*"
	a.m.norm_segments[2] == "*"
}

broad_scope(a) := "every service" if {
	a.m.norm_segments[0] == "*"
} else := sprintf("service %s", [a.m.norm_segments[0]])

broad_condition(a) := " (under the statement's Condition or Resource)" if {
	a.conditional
} else := ""

chars_text(c) := sprintf("%q", [c]) if {
	not contains(c, " ")
} else := sprintf("%q (spaces are not allowed)", [c])
