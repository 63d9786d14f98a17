package imsguard.lint_test

import data.imsguard.lint

mini_catalog := {
	"by_action": {"ims:images:get": ["glance_add_member", "glance_show_image"], "ims:images:share": ["batch_add_members", "glance_add_member"], "ims:images:upload": ["register_image"]},
	"apis": {
		"glance_show_image": {"id": "glance_show_image", "family": "openstack", "ep": true, "actions": ["ims:images:get"], "dependencies": [], "conditional": []},
		"glance_add_member": {"id": "glance_add_member", "family": "openstack", "ep": false, "actions": ["ims:images:get", "ims:images:share"], "dependencies": [], "conditional": []},
		"batch_add_members": {"id": "batch_add_members", "family": "extension", "ep": false, "actions": ["ims:images:share"], "dependencies": [], "conditional": []},
		"register_image": {"id": "register_image", "family": "extension", "ep": true, "actions": ["ims:images:upload"], "dependencies": ["obs:bucket:*"], "conditional": []},
	},
}

test_index_partial_primary_is_share if {
	idx := lint.ims_index(mini_catalog)
	idx.partial["ims:images:share"] == [{"api": "glance_add_member", "needs": {"ims:images:get", "ims:images:share"}}]
	not idx.partial["ims:images:get"]
	object.keys(idx.partial) == {"ims:images:share"}
}

test_index_gap_share_by_family if {
	idx := lint.ims_index(mini_catalog)
	[g] := idx.gaps["ims:images:get"]
	g.blocked == ["glance_add_member"]
	g.others == [{"api": "batch_add_members", "needs": {"ims:images:share"}}]
}

test_index_no_ep_and_deps if {
	idx := lint.ims_index(mini_catalog)
	{e.api | some e in idx.no_ep["ims:images:share"]} == {"batch_add_members", "glance_add_member"}
	idx.deps["ims:images:upload"] == [{"api": "register_image", "needs": {"ims:images:upload"}, "deps": {"obs:bucket:*"}}]
}

# ims_doc is an input with one statement and the given actions, with the allowed / denied
# aggregates and the input.ims lists the Go input builder would compute.
ims_doc(acts, has) := doc({
	"statements": [stmt(0)], "actions": acts, "has": has,
	"allowed": {x | some a in acts; a.effect == "Allow"; some x in a.m.expands},
	"denied": {x | some a in acts; a.effect == "Deny"; some x in a.m.expands},
	"denied_always": {x | some a in acts; a.effect == "Deny"; not a.conditional; some x in a.m.expands},
	"ims": {
		"deps": [a | some a in acts; a.field == "Action"; a.effect == "Allow"; a.m.has_deps; count(a.m.deps) == 0],
		"deps_more": [a | some a in acts; a.field == "Action"; a.effect == "Allow"; count(a.m.deps) > 0],
		"partial": [a | some a in acts; a.field == "Action"; a.effect == "Allow"; a.m.has_partial],
		"gaps": [a | some a in acts; a.field == "Action"; a.effect == "Deny"; a.m.has_gaps],
		"no_ep": [a | some a in acts; a.field == "Action"; a.effect == "Allow"; a.m.has_no_ep],
		"no_ep_apis": union({a.m.no_ep | some a in acts; a.field == "Action"; a.effect == "Allow"}),
	},
})

partial_entry := {"api": "glance_add_member", "needs": {"ims:images:get", "ims:images:share"}}

# partial_m is what the Go linter joins onto an action's measurements from its partial
# index entries.
partial_m(entries) := {
	"partial": entries,
	"partial_needs": {n | some e in entries; some n in e.needs},
	"partial_apis": {n: {e.api | some e in entries; n in e.needs} | some e in entries; some n in e.needs},
	"has_partial": true,
}

test_partial_api_share_without_get if {
	share := act(0, 0, "ims:images:share", "Allow", partial_m([partial_entry]))
	inp := ims_doc([share], {"ims": true, "allow": true, "ims_partial": true})
	some f in lint.findings with input as inp
	f.code == "W-PARTIAL-API"
	f.actions == {"ims:images:get"}
	f.apis == {"glance_add_member"}
}

test_partial_api_quiet_when_get_allowed_or_denied if {
	share := act(0, 0, "ims:images:share", "Allow", partial_m([partial_entry]))
	get := act(0, 1, "ims:images:get", "Allow", {})
	not "W-PARTIAL-API" in codes(ims_doc([share, get], {"ims": true, "allow": true, "ims_partial": true}))
	deny := act(1, 0, "ims:images:get", "Deny", {})
	not "W-PARTIAL-API" in codes(ims_doc([share, deny], {"ims": true, "allow": true, "deny": true, "ims_partial": true}))
}

gap := {"operation": "share an image (manage its members)", "blocked": ["glance_add_member"], "others": [{"api": "batch_add_members", "needs": {"ims:images:share"}}]}

test_route_family_gap if {
	deny := act(1, 0, "ims:images:get", "Deny", {"gaps": [gap], "gaps_needs": {"ims:images:share"}, "has_gaps": true})
	share := act(0, 0, "ims:images:share", "Allow", {})
	inp := ims_doc([share, deny], {"ims": true, "allow": true, "deny": true, "ims_gaps": true})
	some f in lint.findings with input as inp
	f.code == "W-ROUTE-FAMILY-GAP"
	f.pointer == "/Statement/1/Action/0"
	f.apis_other == ["batch_add_members"]
	f.actions == {"ims:images:share"}
}

test_no_gap_when_share_denied_too if {
	deny := act(1, 0, "ims:images:get", "Deny", {"gaps": [gap], "gaps_needs": {"ims:images:share"}, "has_gaps": true})
	deny_share := act(1, 1, "ims:images:share", "Deny", {})
	share := act(0, 0, "ims:images:share", "Allow", {})
	not "W-ROUTE-FAMILY-GAP" in codes(ims_doc([share, deny, deny_share], {"ims": true, "allow": true, "deny": true, "ims_gaps": true}))
}

test_missing_dependency if {
	upload := act(0, 0, "ims:images:upload", "Allow", {"deps_direct": {"obs:bucket:*", "kms:*:*"}, "deps_direct_apis": {"register_image"}, "has_deps": true})
	kms := act(0, 1, "kms:*:*", "Allow", {"expands": ["kms:*:*"]})
	inp := ims_doc([upload, kms], {"ims": true, "allow": true, "ims_deps": true})
	some f in lint.findings with input as inp
	f.code == "W-MISSING-DEPENDENT-ACTION"
	f.actions == {"obs:bucket:*"}
	contains(f.fix, "global service")
}

test_dependency_needing_other_actions if {
	entry := {"api": "glance_upload_image_file", "needs": {"ims:images:get", "ims:images:upload"}, "deps": {"kms:*:*"}}
	upload := act(0, 0, "ims:images:upload", "Allow", {"deps": [entry], "has_deps": true})
	inp := ims_doc([upload], {"ims": true, "allow": true, "ims_deps_more": true})
	not "W-MISSING-DEPENDENT-ACTION" in codes(inp)
	get := act(0, 1, "ims:images:get", "Allow", {})
	"W-MISSING-DEPENDENT-ACTION" in codes(ims_doc([upload, get], {"ims": true, "allow": true, "ims_deps_more": true}))
}

test_enterprise_project_note_once_per_document if {
	list := act(0, 0, "ims:images:list", "Allow", {"no_ep": {"glance_list_images"}, "has_no_ep": true})
	get := act(0, 1, "ims:images:get", "Allow", {"no_ep": {"glance_v1_head_image"}, "has_no_ep": true})
	inp := ims_doc([list, get], {"ims": true, "allow": true, "ims_no_ep": true})
	[f] := [f | some f in lint.findings with input as inp]
	f.code == "I-EP-UNSUPPORTED"
	f.apis == {"glance_list_images", "glance_v1_head_image"}
}

test_enterprise_project_note_only_for_allowed_actions if {
	# ims:images:list ignores enterprise projects, but here it is only denied: nothing to note
	# (the note used to appear with an empty API list).
	list := act(0, 0, "ims:images:list", "Deny", {"no_ep": {"glance_list_images"}, "has_no_ep": true})
	quota := act(0, 1, "ims:quotas:get", "Allow", {})
	inp := ims_doc([list, quota], {"ims": true, "allow": true, "deny": true})
	not "I-EP-UNSUPPORTED" in codes(inp)
}
