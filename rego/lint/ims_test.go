package lint

// imsCases test the rules of ims.rego (see ruleCase).
var imsCases = []ruleCase{
	{name: "share without get", code: "W-PARTIAL-API",
		doc: policy11(allow(`["ims:images:share"]`)),
		want: []want{{pointer: "/Statement/0/Action/0",
			message: "ims:images:share is allowed, but the policy does not allow ims:images:get, also required by APIs 6.3.1, 6.3.2, 6.3.3, 6.3.4, 6.3.5 (/v2/images/{image_id}/members, /v2/images/{image_id}/members/{member_id}), so IAM keeps denying them",
			fix:     "also allow ims:images:get"}}},
	{name: "share with get", code: "W-PARTIAL-API",
		doc: policy11(allow(`["ims:images:share", "ims:images:get"]`))},
	{name: "share with get denied", code: "W-PARTIAL-API",
		doc: policy11(allow(`["ims:images:share"]`), deny(`["ims:images:get"]`))},
	{name: "a Deny of get leaves sharing open on the extension routes", code: "W-ROUTE-FAMILY-GAP",
		doc: policy11(allow(`["ims:images:share"]`), deny(`["ims:images:get"]`)),
		want: []want{{pointer: "/Statement/1/Action/0",
			message: `Deny ims:images:get blocks "share an image (manage its members)" on the native OpenStack routes, APIs 6.3.1, 6.3.2, 6.3.3, 6.3.4, 6.3.5`,
			fix:     "also deny ims:images:share"}}},
	{name: "a Deny of get and share leaves no gap", code: "W-ROUTE-FAMILY-GAP",
		doc: policy11(allow(`["ims:images:share"]`), deny(`["ims:images:get", "ims:images:share"]`))},
	{name: "a conditional Deny leaves the gap open", code: "W-ROUTE-FAMILY-GAP",
		doc:  policy11(allow(`["ims:images:share"]`), deny(`["ims:images:get"]`), deny(`["ims:images:share"]`, `"Condition": {"Bool": {"g:MFAPresent": ["false"]}}`)),
		want: []want{at("/Statement/1/Action/0")}},
	{name: "upload without its OBS dependencies", code: "W-MISSING-DEPENDENT-ACTION",
		doc: policy11(allow(`["ims:images:upload", "kms:*:*"]`)),
		want: []want{{pointer: "/Statement/0/Action/0",
			message: "ims:images:upload enables API 5.1.7, whose dependent actions include ims:images:get, ims:images:update, obs:bucket:*, obs:object:*",
			fix:     "obs is a global service"}}},
	{name: "upload without KMS", code: "W-MISSING-DEPENDENT-ACTION",
		doc: policy11(allow(`["ims:images:upload", "ims:images:get", "ims:images:update", "obs:bucket:*", "obs:object:*"]`)),
		want: []want{{pointer: "/Statement/0/Action/0",
			message: "whose dependent actions include kms:*:*",
			fix:     "also allow kms:*:* (here or in another policy granted in the same scope)"}}},
	{name: "upload with every dependency", code: "W-MISSING-DEPENDENT-ACTION",
		doc: policy11(allow(`["ims:images:upload", "ims:images:get", "ims:images:update", "obs:bucket:*", "obs:object:*", "kms:*:*"]`))},
	{name: "a dependency of an API needing another action, not allowed", code: "W-MISSING-DEPENDENT-ACTION",
		cat: uploadNeedsGetCatalog,
		doc: policy11(allow(`["ims:images:upload"]`))},
	{name: "a dependency of an API needing another action, allowed", code: "W-MISSING-DEPENDENT-ACTION",
		cat:  uploadNeedsGetCatalog,
		doc:  policy11(allow(`["ims:images:upload", "ims:images:get"]`)),
		want: []want{{pointer: "/Statement/0/Action/0", message: "ims:images:upload enables API 6.1.4, whose dependent actions include kms:*:*"}}},
	{name: "three OBS dependencies missing", code: "W-MISSING-DEPENDENT-ACTION",
		cat: threeOBSCatalog,
		doc: policy11(allow(`["ims:images:upload"]`)),
		want: []want{{pointer: "/Statement/0/Action/0",
			message: "ims:images:upload enables API 5.1.7, whose dependent actions include kms:*:*, obs:bucket:*, obs:object:*, obs:object:GetObject",
			fix:     "also allow kms:*:*, obs:bucket:*, obs:object:*, obs:object:GetObject; obs is a global service"}}},
	{name: "OBS dependencies missing, KMS allowed", code: "W-MISSING-DEPENDENT-ACTION",
		cat: threeOBSCatalog,
		doc: policy11(allow(`["ims:images:upload", "kms:*:*"]`)),
		want: []want{{pointer: "/Statement/0/Action/0",
			fix: "also allow obs:bucket:*, obs:object:*, obs:object:GetObject; obs is a global service"}}},
	{name: "every OBS dependency allowed", code: "W-MISSING-DEPENDENT-ACTION",
		cat: threeOBSCatalog,
		doc: policy11(allow(`["ims:images:upload", "obs:bucket:*", "obs:object:*"]`)),
		want: []want{{pointer: "/Statement/0/Action/0",
			fix: "also allow kms:*:* (here or in another policy granted in the same scope)"}}},
	{name: "one enterprise-project note per document", code: "I-EP-UNSUPPORTED", opts: epEnabled,
		doc: policy11(allow(`["ims:images:list"]`), allow(`["ims:images:get"]`)),
		want: []want{{pointer: "/Statement",
			message: "granted on an enterprise project, this policy does not authorize APIs 5.1.1 (shared-image queries), 5.1.9, 6.1.1, 6.1.8, 6.1.9: they honour only IAM-project grants"}}},
	{name: "the enterprise-project note names only allowed APIs", code: "I-EP-UNSUPPORTED", opts: epEnabled,
		// ims:images:list ignores enterprise projects, but here it is denied: the note names
		// only the APIs of the allowed ims:images:get (it used to name denied ones too, and
		// to appear with an empty list when nothing of the kind was allowed).
		doc: policy11(deny(`["ims:images:list"]`), allow(`["ims:images:get"]`)),
		want: []want{{pointer: "/Statement",
			message: "granted on an enterprise project, this policy does not authorize API 6.1.8: they honour only IAM-project grants"}}},
}

// uploadNeedsGetCatalog has one API needing ims:images:upload and ims:images:get, with a
// KMS dependency: the dependency applies to an Allow of upload only when get is allowed too
// (m.deps, input.ims.deps_more).
const uploadNeedsGetCatalog = `version = "test"
[[api]]
id = "glance_upload_image_file"
section = "6.1.4"
title = "Uploading an Image File"
method = "PUT"
path = "/v2/images/{image_id}/file"
family = "openstack"
actions = ["ims:images:upload", "ims:images:get"]
dependencies = ["kms:*:*"]
iam_project = true
enterprise_project = false
enterprise_project_of = []
source = "test"
`

// threeOBSCatalog has one API with three OBS dependencies (the embedded catalog lists two,
// obs:bucket:* and obs:object:*).
const threeOBSCatalog = `version = "test"
[[api]]
id = "register_image"
section = "5.1.7"
title = "Registering an Image File"
method = "PUT"
path = "/v1/cloudimages/{image_id}/upload"
family = "extension"
actions = ["ims:images:upload"]
dependencies = ["obs:bucket:*", "obs:object:*", "obs:object:GetObject", "kms:*:*"]
iam_project = true
enterprise_project = true
enterprise_project_of = ["image"]
source = "test"
`

// epEnabled lints with the opt-in I-EP-UNSUPPORTED enabled for every document.
var epEnabled = Options{Enable: []string{CodeEPUnsupported}}
