# An example of your own lint rules (imsguard lint --rules testdata/lint/rules): Rego v1,
# any package, with deny (error), warn (warning) and info rules over the lint input that
# docs/lint.md documents. A message is a string or an object {msg, pointer, code, fix}.
package acme.ims

# Images must not be shared outside the account: deny every Allow that grants
# ims:images:share, directly or through a wildcard.
deny contains {
	"msg": sprintf("%s grants image sharing, which the ACME account policy forbids", [a.m.value]),
	"pointer": a.pointer,
	"code": "ACME-NO-SHARE",
	"fix": "remove the action, or ask the platform team for an exception",
} if {
	some a in input.actions
	a.effect == "Allow"
	"ims:images:share" in a.m.expands
}

# Policies should pin the project they are meant for.
warn contains "no statement names the project (StringEquals g:ProjectName); grant it on one project or add the condition" if {
	input.family == "policy"
	every s in input.document.Statement {
		not s.Condition.StringEquals["g:ProjectName"]
	}
}
