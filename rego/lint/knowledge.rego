# imsguard lint knowledge tables
#
# Facts the rules check documents against that do not come from the IMS catalog: condition
# keys and their types, regions, services with resource-level authorization, global versus
# project-level services. Every table names its basis in the policy-language spec.
package imsguard.lint

# key_types: the 1.1 condition keys (lower case) and their types: the global keys of spec
# 5.8 and the service-level keys the documentation names (IMS defines none in 1.1).
key_types := {
	"g:currenttime": "date",
	"g:domainname": "string",
	"g:mfapresent": "boolean",
	"g:mfaage": "number",
	"g:projectname": "string",
	"g:servicename": "string",
	"g:userid": "string",
	"g:username": "string",
	"g:sourceip": "ip",
	"g:sourcevpc": "string",
	"g:sourcevpce": "string",
	"g:tagkeys": "string",
	"obs:prefix": "string",
	"obs:max-keys": "number",
	"obs:sourceip": "ip",
	"ief:assumeusername": "string",
}

# global_key_names: the documented spelling of each global key.
global_key_names := {
	"g:currenttime": "g:CurrentTime",
	"g:domainname": "g:DomainName",
	"g:mfapresent": "g:MFAPresent",
	"g:mfaage": "g:MFAAge",
	"g:projectname": "g:ProjectName",
	"g:servicename": "g:ServiceName",
	"g:userid": "g:UserId",
	"g:username": "g:UserName",
	"g:sourceip": "g:SourceIp",
	"g:sourcevpc": "g:SourceVpc",
	"g:sourcevpce": "g:SourceVpce",
	"g:tagkeys": "g:TagKeys",
}

# identity_key_types: keys identity policies (5.0) add (spec 11.3), IMS service keys included.
identity_key_types := {
	"g:principalurn": "string",
	"g:principalaccount": "string",
	"g:principalorgid": "string",
	"g:enterpriseprojectid": "string",
	"g:calledvia": "string",
	"g:viaservice": "string",
	"g:securetransport": "boolean",
	"g:requestedregion": "string",
	"ims:targetorgpaths": "string",
	"ims:encrypted": "boolean",
	"ims:targetbucketorgpaths": "string",
	"ims:originbucketorgpaths": "string",
}

# tag_key_prefixes: keys with a tag name after the prefix, all strings (1.1 and 5.0).
tag_key_prefixes := {"g:resourcetag/"}

identity_tag_key_prefixes := {"g:principaltag/", "g:requesttag/"}

# key_type(k) is the type of a condition key (lower case) for the document's family,
# "unknown" for keys no table lists.
key_type(k) := t if {
	t := key_types[k]
} else := t if {
	input.family == "identity"
	t := identity_key_types[k]
} else := "string" if {
	startswith(k, "g:resourcetag/")
} else := "string" if {
	input.family == "identity"
	some p in identity_tag_key_prefixes
	startswith(k, p)
} else := "unknown"

# known_regions: region identifiers accepted in a Resource region segment (spec 6.1), besides
# "*" and the regions in input.settings.regions: G42 ae-ad-1 and the Huawei Cloud public
# regions.
known_regions := {
	"ae-ad-1",
	"af-south-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
	"cn-east-2", "cn-east-3", "cn-east-4", "cn-north-1", "cn-north-2", "cn-north-4", "cn-north-9",
	"cn-south-1", "cn-south-2", "cn-south-4", "cn-southwest-2",
	"eu-west-0", "eu-west-101", "la-north-2", "la-south-2", "me-east-1", "my-kualalumpur-1",
	"na-mexico-1", "ru-moscow-1", "ru-northwest-2", "sa-brazil-1", "tr-west-1",
}

# resource_services: services with resource-level authorization and their resource types
# (spec 6.2, 2021 list). IMS is not one of them.
resource_services := {
	"obs": {"bucket", "object"},
	"ief": {"product", "node", "group", "deployment", "batchjob", "application", "appversion", "iefinstance"},
	"dli": {"queue", "database", "table", "column", "datasourceauth", "jobs"},
	"ges": {"graphname", "backupname"},
	"functiongraph": {"function", "trigger"},
	"fgs": {"function", "trigger"},
	"dms": set(),
	"iotda": set(),
	"kms": {"keyid"},
	"octopus": {"dataset", "replay"},
	"dws": {"cluster"},
}

# global_services are granted in the global service project (spec 7.2: OBS, IAM);
# project_services are the known region-level services (IMS and the services its
# dependencies name, plus common ones). Services in neither set are not classified.
global_services := {"obs", "iam"}

project_services := {
	"ims", "ecs", "evs", "vpc", "kms", "bms", "cbr", "csbs", "elb", "eip", "nat", "rds", "cce",
	"as", "sfs", "dcs", "dms", "dws", "dli", "ief", "ges", "functiongraph", "fgs", "iotda", "swr",
	"aom", "lts", "ces", "vbs",
}
