package authz

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
)

// TestParseEvalFileErrors: every problem in an eval input is an *EvalFileError at the
// line:column of the offending key or value, with a message that says how to fix it.
func TestParseEvalFileErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		line, col int
		pointer   string
		code      string
		msg       string // substring of the message
		is        error  // besides ErrEvalFile
	}{
		{"syntax error", "{\"request\": {\"action\": \"ims:images:get\",}}", 1, 41, "/request", policy.CodeJSON, "trailing comma", nil},
		{"empty", "", 1, 1, "", policy.CodeJSON, "empty input", nil},
		{"two values", `{"request": {"action": "a:b:c"}} {}`, 1, 34, "", policy.CodeJSON, "more than one JSON value", nil},
		{"duplicate key, last would have won", "{\"request\": {\"action\": \"ims:images:get\",\n  \"action\": \"ims:images:delete\"}}", 2, 3, "/request/action", policy.CodeJSONDupKey, `duplicate key "action" (first defined at 1:14)`, nil},
		{"duplicate key after a byte-order mark", "\xEF\xBB\xBF{\"request\": {}, \"request\": {}}", 1, 17, "/request", policy.CodeJSONDupKey, "duplicate key", nil},
		{"duplicate key in an inline policy", "{\"attachments\": [{\"policy\": {\"Version\": \"1.1\", \"Version\": \"1.1\"}}], \"request\": {\"action\": \"a:b:c\"}}", 1, 48, "/attachments/0/policy/Version", policy.CodeJSONDupKey, "duplicate key", nil},
		{"duplicate context key", "{\"request\": {\"action\": \"a:b:c\", \"context\": {\"g:UserName\": \"a\", \"g:UserName\": \"b\"}}}", 1, 64, "/request/context/g:UserName", policy.CodeJSONDupKey, "duplicate key", nil},
		{"root not an object", `[]`, 1, 1, "", "", "the input must be an object, found an array", nil},
		{"unknown top-level field", "{\"request\": {\"action\": \"a:b:c\"},\n \"atachments\": []}", 2, 2, "/atachments", "", `the input unknown field "atachments" (did you mean "attachments"?)`, nil},
		{"unknown request field", "{\"request\": {\"action\": \"ims:images:get\",\n   \"colour\": 1}}", 2, 4, "/request/colour", "", `request: unknown field "colour"; the fields are action, method, url, body, project, enterpriseProjectId, apiSupportsEnterpriseProject, resource, context`, nil},
		{"field names are case-sensitive", `{"request": {"action": "a:b:c", "enterpriseProjectID": "ep-1"}}`, 1, 33, "/request/enterpriseProjectID", "", `did you mean "enterpriseProjectId"?`, nil},
		{"unknown attachment field", `{"attachments": [{"policy": {}, "scopes": "global"}], "request": {"action": "a:b:c"}}`, 1, 33, "/attachments/0/scopes", "", `attachments[0]: unknown field "scopes" (did you mean "scope"?)`, nil},
		{"unknown scope field", `{"attachments": [{"policy": {}, "scope": {"kind": "project", "regions": []}}], "request": {"action": "a:b:c"}}`, 1, 62, "/attachments/0/scope/regions", "", `attachments[0].scope: unknown field "regions"`, nil},
		{"no request", `{"attachments": []}`, 1, 1, "", "", `the input has no "request"`, nil},
		{"no request kind", `{"request": {}}`, 1, 13, "/request", "", `give either "action"`, nil},
		{"action and method", `{"request": {"action": "a:b:c", "method": "GET", "url": "/"}}`, 1, 13, "/request", "", `give either "action"`, nil},
		{"method without url", `{"request": {"method": "GET"}}`, 1, 24, "/request/method", "", `"method" needs "url"`, nil},
		{"url with action", `{"request": {"action": "a:b:c", "url": "/v2/images"}}`, 1, 40, "/request/url", "", `need "method" instead of "action"`, nil},
		{"wildcard action", `{"request": {"action": "ims:*:get"}}`, 1, 24, "/request/action", "", `"ims:*:get" is not an action`, ErrBadInput},
		{"two-part action", `{"request": {"action": "ims:get"}}`, 1, 24, "/request/action", "", "service:resource:operation", ErrBadInput},
		{"action not a string", `{"request": {"action": ["ims:images:get"]}}`, 1, 24, "/request/action", "", `request.action: must be a string, found an array; write "action": "ims:images:list"`, nil},
		{"null is not absent", `{"request": {"action": "a:b:c", "project": null}}`, 1, 44, "/request/project", "", "must be a string, found null", nil},
		{"flag not a boolean", `{"request": {"action": "a:b:c", "apiSupportsEnterpriseProject": "yes"}}`, 1, 65, "/request/apiSupportsEnterpriseProject", "", "must be true or false, found a string", nil},
		{"resource with three parts", `{"request": {"action": "obs:bucket:get", "resource": "obs:bucket:x"}}`, 1, 54, "/request/resource", "", `resource "obs:bucket:x" has 3 colon-separated part(s); a resource is service:region:account:type:path`, ErrBadInput},
		{"resource with an empty part", `{"request": {"action": "obs:bucket:get", "resource": "obs::acct:bucket:x"}}`, 1, 54, "/request/resource", "", "the region is empty", ErrBadInput},
		{"resource not a string", `{"request": {"action": "obs:bucket:get", "resource": 5}}`, 1, 54, "/request/resource", "", "must be a string, found a number", nil},
		{"context not an object", `{"request": {"action": "a:b:c", "context": ["g:UserName"]}}`, 1, 44, "/request/context", "", `request.context: must be an object of condition keys, found an array`, nil},
		{"context value a number", "{\"request\": {\"action\": \"a:b:c\", \"context\": {\n  \"g:MFAAge\": 300}}}", 2, 15, "/request/context/g:MFAAge", "", `request.context["g:MFAAge"]: must be a string or an array of strings, found a number; write "g:MFAAge": ["300"]`, nil},
		{"context element a boolean", `{"request": {"action": "a:b:c", "context": {"g:MFAPresent": [true]}}}`, 1, 62, "/request/context/g:MFAPresent/0", "", `request.context["g:MFAPresent"][0]: condition values are strings, found a boolean; write "true"`, nil},
		{"attachments not an array", `{"attachments": {}, "request": {"action": "a:b:c"}}`, 1, 17, "/attachments", "", "attachments: must be an array, found an object", nil},
		{"attachment without policy", `{"attachments": [{"scope": "all_projects"}], "request": {"action": "a:b:c"}}`, 1, 18, "/attachments/0", "", `attachments[0]: has no "policy"`, nil},
		{"policy a number", `{"attachments": [{"policy": 1}], "request": {"action": "a:b:c"}}`, 1, 29, "/attachments/0/policy", "", "must be a policy document (an object) or the path of a policy file", nil},
		{"policy path missing", `{"attachments": [{"policy": "nope.json"}], "request": {"action": "a:b:c"}}`, 1, 29, "/attachments/0/policy", "", "(paths are relative to the input file)", fs.ErrNotExist},
		{"policy path empty", `{"attachments": [{"policy": ""}], "request": {"action": "a:b:c"}}`, 1, 29, "/attachments/0/policy", "", "is empty", nil},
		{"inline policy_document broken", `{"attachments": [{"policy": {"policy_document": "{\"Version\": }"}}], "request": {"action": "a:b:c"}}`, 1, 64, "/attachments/0/policy/policy_document/Version", policy.CodeJSON, "attachments[0].policy: in policy_document: expected a JSON value", nil},
		{"inline roles list", `{"attachments": [{"policy": {"roles": [{"policy": {}}, {"policy": {}}]}}], "request": {"action": "a:b:c"}}`, 1, 29, "/attachments/0/policy", "", "holds 2 policy documents; attach them one by one", nil},
		{"unknown scope kind", `{"attachments": [{"policy": {}, "scope": "regions"}], "request": {"action": "a:b:c"}}`, 1, 42, "/attachments/0/scope", "", `unknown scope "regions" (use all_projects, project, global or enterprise_project)`, ErrInvalidScope},
		{"project scope without projects", `{"attachments": [{"policy": {}, "scope": {"kind": "project"}}], "request": {"action": "a:b:c"}}`, 1, 42, "/attachments/0/scope", "", "scope project needs at least one project", ErrInvalidScope},
		{"scope without kind", `{"attachments": [{"policy": {}, "scope": {"projects": ["p"]}}], "request": {"action": "a:b:c"}}`, 1, 42, "/attachments/0/scope", "", `has no "kind"`, nil},
		{"scope a number", `{"attachments": [{"policy": {}, "scope": 1}], "request": {"action": "a:b:c"}}`, 1, 42, "/attachments/0/scope", "", `must be a scope kind such as "all_projects"`, nil},
		{"scope projects not strings", `{"attachments": [{"policy": {}, "scope": {"kind": "project", "projects": [1]}}], "request": {"action": "a:b:c"}}`, 1, 75, "/attachments/0/scope/projects/0", "", `must be a string, found a number; write "ae-ad-1"`, nil},
		{"attachment name not a string", `{"attachments": [{"policy": {}, "name": 1}], "request": {"action": "a:b:c"}}`, 1, 41, "/attachments/0/name", "", "must be a string", nil},
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "in.json")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEvalFile(path, []byte(tc.in))
			require.Error(t, err)
			var fe *EvalFileError
			require.ErrorAs(t, err, &fe, "%v", err)
			assert.ErrorIs(t, err, ErrEvalFile)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Equal(t, path, fe.File)
			assert.Equal(t, tc.line, fe.Pos.Line, "line: %v", err)
			assert.Equal(t, tc.col, fe.Pos.Col, "column: %v", err)
			assert.Equal(t, tc.pointer, fe.Pointer, "%v", err)
			assert.Equal(t, tc.code, fe.Code)
			assert.Contains(t, fe.Message, tc.msg)
			assert.Contains(t, err.Error(), "invalid eval input: "+path+":"+fe.Pos.String()+": ")
		})
	}
}

// TestParseEvalFileShapes: the accepted shapes — a byte-order mark, inline documents with
// the input file's positions, policy paths relative to the file, scopes as a kind or an
// object, context values as a list or one string, bodies as text or JSON, a resource.
func TestParseEvalFileShapes(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "policies"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "policies", "ro.json"), []byte("\xEF\xBB\xBF"+`{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:get"]}]}`), 0o600))
	in := "\xEF\xBB\xBF" + `{
  "attachments": [
    {"policy": "policies/ro.json", "scope": {"kind": "project", "projects": ["ae-ad-1"]}},
    {"name": "inline", "scope": "global",
     "policy": {"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["obs:*:*"], "Resource": ["obs:*:*:bucket:secret"]}]}},
    {"policy": {"role": {"policy": {"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"]}]}}},
     "scope": {"kind": "enterprise_project", "enterpriseProjects": ["ep-1"]}}
  ],
  "request": {
    "method": "post", "url": "/v2/cloudimages/quickimport/action", "body": {"type": "DataImage", "name": "d"},
    "project": "ae-ad-1", "enterpriseProjectId": "ep-1", "apiSupportsEnterpriseProject": false,
    "resource": "obs:ae-ad-1:acct:object:logs/a:b",
    "context": {"g:UserName": "alice", "g:SourceIp": ["10.1.2.3", "10.1.2.4"], "g:TagKeys": []}
  }
}`
	path := filepath.Join(dir, "in.json")
	ef, err := ParseEvalFile(path, []byte(in))
	require.NoError(t, err)
	require.Len(t, ef.Attachments, 3)
	ro := ef.Attachments[0]
	assert.Equal(t, filepath.Join(dir, "policies", "ro.json"), ro.Name)
	assert.Equal(t, Scope{Kind: ScopeProject, Projects: []string{"ae-ad-1"}}, ro.Scope)
	inline := ef.Attachments[1]
	assert.Equal(t, "inline", inline.Name)
	assert.Equal(t, Scope{Kind: ScopeGlobal}, inline.Scope)
	require.Len(t, inline.Document.Statements, 1)
	assert.Equal(t, policy.Pos{Line: 5, Col: 49, Offset: 205}, inline.Document.Statements[0].Node.Pos, "positions of the input file")
	assert.Equal(t, "/attachments/1/policy/Statement/0", inline.Document.Statements[0].Node.Pointer)
	role := ef.Attachments[2]
	assert.Equal(t, path+"#/attachments/2/policy", role.Name)
	assert.Equal(t, policy.FamilyRole, role.Document.Family)
	assert.Equal(t, ScopeEnterpriseProject, role.Scope.Kind)

	r := ef.Input
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, `{"type": "DataImage", "name": "d"}`, string(r.Body), "the body as written")
	assert.Equal(t, "ep-1", r.EnterpriseProjectID)
	require.NotNil(t, r.APISupportsEP)
	assert.False(t, *r.APISupportsEP)
	assert.Equal(t, "obs:ae-ad-1:acct:object:logs/a:b", r.Resource)
	assert.Equal(t, map[string][]string{"g:UserName": {"alice"}, "g:SourceIp": {"10.1.2.3", "10.1.2.4"}, "g:TagKeys": {}}, r.Context)
	assert.True(t, r.Explain)

	ef, err = ParseEvalFile(path, []byte(`{"request": {"action": "ims:images:get", "body": "raw text"}}`))
	require.Error(t, err, "a body needs a method")
	ef, err = ParseEvalFile(path, []byte(`{"request": {"method": "PUT", "url": "/v2/images/x/file", "body": "raw text"}}`))
	require.NoError(t, err)
	assert.Equal(t, "raw text", string(ef.Input.Body))
	assert.Empty(t, ef.Attachments)
	assert.Equal(t, map[string][]string{}, ef.Input.Context)
}

func TestLoadEvalFile(t *testing.T) {
	_, err := LoadEvalFile(filepath.Join(t.TempDir(), "nope.json"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	big := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(big, make([]byte, policy.MaxFileSize+1), 0o600))
	_, err = LoadEvalFile(big)
	assert.ErrorIs(t, err, policy.ErrTooLarge)
	var fe *EvalFileError
	assert.False(t, errors.As(err, &fe))
}

func TestCheckResource(t *testing.T) {
	for r, want := range map[string]string{
		"obs:ae-ad-1:acct:bucket:my-bucket":     "",
		"obs:ae-ad-1:acct:object:logs/a:b:c":    "",
		"OBS:*:*:BUCKET:x":                      "",
		"":                                      "has 1 colon-separated part(s)",
		"obs:bucket:x":                          "has 3 colon-separated part(s)",
		"obs:ae-ad-1:acct:bucket:":              "the path is empty",
		":ae-ad-1:acct:bucket:x":                "the service is empty",
		"obs:ae-ad-1: :bucket:x":                "the account is empty",
		"obs:ae-ad-1:acct::x":                   "the resource type is empty",
		"obs:ae-ad-1:acct:bucket:x y (allowed)": "",
	} {
		err := CheckResource(r)
		if want == "" {
			assert.NoError(t, err, r)
			continue
		}
		assert.ErrorIs(t, err, ErrBadInput, r)
		assert.ErrorContains(t, err, want, r)
	}
}
