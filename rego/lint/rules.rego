# METADATA
# title: imsguard lint rules
# description: |
#   The built-in lint rules. Each module of this package checks one concern (action,
#   condition, document, ims, resource, statement, wrapper) and adds its findings to its own
#   set, <module>_findings; `findings` below collects them. A finding is {code, pointer,
#   message} plus an optional fix. Pointers are RFC 6901 JSON pointers from the file root;
#   the Go side maps them to line and column.
#
#   Every code is described once, beside the rule that reports it: a METADATA block on the
#   first rule of the code (title; custom: code, severity, basis, and optionally
#   security_severity, GitHub code scanning's score from "0.0" to "10.0" when the
#   severity's default — error 7.0, warning 5.0, info 2.0 — misjudges it), the way Regal annotates
#   its rules. The Go linter reads these annotations at start-up (the findings' severity,
#   --list-rules, the SARIF rule list) and refuses to start when a code has no block or
#   two, or a block sits on a rule reporting another code.
#
#   Lists in messages are rendered by the Go side, which is much cheaper than sorting and
#   joining in Rego. A finding with "template": true has a message and fix that are
#   templates: constant text (never sprintf over values from the document) with the
#   placeholders {value} (the string the finding's pointer designates), {apis} ("APIs 6.3.1,
#   6.3.2 (/v2/images/{image_id}/members)"), {sections} ("APIs 5.1.3, 5.1.4"), {ep_sections},
#   {families} (the route families of the APIs), {apis_other} and {families_other} (the same
#   for apis_other), {actions} ("a, b, c", sorted) and {operation}, filled from the
#   finding's fields "apis", "apis_other" (sets or arrays of catalog API ids), "actions"
#   (action names) and "operation". The Go side expands placeholders in the template only,
#   each exactly once, so user text it splices in is never read as a template. A finding
#   without "template" is final text (sprintf is fine there): braces in it stay braces.
package imsguard.lint

# parser_codes: the codes the Go JSON parser reports (policy.Parse problems) instead of a
# rule, here for their metadata.

# METADATA
# title: not exactly one well-formed JSON object
# custom:
#   code: E-JSON
#   severity: error
#   basis: spec 3.3
parser_codes contains "E-JSON"

# METADATA
# title: duplicate key in a JSON object
# custom:
#   code: E-JSON-DUPKEY
#   severity: error
#   basis: spec 3.3
parser_codes contains "E-JSON-DUPKEY"

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
