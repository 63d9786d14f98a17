# imsguard lint - statement rules
#
# Statement keys, Effect, and the shape of Action / NotAction and Resource / NotResource
# (spec 3.2, 11.1).
#
# Why every rule starts with `input.has.X == true` (or `input.over.X == true`): X is a
# fact of the whole document that the Go input builder sets (input.go) when the rule can
# fire, and OPA's rule index, which indexes such equalities, then visits only the rules
# whose fact the document has. gate.go reads these guards at start-up and opens
# input.gate.statement only for documents with one of this module's facts, so `findings`
# (rules.rego) does not even look at statement_findings otherwise. Most documents have few
# facts: most rules are never evaluated. A rule without a fact guard stops the linter from
# starting; a new fact needs a line in the input builder. Each code is described once, by
# a METADATA block on its first rule (title; custom: code, severity, basis; rules.rego).
package imsguard.lint

# statement_keys: the keys a statement may have in the document's family. NotAction is
# reported as E-ACTION-NOTACTION, not as an unknown key.
statement_keys := {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"} if {
	input.family == "identity"
} else := {"Effect", "Action", "NotAction", "Resource", "Condition"}

statement_findings contains {
	"code": "E-UNKNOWN-KEY",
	"pointer": member_pointer(s.pointer, k),
	"message": sprintf("unknown key %q in statement %d: a %s statement has only %s (IAM.1059)", [k, s.index, family_text, concat(", ", sort(statement_keys - {"NotAction"}))]),
	"fix": key_fix(k, statement_keys),
} if {
	input.has.statement_extra_key == true
	some s in input.statements
	some k in s.keys
	not k in statement_keys
}

# ---------------------------------------------------------------- Effect

# METADATA
# title: Effect is missing
# custom:
#   code: E-EFFECT-MISSING
#   severity: error
#   basis: IAM.1029
statement_findings contains {
	"code": "E-EFFECT-MISSING",
	"pointer": s.pointer,
	"message": sprintf("statement %d has no Effect (IAM.1029)", [s.index]),
	"fix": "add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"",
} if {
	input.has.effect_irregular == true
	some s in input.statements
	not s.f.Effect
}

# METADATA
# title: Effect is not Allow or Deny
# custom:
#   code: E-EFFECT-VALUE
#   severity: error
#   basis: IAM.1029
statement_findings contains {
	"code": "E-EFFECT-VALUE",
	"pointer": s.f.Effect.pointer,
	"message": sprintf("Effect must be \"Allow\" or \"Deny\", found %s (IAM.1029)", [effect_text(s.f.Effect)]),
	"fix": "write \"Effect\": \"Allow\" or \"Effect\": \"Deny\"",
} if {
	input.has.effect_irregular == true
	some s in input.statements
	s.kind == "object"
	s.effect == ""
	s.f.Effect
}

effect_text(f) := sprintf("%q", [f.value]) if {
	f.kind == "string"
} else := kind_text(f.kind)

# METADATA
# title: Effect in non-canonical letter case
# custom:
#   code: W-EFFECT-CASE
#   severity: warning
#   basis: IAM.1029 text
statement_findings contains {
	"code": "W-EFFECT-CASE",
	"pointer": s.f.Effect.pointer,
	"message": sprintf("Effect %q is not in the documented spelling %q", [s.f.Effect.value, s.effect]),
	"fix": sprintf("write %q", [s.effect]),
} if {
	input.has.effect_irregular == true
	some s in input.statements
	s.effect != ""
	s.f.Effect.value != s.effect
}

# ---------------------------------------------------------------- Action / NotAction

# METADATA
# title: Action missing, not an array, or not strings
# custom:
#   code: E-ACTION-TYPE
#   severity: error
#   basis: IAM.1030
statement_findings contains {
	"code": "E-ACTION-TYPE",
	"pointer": s.pointer,
	"message": sprintf("statement %d has no Action (IAM.1030)", [s.index]),
	"fix": "add \"Action\": [\"ims:images:list\"] (the actions the statement allows or denies)",
} if {
	input.has.action_irregular == true
	some s in input.statements
	s.kind == "object"
	not s.f.Action
	not s.f.NotAction
}

statement_findings contains {
	"code": "E-ACTION-TYPE",
	"pointer": f.pointer,
	"message": sprintf("%s must be an array of strings, found %s (IAM.1030)", [name, kind_text(f.kind)]),
	"fix": sprintf("wrap the value in [ ]: \"%s\": [...]", [name]),
} if {
	input.has.action_irregular == true
	some s in input.statements
	some name in ["Action", "NotAction"]
	f := s.f[name]
	f.kind != "array"
}

statement_findings contains {
	"code": "E-ACTION-TYPE",
	"pointer": a.pointer,
	"message": sprintf("%s element %d must be a string, found %s", [a.field, a.index, kind_text(a.kind)]),
} if {
	input.has.action_irregular == true
	some a in input.actions
	a.kind != "string"
}

# METADATA
# title: Action empty or with too many entries
# custom:
#   code: E-ACTION-COUNT
#   severity: error
#   basis: IAM.1033
statement_findings contains {
	"code": "E-ACTION-COUNT",
	"pointer": s.f.Action.pointer,
	"message": "Action is empty: a statement needs at least one action (IAM.1033)",
} if {
	input.has.action_irregular == true
	some s in input.statements
	s.f.Action.kind == "array"
	s.f.Action.count == 0
}

statement_findings contains {
	"code": "E-ACTION-COUNT",
	"pointer": s.f.Action.pointer,
	"message": sprintf("statement %d has %d actions: the %s profile allows at most %d (IAM.1033)", [s.index, s.f.Action.count, input.settings.profile, input.limits.actions]),
	"fix": "use wildcards (ims:*:get*) or split the statement",
} if {
	input.over.actions == true
	input.family != "identity"
	some s in input.statements
	s.f.Action.count > input.limits.actions
}

# METADATA
# title: NotAction in a custom 1.1 policy, or together with Action
# custom:
#   code: E-ACTION-NOTACTION
#   severity: error
#   basis: IAM.1031
statement_findings contains {
	"code": "E-ACTION-NOTACTION",
	"pointer": s.f.NotAction.pointer,
	"message": "NotAction is not part of custom 1.1 policies (IAM.1031)",
	"fix": "list the actions in Action instead",
} if {
	input.has.action_irregular == true
	input.family != "identity"
	some s in input.statements
	s.f.NotAction
}

statement_findings contains {
	"code": "E-ACTION-NOTACTION",
	"pointer": s.f.NotAction.pointer,
	"message": "a statement has either Action or NotAction, not both (IAM.1031)",
	"fix": "remove one of them",
} if {
	input.has.action_irregular == true
	input.family == "identity"
	some s in input.statements
	s.f.NotAction
	s.f.Action
}

# METADATA
# title: Resource and NotResource together (5.0)
# custom:
#   code: E-RESOURCE-NOTRESOURCE
#   severity: error
#   basis: spec 11.1
statement_findings contains {
	"code": "E-RESOURCE-NOTRESOURCE",
	"pointer": s.f.NotResource.pointer,
	"message": "a statement has either Resource or NotResource, not both",
	"fix": "remove one of them",
} if {
	input.has.resource == true
	input.family == "identity"
	some s in input.statements
	s.f.NotResource
	s.f.Resource
}
