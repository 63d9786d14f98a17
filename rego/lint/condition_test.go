package lint

import (
	"fmt"
	"strings"
)

// condition is a 1.1 policy allowing ims:quotas:get under the given Condition (JSON).
func condition(cond string) string {
	return policy11(allow(`["ims:quotas:get"]`, `"Condition": `+cond))
}

// conditionCases test the rules of condition.rego (see ruleCase).
var conditionCases = []ruleCase{
	{name: "unknown operator with a suggestion", code: "E-COND-OPERATOR",
		doc:  condition(`{"StringEqual": {"g:UserName": ["alice"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringEqual", message: `unknown condition operator "StringEqual"`, fix: `did you mean "StringEquals"?`}}},
	{name: "AWS numeric operator hint", code: "E-COND-OPERATOR",
		doc:  condition(`{"NumericLessThan": {"g:MFAAge": ["900"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/NumericLessThan", message: "IAM uses Number*/Date* names"}}},
	{name: "IfExists on a null check", code: "E-COND-OPERATOR",
		doc:  condition(`{"IsNullIfExists": {"g:UserName": []}}`),
		want: []want{{pointer: "/Statement/0/Condition/IsNullIfExists", message: "IfExists is meaningless on IsNull", fix: "write IsNull"}}},
	{name: "unknown qualifier", code: "E-COND-OPERATOR",
		doc:  condition(`{"ForSomeValues:StringEquals": {"g:UserName": ["a"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/ForSomeValues:StringEquals", message: `unknown qualifier "ForSomeValues"`}}},
	{name: "the documented qualifiers", code: "E-COND-OPERATOR",
		doc: condition(`{"ForAnyValue:stringequals": {"g:UserName": ["a"]}, "ForAllValues:StringEquals": {"g:UserName": ["b"]}}`)},
	{name: "operator letter case", code: "W-OPERATOR-CASE",
		doc:  condition(`{"stringequals": {"g:UserName": ["alice"]}, "StringEquals": {"g:ProjectName": ["p"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/stringequals", fix: `write "StringEquals"`}}},
	{name: "a date that does not parse", code: "E-COND-VALUE",
		doc:  condition(`{"DateLessThan": {"g:CurrentTime": ["tomorrow", "2030-01-01T00:00:00Z"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/DateLessThan/g:CurrentTime/0", message: "is not an ISO 8601 date-time"}}},
	{name: "a boolean and an address that do not parse", code: "E-COND-VALUE",
		doc: condition(`{"Bool": {"g:MFAPresent": ["yes"]}, "IpAddress": {"g:SourceIp": ["10.0.0.300", "10.0.0.0/8"]}}`),
		want: []want{
			{pointer: "/Statement/0/Condition/Bool/g:MFAPresent/0", message: `"true" or "false"`},
			{pointer: "/Statement/0/Condition/IpAddress/g:SourceIp/0", message: "an IP address or CIDR block"},
		}},
	{name: "a control character", code: "E-COND-VALUE",
		doc:  condition(`{"StringEquals": {"g:UserName": ["a\tb"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringEquals/g:UserName/0", message: "control character"}}},
	{name: "operator and key types differ", code: "E-COND-TYPE",
		doc: condition(`{"StringEquals": {"g:CurrentTime": ["x"]}, "IpAddress": {"g:UserName": ["10.0.0.1"], "g:SourceIp": ["10.0.0.1"]}}`),
		want: []want{
			{pointer: "/Statement/0/Condition/StringEquals/g:CurrentTime", message: "g:CurrentTime is a date key", fix: "DateLessThan"},
			{pointer: "/Statement/0/Condition/IpAddress/g:UserName", message: "g:UserName is a string key"},
		}},
	{name: "unknown key with a suggestion; tag keys are known", code: "W-COND-KEY-UNKNOWN",
		doc:  condition(`{"StringEquals": {"g:ResourceTag/team": ["x"], "hw:SourceIp": ["x"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringEquals/hw:SourceIp", fix: `did you mean "g:SourceIp"?`}}},
	{name: "5.0 keys only in identity policies", code: "W-COND-KEY-UNKNOWN",
		doc:  condition(`{"Bool": {"g:SecureTransport": ["true"]}}`),
		want: []want{at("/Statement/0/Condition/Bool/g:SecureTransport")}},
	{name: "5.0 keys in an identity policy", code: "W-COND-KEY-UNKNOWN",
		doc:  `{"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"], "Condition": {"Bool": {"g:SecureTransport": ["true"]}, "StringEquals": {"x:y": ["z"]}}}]}`,
		want: []want{at("/Statement/0/Condition/StringEquals/x:y")}},
	{name: "no values", code: "E-COND-VALUES-COUNT",
		doc:  condition(`{"StringEquals": {"g:UserName": []}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringEquals/g:UserName", message: "has no values"}}},
	{name: "too many values", code: "E-COND-VALUES-COUNT",
		doc:  condition(`{"StringEquals": {"g:UserName": [` + quotedList("u", 11) + `]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringEquals/g:UserName", message: "has 11 values; the limit is 10"}}},
	{name: "Null takes one value", code: "E-COND-VALUES-COUNT",
		doc:  condition(`{"Null": {"g:UserName": []}}`),
		want: []want{{pointer: "/Statement/0/Condition/Null/g:UserName", message: "takes exactly one value"}}},
	{name: "an empty value", code: "E-COND-VALUE-LENGTH",
		doc:  condition(`{"StringEquals": {"g:UserName": [""]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringEquals/g:UserName/0", message: "must not be empty"}}},
	{name: "a value longer than 1,024 characters", code: "E-COND-VALUE-LENGTH",
		doc:  condition(`{"StringEquals": {"g:UserName": ["` + strings.Repeat("a", 1025) + `"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringEquals/g:UserName/0", message: "this one has 1025"}}},
	{name: "null checks with values", code: "W-COND-NULL-VALUE",
		doc:  condition(`{"IsNull": {"g:UserName": ["no"], "g:ProjectName": ["true"]}}`),
		want: []want{at("/Statement/0/Condition/IsNull/g:UserName")}},
	{name: "characters outside the documented set", code: "W-COND-VALUE-CHARSET",
		doc:  condition(`{"StringEquals": {"g:UserName": ["a b", "a\tb"]}}`),
		want: []want{at("/Statement/0/Condition/StringEquals/g:UserName/0")}},
	{name: "StringLike with a wildcard", code: "W-STRINGLIKE-GLOB",
		doc:  condition(`{"StringLike": {"g:UserName": ["adm*", "adm"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringLike/g:UserName/0", message: "StringLike tests whether"}}},
	{name: "an empty Condition", code: "E-COND-COUNT",
		doc:  condition(`{}`),
		want: []want{{pointer: "/Statement/0/Condition", message: "Condition is empty"}}},
	{name: "too many (operator, key) pairs", code: "E-COND-COUNT",
		doc:  condition(`{"StringEquals": {` + keyList(11) + `}}`),
		want: []want{{pointer: "/Statement/0/Condition", message: "has 11 (operator, key) conditions"}}},
	{name: "Condition of the wrong type", code: "E-COND-VALUE-TYPE",
		doc:  condition(`[]`),
		want: []want{{pointer: "/Statement/0/Condition", message: "found an array"}}},
	{name: "operator and key values of the wrong type", code: "E-COND-VALUE-TYPE",
		doc: condition(`{"StringEquals": ["a"], "StringNotEquals": {"g:UserName": "a", "g:ProjectName": [1]}}`),
		want: []want{
			{pointer: "/Statement/0/Condition/StringEquals", message: "must be an object"},
			{pointer: "/Statement/0/Condition/StringNotEquals/g:UserName", message: "must be an array of strings"},
			{pointer: "/Statement/0/Condition/StringNotEquals/g:ProjectName/0", message: "found a number"},
		}},
	{name: "a single string value in an identity policy", code: "E-COND-VALUE-TYPE",
		doc:  `{"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"], "Condition": {"StringEquals": {"g:UserName": "a", "g:ProjectName": [1]}}}]}`,
		want: []want{at("/Statement/0/Condition/StringEquals/g:ProjectName/0")}},
	{name: "a 2021/2022 operator with the 2023 edition", code: "W-LEGACY-OPERATOR",
		opts: Options{OperatorEdition: OperatorEditionNew},
		doc:  condition(`{"StringLike": {"g:UserName": ["adm"]}}`),
		want: []want{at("/Statement/0/Condition/StringLike")}},
	{name: "a 2021/2022 operator with both editions", code: "W-LEGACY-OPERATOR",
		doc: condition(`{"StringLike": {"g:UserName": ["adm"]}}`)},
	{name: "a 2023 operator with the 2021 edition", code: "W-NEW-OPERATOR",
		opts: Options{OperatorEdition: OperatorEditionLegacy},
		doc:  condition(`{"StringMatch": {"g:UserName": ["adm*"]}}`),
		want: []want{{pointer: "/Statement/0/Condition/StringMatch", message: "operator StringMatch is documented only in the 2023 edition"}}},
}

// quotedList is n quoted strings prefix0, prefix1, ...
func quotedList(prefix string, n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("%q", fmt.Sprintf("%s%d", prefix, i))
	}
	return strings.Join(s, ", ")
}

// keyList is n members "g:ResourceTag/k<i>": ["v"].
func keyList(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf(`"g:ResourceTag/k%d": ["v"]`, i)
	}
	return strings.Join(s, ", ")
}
