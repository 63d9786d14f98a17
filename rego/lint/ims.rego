# imsguard lint - IMS-aware rules
#
# Checks only an IMS catalog makes possible (imsguard's own codes): dependent actions an
# allowed operation needs (W-MISSING-DEPENDENT-ACTION), Allows that grant only part of an
# API's required actions (W-PARTIAL-API), Denies that block an operation on one route
# family while the other family still allows it (W-ROUTE-FAMILY-GAP), and APIs that ignore
# enterprise-project grants (I-EP-UNSUPPORTED).
#
# ims_index(catalog) derives the lookup tables once per process (the Go linter stores the
# result in input.catalog.index); the rules then only look up the actions each Allow or
# Deny element expands to.
#
# Why every rule starts with `input.has.X == true` (or `input.over.X == true`): X is a
# fact of the whole document that the Go input builder sets (input.go) when the rule can
# fire, and OPA's rule index, which indexes such equalities, then visits only the rules
# whose fact the document has. gate.go reads these guards at start-up and opens
# input.gate.ims only for documents with one of this module's facts, so `findings`
# (rules.rego) does not even look at ims_findings otherwise. Most documents have few
# facts: most rules are never evaluated. A rule without a fact guard stops the linter from
# starting; a new fact needs a line in the input builder. Each code is described once, by
# a METADATA block on its first rule (title; custom: code, severity, basis; rules.rego).
package imsguard.lint

# supporting_actions read or modify the image record alongside an API's own operation
# (6.1.4 needs get and update besides upload; 6.3.x need get besides share).
supporting_actions := {"ims:images:get", "ims:images:update"}

# operations group the APIs that perform the same operation through different routes.
operations := {
	"upload an image file": {"register_image", "glance_upload_image_file"},
	"share an image (manage its members)": {
		"batch_add_members", "batch_update_members", "batch_delete_members",
		"glance_add_member", "glance_update_member", "glance_delete_member", "glance_show_member", "glance_list_members",
	},
	"update an image": {"update_cloudimage", "glance_update_image"},
	"list images": {"list_cloudimages", "glance_list_images", "glance_v1_1_list_images_detail"},
	"delete an image": {"glance_delete_image", "glance_v1_1_delete_image"},
}

# primary(api): the actions an API exists for: its required actions minus the supporting
# ones, or all of them when every one is supporting.
primary(api) := p if {
	p := {a | some a in api.actions; not supporting_actions[a]}
	count(p) > 0
} else := {a | some a in api.actions}

# variants(api): the action sets an API can require, with their dependencies and the
# actions that select them: the base set, and the base set plus each conditional action.
variants(api) := array.concat(base, conds) if {
	base := [{"keys": primary(api), "needs": api.actions, "deps": api.dependencies} | count(api.actions) > 0]
	conds := [{"keys": {c.action}, "needs": array.concat(api.actions, [c.action]), "deps": array.concat(api.dependencies, c.dependencies)} |
		some c in api.conditional
	]
}

# ims_index(cat) is input.catalog.index, keyed by lower-case action x; every entry carries
# the API id and, as sets, the actions it needs (so rules use set differences):
#   partial[x]  APIs needing more than one action with x among their primary actions
#   deps[x]     {api, needs, deps} for the API variants x selects that have dependencies
#   gaps[x]     per operation: the APIs needing x (blocked by a Deny of x) and the APIs of
#               the other route family that do not need x
#   no_ep[x]    APIs with x among their primary actions that ignore enterprise projects
#               (for every request, or for some: ep_limited)
# The Go linter joins the entries of each action's expansions onto its measurements
# (input.actions[_].m.partial, .deps, .gaps, .no_ep).
ims_index(cat) := {
	"partial": {x: es |
		some x, _ in cat.by_action
		es := [{"api": id, "needs": {a | some a in api.actions}} | some id, api in cat.apis; count(api.actions) > 1; x in primary(api)]
		count(es) > 0
	},
	"deps": {x: es |
		some x, _ in cat.by_action
		es := [{"api": id, "needs": {a | some a in v.needs}, "deps": {d | some d in v.deps}} |
			some id, api in cat.apis
			some v in variants(api)
			count(v.deps) > 0
			x in v.keys
		]
		count(es) > 0
	},
	"gaps": {x: gs |
		some x, _ in cat.by_action
		gs := [{"operation": name, "blocked": blocked, "others": others} |
			some name, ids in operations
			blocked := sort([id | some id in ids; cat.apis[id]; x in cat.apis[id].actions])
			count(blocked) > 0
			fams := {cat.apis[id].family | some id in blocked}
			others := [{"api": id, "needs": {a | some a in cat.apis[id].actions}} |
				some id in sort(ids)
				cat.apis[id]
				not x in cat.apis[id].actions
				not cat.apis[id].family in fams
			]
			count(others) > 0
		]
		count(gs) > 0
	},
	"no_ep": {x: es |
		some x, _ in cat.by_action
		es := [{"api": id, "needs": {a | some a in api.actions}} | some id, api in cat.apis; ep_limited(api); x in primary(api)]
		count(es) > 0
	},
}

# ep_limited: the API ignores enterprise-project grants, for every request or for some
# (catalog enterprise_project_exception, e.g. 5.1.1 shared-image queries).
ep_limited(api) if api.ep == false

ep_limited(api) if api.ep_exception == true

# allowed / denied / denied_always: the known names the Action elements of Allow
# statements, of Deny statements, and of Deny statements without Condition or Resource
# expand to (aggregated by the Go input builder; a conditional Allow counts: it may apply). User
# rules may import them; the rules below read input directly.
allowed := input.allowed

# set_allowed: the names the other documents of the policy set grant where this document
# applies (LintSet; empty for a document linted on its own). W-MISSING-DEPENDENT-ACTION
# and W-PARTIAL-API count them as allowed: a dependent action granted by the separate
# global-services policy that E-SCOPE-MIX asks for is granted.
set_allowed := input.set_allowed

denied := input.denied

denied_always := input.denied_always

# The rules below iterate input.ims, where the Go input builder lists the Action elements each
# rule concerns, so that no rule walks elements it cannot report on:
#   deps     elements of Allow statements whose expansions have dependency entries that
#            apply whatever else the document allows (m.deps_direct; m.deps empty)
#   deps_more  the other elements of Allow statements with dependency entries (m.deps not
#            empty: some entries apply only when other actions are allowed too)
#   partial  elements of Allow statements expanding to part of a multi-action API (m.has_partial)
#   gaps     elements of Deny statements blocking an operation on one route family (m.has_gaps)
#   no_ep    elements of Allow statements opening APIs that ignore enterprise projects (m.no_ep)
#            and no_ep_apis, the union of their m.no_ep; built only for documents attached
#            on an enterprise project or when I-EP-UNSUPPORTED is enabled (it is opt-in)
# An entry of the index is enabled when the document allows every action it needs and
# denies none of them unconditionally.

# METADATA
# title: allowed IMS operation lacks its documented dependent actions
# custom:
#   code: W-MISSING-DEPENDENT-ACTION
#   severity: warning
#   basis: spec 4.4; catalog dependencies
ims_findings contains {
	"code": "W-MISSING-DEPENDENT-ACTION",
	"pointer": a.pointer,
	"message": "{value} enables {sections}, whose dependent actions include {actions}; IAM does not check dependent actions, so the operations fail without them",
	"fix": dependency_fix(missing),
	"template": true,
	"apis": a.m.deps_direct_apis,
	"actions": missing,
} if {
	input.has.ims_deps == true
	some a in input.ims.deps
	missing := (a.m.deps_direct - input.allowed) - input.set_allowed
	count(missing) > 0
}

# The same for elements with dependency entries that apply only when the document also
# allows other actions (m.deps: e.g. ims:serverImages:create with ims:images:copy). Kept
# apart so that most elements skip the scan of m.deps: one merged rule cost about 12 more
# allocations per document of BenchmarkLint/varied.
ims_findings contains {
	"code": "W-MISSING-DEPENDENT-ACTION",
	"pointer": a.pointer,
	"message": "{value} enables {sections}, whose dependent actions include {actions}; IAM does not check dependent actions, so the operations fail without them",
	"fix": dependency_fix(missing),
	"template": true,
	"apis": a.m.deps_direct_apis | {e.api | some e in enabled_deps},
	"actions": missing,
} if {
	input.has.ims_deps_more == true
	some a in input.ims.deps_more
	enabled_deps := [e | some e in a.m.deps; count((e.needs - input.allowed) - input.set_allowed) == 0]
	missing := ((a.m.deps_direct | union({e.deps | some e in enabled_deps})) - input.allowed) - input.set_allowed
	count(missing) > 0
}

# dependency_fix(missing): the fix for the missing dependent actions. OBS is a global
# service: when an obs action is missing (catalog names are in their documented, lower-case
# spelling), the fix says to grant it in a policy of its own.
# A function with an else is defined for every set, so no finding can vanish for want of
# a fix, however many OBS dependencies the catalog lists (a lookup by the count of missing
# OBS actions, as this once was, was undefined beyond the counts it listed).
dependency_fix(missing) := obs_fix if {
	some a in missing
	startswith(a, "obs:")
} else := "also allow {actions} (here or in another policy granted in the same scope)"

obs_fix := "also allow {actions}; obs is a global service, so grant the obs actions in a separate policy attached to the global service project (a policy mixing them is E-SCOPE-MIX)"

# METADATA
# title: Allow grants only part of the actions an IMS API requires
# custom:
#   code: W-PARTIAL-API
#   severity: warning
#   basis: IMS catalog (e.g. 6.1.4, 6.3.x)
ims_findings contains {
	"code": "W-PARTIAL-API",
	"pointer": a.pointer,
	"message": "{value} is allowed, but the policy does not allow {actions}, also required by {apis}, so IAM keeps denying them",
	"fix": "also allow {actions}",
	"template": true,
	"apis": union({a.m.partial_apis[x] | some x in missing}),
	"actions": missing,
} if {
	input.has.ims_partial == true
	some a in input.ims.partial
	missing := ((a.m.partial_needs - input.allowed) - input.set_allowed) - input.denied
	count(missing) > 0
}

# METADATA
# title: Deny blocks an IMS operation on one route family while the other family still allows it
# custom:
#   code: W-ROUTE-FAMILY-GAP
#   severity: warning
#   basis: IMS catalog
#   security_severity: "7.0"
ims_findings contains {
	"code": "W-ROUTE-FAMILY-GAP",
	"pointer": d.pointer,
	"message": "Deny {value} blocks \"{operation}\" on the {families}, {apis}, but the operation stays allowed on the {families_other}, {apis_other}",
	"fix": "to block the operation on every route, also deny {actions}",
	"template": true,
	"operation": g.operation,
	"apis": g.blocked,
	"apis_other": open,
	"actions": {n | some e in g.others; e.api in open; some n in e.needs; not input.denied[n]},
} if {
	input.has.ims_gaps == true
	some d in input.ims.gaps
	count((d.m.gaps_needs & input.allowed) - input.denied_always) > 0
	some g in d.m.gaps
	open := [e.api |
		some e in g.others
		count(e.needs - input.allowed) == 0
		count(e.needs & input.denied_always) == 0
	]
	count(open) > 0
}

# METADATA
# title: allowed IMS APIs ignore enterprise-project grants
# custom:
#   code: I-EP-UNSUPPORTED
#   severity: info
#   basis: IMS catalog enterprise_project, enterprise_project_exception
#   opt_in: when the document is attached on an enterprise project (--scope enterprise_project=..., or an attachment of an imsguard.toml principal), or with --enable I-EP-UNSUPPORTED
ims_findings contains {
	"code": "I-EP-UNSUPPORTED",
	"pointer": input.statement.pointer,
	"message": "granted on an enterprise project, this policy does not authorize {ep_sections}: they honour only IAM-project grants",
	"fix": "grant the policy on the IAM project (region) for these APIs; `imsguard explain --enterprise-project ID` shows every API",
	"template": true,
	"apis": input.ims.no_ep_apis,
} if {
	input.has.ims_no_ep == true
}
