package acme.ims_test

import data.acme.ims

share_input := {
	"family": "policy",
	"actions": [{"pointer": "/Statement/0/Action/0", "effect": "Allow", "m": {"value": "ims:images:*", "expands": ["ims:images:get", "ims:images:share"]}}],
	"document": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:*"]}]},
}

test_share_is_denied if {
	some f in ims.deny with input as share_input
	f.code == "ACME-NO-SHARE"
	f.pointer == "/Statement/0/Action/0"
}

test_project_condition_silences_the_warning if {
	count(ims.warn) == 1 with input as share_input
	pinned := object.union(share_input, {"document": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"], "Condition": {"StringEquals": {"g:ProjectName": ["ae-ad-1"]}}}]}})
	count(ims.warn) == 0 with input as pinned
}
