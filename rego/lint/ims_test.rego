# Unit tests of the functions of ims.rego that take no lint input. The rules themselves are
# tested from Go (imsCases in ims_test.go) on inputs the real input builder makes.
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

# dependency_fix is defined for any set of missing actions, with any number of OBS actions
# (it used to be a lookup by that number, undefined from 3 on: the finding vanished).
test_dependency_fix_for_any_number_of_obs_actions if {
	lint.dependency_fix(set()) == "also allow {actions} (here or in another policy granted in the same scope)"
	lint.dependency_fix({"kms:*:*"}) == "also allow {actions} (here or in another policy granted in the same scope)"
	every n in [1, 2, 3, 4] {
		missing := {sprintf("obs:object:Get%d", [i]) | some i in numbers.range(1, n)} | {"kms:*:*"}
		lint.dependency_fix(missing) == lint.obs_fix
	}
}
