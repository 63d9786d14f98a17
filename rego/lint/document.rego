# imsguard lint - document rules
#
# Version, top-level keys, Depends, the Statement array, policy size and the
# document-wide notes (spec 2, 3, 8, 10).
#
# Why every rule starts with `input.has.X == true` (or `input.over.X == true`): X is a
# fact of the whole document that the Go input builder sets (input.go) when the rule can
# fire, and OPA's rule index, which indexes such equalities, then visits only the rules
# whose fact the document has. gate.go reads these guards at start-up and opens
# input.gate.document only for documents with one of this module's facts, so `findings`
# (rules.rego) does not even look at document_findings otherwise. Most documents have few
# facts: most rules are never evaluated. A rule without a fact guard stops the linter from
# starting; a new fact needs a line in the input builder. Each code is described once, by
# a METADATA block on its first rule (title; custom: code, severity, basis; rules.rego).
#
# Two rules depend on no fact but on the kind of document (input.wrapper.kind,
# input.family): they add to findings directly, and their first line is that equality, so
# the rule index skips them just the same.
package imsguard.lint

# ---------------------------------------------------------------- Version

# METADATA
# title: Version is missing
# custom:
#   code: E-VERSION-MISSING
#   severity: error
#   basis: IAM.1024
document_findings contains {
	"code": "E-VERSION-MISSING",
	"pointer": input.root.pointer,
	"message": "Version is missing",
	"fix": "add \"Version\": \"1.1\" (custom policies are always 1.1)",
} if {
	input.has.version_irregular == true
	input.version.kind == "missing"
	input.root.kind == "object"
}

# METADATA
# title: Version is not a string
# custom:
#   code: E-VERSION-TYPE
#   severity: error
#   basis: IAM.1024
document_findings contains {
	"code": "E-VERSION-TYPE",
	"pointer": input.version.pointer,
	"message": sprintf("Version must be a string, found %s", [kind_text(input.version.kind)]),
	"fix": "write \"Version\": \"1.1\" with the quotes",
} if {
	input.has.version_irregular == true
	not input.version.kind in {"missing", "string"}
}

# METADATA
# title: Version is not valid for this kind of document
# custom:
#   code: E-VERSION-VALUE
#   severity: error
#   basis: IAM.1024/1026
document_findings contains {
	"code": "E-VERSION-VALUE",
	"pointer": input.version.pointer,
	"message": sprintf("Version %q is not a policy language version (1.1 fine-grained policy, 1.0 role, 5.0 identity policy)", [input.version.value]),
	"fix": "write \"Version\": \"1.1\"",
} if {
	input.has.version_irregular == true
	input.version.kind == "string"
}

document_findings contains {
	"code": "E-VERSION-VALUE",
	"pointer": input.version.pointer,
	"message": sprintf("a custom policy created through /v3.0/OS-ROLE/roles must have Version \"1.1\", found %q (IAM.1024)", [input.version.value]),
	"fix": "write \"Version\": \"1.1\" and the 1.1 grammar; 1.0 roles are system-defined and 5.0 identity policies go to /v5/policies",
} if {
	input.has.role_request == true
	input.version.value in {"1.0", "5.0"}
}

findings contains {
	"code": "E-VERSION-VALUE",
	"pointer": input.version.pointer,
	"message": sprintf("policy_document is an identity policy for /v5/policies and must have Version \"5.0\", found %q", [input.version.value]),
	"fix": "write \"Version\": \"5.0\", or create a 1.1 policy through /v3.0/OS-ROLE/roles ({\"role\": {..., \"policy\": {...}}})",
} if {
	input.wrapper.kind == "policy_document"
	input.version.value in {"1.0", "1.1"}
}

# METADATA
# title: "1.0 role document: cannot be created as a custom policy"
# custom:
#   code: I-ROLE-NOT-CREATABLE
#   severity: info
#   basis: IAM.1024
findings contains {
	"code": "I-ROLE-NOT-CREATABLE",
	"pointer": input.version.pointer,
	"message": "Version 1.0 is a role (RBAC) document: imsguard lints and evaluates it (approximately), but IAM does not accept it as a custom policy (IAM.1024)",
} if {
	input.family == "role"
	not role_request
}

# ---------------------------------------------------------------- keys

# METADATA
# title: unknown top-level or statement key
# custom:
#   code: E-UNKNOWN-KEY
#   severity: error
#   basis: IAM.1059
document_findings contains {
	"code": "E-UNKNOWN-KEY",
	"pointer": member_pointer(input.root.pointer, k),
	"message": sprintf("unknown key %q in the policy: a %s has only %s (IAM.1059)", [k, family_text, concat(", ", sort(top_keys))]),
	"fix": key_fix(k, top_keys),
} if {
	input.has.top_extra_key == true
	some k in input.root.keys
	not k in top_keys
	not depends_v11(k)
}

# member_pointer is the JSON pointer of member key of the object at ptr (RFC 6901 escaping).
member_pointer(ptr, key) := concat("/", [ptr, replace(replace(key, "~", "~0"), "/", "~1")])

# top_keys are the top-level keys of the document's family.
top_keys := {"Version", "Statement", "Depends"} if {
	input.family == "role"
} else := {"Version", "Statement"}

depends_v11("Depends") if input.family in {"policy", "agency", "unknown"}

# METADATA
# title: Depends in a 1.1 policy
# custom:
#   code: E-DEPENDS-V11
#   severity: error
#   basis: IAM.1025
document_findings contains {
	"code": "E-DEPENDS-V11",
	"pointer": input.depends.pointer,
	"message": "Depends is a 1.0 role element; a 1.1 policy must not have it (IAM.1025)",
	"fix": "remove Depends; attach the policies it names separately",
} if {
	input.has.depends == true
	input.family in {"policy", "agency", "unknown"}
}

# METADATA
# title: "1.0 role with Depends: roles to grant in the same project"
# custom:
#   code: I-DEPENDS
#   severity: info
#   basis: spec 7.4
document_findings contains {
	"code": "I-DEPENDS",
	"pointer": input.depends.pointer,
	"message": sprintf("this role works only when %s %s also granted in the same project (Depends)", [concat(", ", names), verb]),
} if {
	input.has.depends == true
	input.family == "role"
	names := sort([sprintf("%q (catalog %s)", [e.display_name, e.catalog]) | some e in input.depends.entries; e.display_name != ""])
	count(names) > 0
	verb := plural(count(names), "is", "are")
}

# key_fix suggests the right spelling of a key (element names are case-sensitive).
key_fix(key, allowed) := sprintf("rename %q to %q: element names are case-sensitive", [key, k]) if {
	some k in allowed
	lower(k) == lower(key)
} else := "remove Sid: it is an identity-policy (5.0) element" if {
	key == "Sid"
} else := sprintf("remove %q", [key])

# ---------------------------------------------------------------- Statement

# METADATA
# title: Statement is not an array of objects
# custom:
#   code: E-STATEMENT-TYPE
#   severity: error
#   basis: IAM.1027
document_findings contains {
	"code": "E-STATEMENT-TYPE",
	"pointer": input.root.pointer,
	"message": "Statement is missing: a policy needs a Statement array",
	"fix": "add \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"ims:images:list\"]}]",
} if {
	input.has.statement_irregular == true
	input.statement.kind == "missing"
	input.root.kind == "object"
}

document_findings contains {
	"code": "E-STATEMENT-TYPE",
	"pointer": input.statement.pointer,
	"message": sprintf("Statement must be an array of statements, found %s (IAM.1027)", [kind_text(input.statement.kind)]),
	"fix": "wrap the statement in [ ]",
} if {
	input.has.statement_irregular == true
	not input.statement.kind in {"missing", "array"}
}

document_findings contains {
	"code": "E-STATEMENT-TYPE",
	"pointer": s.pointer,
	"message": sprintf("statement %d must be an object {\"Effect\": ..., \"Action\": [...]}, found %s", [s.index, kind_text(s.kind)]),
} if {
	input.has.statement_irregular == true
	some s in input.statements
	s.kind != "object"
}

# METADATA
# title: too few or too many statements
# custom:
#   code: E-STATEMENT-COUNT
#   severity: error
#   basis: IAM.1028
document_findings contains {
	"code": "E-STATEMENT-COUNT",
	"pointer": input.statement.pointer,
	"message": "Statement is empty: a policy needs at least one statement (IAM.1028)",
} if {
	input.has.statement_irregular == true
	input.statement.kind == "array"
	input.statement.count == 0
}

document_findings contains {
	"code": "E-STATEMENT-COUNT",
	"pointer": input.statement.pointer,
	"message": sprintf("%d statements: the %s profile allows at most %d per policy (IAM.1028)", [input.statement.count, input.settings.profile, input.limits.statements]),
	"fix": "merge statements with the same Effect and Condition, or split the policy in two",
} if {
	input.over.statements == true
	input.family in {"policy", "agency", "unknown"}
}

# ---------------------------------------------------------------- size

# METADATA
# title: policy larger than 6,144 characters
# custom:
#   code: E-POLICY-SIZE
#   severity: error
#   basis: IAM.1021
document_findings contains {
	"code": "E-POLICY-SIZE",
	"pointer": input.pointer,
	"message": sprintf("the policy has %d characters (%s), more than the %d IAM accepts (IAM.1021)", [input.max.policy_size, size_text, input.limits.policy_size]),
	"fix": "use wildcards such as ims:*:get* instead of long action lists, or split the policy",
} if {
	input.over.policy_size == true
}

size_text := "bytes of the file as given" if {
	input.settings.size_mode == "raw"
} else := "counted minified"

# ---------------------------------------------------------------- notes

# METADATA
# title: policy contains only Deny statements
# custom:
#   code: I-DENY-ONLY
#   severity: info
#   basis: spec 7.3
document_findings contains {
	"code": "I-DENY-ONLY",
	"pointer": input.statement.pointer,
	"message": "the policy contains only Deny statements: it grants nothing by itself and only restricts what other policies allow",
} if {
	input.has.deny == true
	not input.has.allow
	count(input.statements) > 0
	every s in input.statements {
		s.effect == "Deny"
	}
}

# ---------------------------------------------------------------- helpers

family_text := "1.0 role" if {
	input.family == "role"
} else := "5.0 identity policy" if {
	input.family == "identity"
} else := "1.1 policy"

kind_text("missing") := "nothing"

kind_text(k) := sprintf("an %s", [k]) if k in {"array", "object"}

kind_text(k) := sprintf("a %s", [k]) if k in {"string", "number", "bool"}

kind_text("null") := "null"

plural(1, one, _) := one

plural(n, _, many) := many if n != 1
