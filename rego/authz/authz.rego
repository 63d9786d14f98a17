# METADATA
# title: imsguard IAM decision
# description: |
#   IAM evaluation for fine-grained policies (1.1) and roles (1.0), per the imsguard policy
#   language spec (sections 4, 5, 7, 10). Explicit Deny anywhere wins, then any Allow,
#   otherwise ImplicitDeny; statement and policy order never matter.
#
#   input.set is the policy set the Go engine builds from the attachments:
#     attachments[i] = {name, scope: {kind, projects: {p: true}, enterprise_projects: {e: true}},
#                       statements[j]: {index, effect: "Allow"|"Deny", actions: [lower-case patterns],
#                                       resources: [[svc, region, account, type, path]],
#                                       conditions: [cond], has_conditions}}
#     cond = {fn, neg, key (lower case), values, if_exists, qual: ""|"any"|"all", valid}
#     scope_index = {all_projects: [i], global: [i], projects: {p: [i]}, enterprise_projects: {e: [i]}}
#     by_action[action] = [[i, allow, deny, cond], ...]: per attachment, the statements whose
#                         patterns match a catalog action (see group), computed once per
#                         set with index() below
#     options = {absent_negated}
#   input = {set, actions: [lower-case actions], project, enterprise_project_id, ep_supported,
#            ep_unknown, resource, context: {lower-case key: [values]}, explain}
#   ep_unknown: the API honours enterprise-project grants but the request's enterprise project
#   could not be established (the proxy never takes a client's word for it): no
#   enterprise-project grant can allow the request, and every enterprise-project-scoped Deny
#   applies, since the request may be in any enterprise project.
package imsguard.authz

# ---------------------------------------------------------------- scopes (spec 7.2)

# applicable is the set of indexes of the attachments whose scope covers the request.
# All projects: every region-specific project and (a documented choice) the global project.
# Enterprise-project grants count only for APIs that support enterprise projects.
applicable := {i |
	some i in input.set.scope_index.all_projects
} | {i |
	some i in object.get(input.set.scope_index.projects, input.project, [])
} | {i |
	input.project == "global"
	some i in input.set.scope_index.global
} | {i |
	input.ep_supported == true
	not input.ep_unknown
	some i in object.get(input.set.scope_index.enterprise_projects, input.enterprise_project_id, [])
}

# scope_index groups attachment indexes by scope (the engine stores it as data).
scope_index(attachments) := {
	"all_projects": [i | some i, a in attachments; a.scope.kind == "all_projects"],
	"global": [i | some i, a in attachments; a.scope.kind == "global"],
	"projects": {p: [i | some i, a in attachments; a.scope.kind == "project"; a.scope.projects[p]] |
		some a in attachments
		a.scope.kind == "project"
		some p, _ in a.scope.projects
	},
	"enterprise_projects": {e: [i | some i, a in attachments; a.scope.kind == "enterprise_project"; a.scope.enterprise_projects[e]] |
		some a in attachments
		a.scope.kind == "enterprise_project"
		some e, _ in a.scope.enterprise_projects
	},
}

skip_reason(s) := sprintf("granted on projects %s; the request is in project %q", [concat(", ", sort(object.keys(s.projects))), input.project]) if {
	s.kind == "project"
}

skip_reason(s) := sprintf("granted on the global project; the request is in project %q", [input.project]) if {
	s.kind == "global"
}

skip_reason(s) := "granted on an enterprise project; this API does not support enterprise-project authorization (or the request names none)" if {
	s.kind == "enterprise_project"
	input.ep_supported != true
}

skip_reason(s) := sprintf("granted on enterprise projects %s; the request is in enterprise project %q", [concat(", ", sort(object.keys(s.enterprise_projects))), input.enterprise_project_id]) if {
	s.kind == "enterprise_project"
	input.ep_supported == true
	not input.ep_unknown
}

skip_reason(s) := "granted on an enterprise project; the request's enterprise project is not established, so only the attachment's Deny statements apply" if {
	s.kind == "enterprise_project"
	input.ep_supported == true
	input.ep_unknown == true
}

# ---------------------------------------------------------------- actions (spec 4.3, 10.2)

# action_matches: patterns are normalized by the engine (lower case, exactly three segments, 1.0 forms
# padded); '*' matches any run within a segment, '?' one character, and never crosses ':'.
action_matches(pattern, action) if glob.match(pattern, [":"], action)

# scan finds every statement (attachment, array position) with a pattern matching the
# (lower-case) action.
scan(action) := {[i, j] |
	some i, att in input.set.attachments
	some j, st in att.statements
	some p in st.actions
	action_matches(p, action)
}

is_static(st) if {
	not st.has_conditions
	count(st.resources) == 0
}

# summary folds the matching statements (refs) of the attachments atts into
# {allow, deny, cond}: [attachment, statement index] of unconditional Allow and Deny
# statements, and [attachment, array position] of statements that need a per-request check
# (a Condition or a Resource).
summary(refs, atts) := {"allow": allow, "deny": deny, "cond": cond} if {
	mine := [r | some r in refs; r[0] in atts]
	sts := input.set.attachments
	allow := [[i, sts[i].statements[j].index] | some [i, j] in mine; st := sts[i].statements[j]; is_static(st); st.effect == "Allow"]
	deny := [[i, sts[i].statements[j].index] | some [i, j] in mine; st := sts[i].statements[j]; is_static(st); st.effect == "Deny"]
	cond := [[i, j] | some [i, j] in mine; not is_static(sts[i].statements[j])]
}

# group pre-aggregates the matches of one action per scope group (scope_index), so a
# request only looks up the groups its project and enterprise project select.
group(refs) := {
	"all_projects": summary(refs, ix.all_projects),
	"global": summary(refs, ix.global),
	"projects": {p: summary(refs, atts) | some p, atts in ix.projects},
	"enterprise_projects": {e: summary(refs, atts) | some e, atts in ix.enterprise_projects},
} if {
	ix := input.set.scope_index
}

# candidates: the precomputed index for catalog actions, a scan for any other action.
candidates(action) := input.set.by_action[action]

candidates(action) := group(scan(action)) if not input.set.by_action[action]

# index computes by_action for a list of actions (run once per policy set by the engine,
# with input.set holding the attachments and the scope index).
index(actions) := {a: group(scan(a)) | some a in actions}

# ---------------------------------------------------------------- resources (spec 6.3)

resource_applies(st) if count(st.resources) == 0

# glob.match with null delimiters: '*' spans any character (OPA's [] would mean "."),
# so obs:*:*:object:logs/* matches logs/2026/app.log.
resource_applies(st) if {
	some p in st.resources
	r := split(input.resource, ":")
	count(r) >= 5
	glob.match(p[0], null, lower(r[0]))
	glob.match(p[1], null, r[1])
	glob.match(p[2], null, r[2])
	glob.match(p[3], null, lower(r[3]))
	glob.match(p[4], null, concat(":", array.slice(r, 4, count(r))))
}

# ---------------------------------------------------------------- decision (spec 7.3)

# scope_groups: the paths into a group() object that apply to this request.
scope_groups contains ["all_projects"]

scope_groups contains ["projects", input.project]

scope_groups contains ["global"] if input.project == "global"

scope_groups contains ["enterprise_projects", input.enterprise_project_id] if {
	input.ep_supported == true
	not input.ep_unknown
}

# deny_only_groups: with the enterprise project unknown, every enterprise-project group
# contributes its Deny statements (and only those).
deny_only_groups contains ["enterprise_projects", e] if {
	input.ep_supported == true
	input.ep_unknown == true
	some e, _ in input.set.scope_index.enterprise_projects
}

empty_group := {"allow": [], "deny": [], "cond": []}

# deny_only keeps a group's unconditional Deny statements and its per-request checked
# statements whose effect is Deny.
deny_only(g) := {"allow": [], "deny": g.deny, "cond": [r |
	some r in g.cond
	input.set.attachments[r[0]].statements[r[1]].effect == "Deny"
]}

# per_action[action] = {allow, deny, cond, ncond, effect}: the unconditional Allow and Deny
# statements of the applicable attachments (one list per scope group, so a request iterates
# scope groups, not statements), the statements needing a per-request check
# (Resource, Condition) that pass it as [attachment, statement index, effect], and how many
# such statements were checked (ncond > 0: the decision depends on the request context).
per_action := {a: {"allow": [g.allow | some g in gs], "deny": [g.deny | some g in gs], "cond": cm, "ncond": nc, "keys": ks, "checked": ck, "effect": effect_of(gs, cm)} |
	some a in input.actions
	ix := candidates(a)
	gs := array.concat(
		[object.get(ix, path, empty_group) | some path in scope_groups],
		[deny_only(object.get(ix, path, empty_group)) | some path in deny_only_groups],
	)
	nc := sum([count(g.cond) | some g in gs])
	cm := [[r[0], st.index, st.effect] |
		nc > 0
		some g in gs
		some r in g.cond
		st := input.set.attachments[r[0]].statements[r[1]]
		resource_applies(st)
		conditions_hold(st)
	]

	# the condition keys those statements read (the engine's decision cache keys on them)
	ks := [c.key |
		nc > 0
		some g in gs
		some r in g.cond
		some c in input.set.attachments[r[0]].statements[r[1]].conditions
	]

	# for offline explanations only: every statement that needed a per-request check,
	# whether it held or not, as [attachment, statement index, effect]
	ck := [[r[0], st.index, st.effect] |
		input.explain
		some g in gs
		some r in g.cond
		st := input.set.attachments[r[0]].statements[r[1]]
	]
}

# effect_of: explicit Deny anywhere wins, then any Allow, otherwise ImplicitDeny.
effect_of(gs, cm) := "ExplicitDeny" if {
	some g in gs
	count(g.deny) > 0
} else := "ExplicitDeny" if {
	some m in cm
	m[2] == "Deny"
} else := "Allow" if {
	some g in gs
	count(g.allow) > 0
} else := "Allow" if {
	count(cm) > 0
} else := "ImplicitDeny"

decision := "ExplicitDeny" if {
	some r in per_action
	r.effect == "ExplicitDeny"
} else := "ImplicitDeny" if {
	some r in per_action
	r.effect == "ImplicitDeny"
} else := "Allow"

# context_keys: the condition keys the checked statements read (the engine's decision cache
# keys on their values).
context_keys := {k | some r in per_action; some k in r.keys}

skipped contains [i, skip_reason(att.scope)] if {
	input.explain
	some i, att in input.set.attachments
	not applicable[i]
}

missing_keys contains k if {
	input.explain
	some k in context_keys
	not present(k)
}

result := {
	"decision": decision,
	"actions": per_action,
	"context_keys": context_keys,
	"skipped": skipped,
	"missing_keys": missing_keys,
}

# Conditions (spec §5) are in conditions.rego.
