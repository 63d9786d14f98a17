package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	roPolicy      = "../../testdata/policies/ims-readonly.json"
	noSharePolicy = "../../testdata/policies/no-sharing.json"
)

type evalOut struct {
	Decision string
	API      *struct{ ID string }
	Actions  []struct {
		Action, Decision string
		Matched          []struct {
			Attachment, Statement int
			Policy, Effect        string
		}
	}
	Skipped []struct {
		Attachment int
		Reason     string
	}
	MissingKeys []string `json:"missing_context_keys"`
}

func TestEvalCommand(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		want   string
		check  func(t *testing.T, o evalOut)
		stderr string
	}{
		{"allow by method and url", []string{"--policy", roPolicy, "--method", "get", "--url", "/v2/images"}, 0, "Allow", func(t *testing.T, o evalOut) {
			assert.Equal(t, "glance_list_images", o.API.ID)
			require.Len(t, o.Actions, 1)
			assert.Equal(t, 0, o.Actions[0].Matched[0].Statement)
		}, ""},
		{"implicit deny by action", []string{"--policy", roPolicy, "--action", "ims:images:delete"}, 1, "ImplicitDeny", nil, ""},
		{"explicit deny wins", []string{"--policy", roPolicy, "--policy", noSharePolicy, "--method", "GET", "--url", "/v2/images/x/members"}, 1, "ExplicitDeny", func(t *testing.T, o evalOut) {
			require.Len(t, o.Actions, 2)
			assert.Equal(t, "Allow", o.Actions[0].Decision)
			assert.Equal(t, "ExplicitDeny", o.Actions[1].Decision)
		}, ""},
		{"scoped input file", []string{"--input", "../../testdata/eval/scoped.json"}, 0, "Allow", func(t *testing.T, o evalOut) {
			// the readonly grant is on another project, the EP deny does not apply to a
			// sharing API (no enterprise-project support), alice's conditional grant allows
			require.Len(t, o.Skipped, 2)
			assert.Equal(t, 0, o.Skipped[0].Attachment)
			assert.Contains(t, o.Skipped[1].Reason, "does not support enterprise-project")
			assert.Equal(t, "share-for-alice", o.Actions[1].Matched[0].Policy)
		}, ""},
		{"context overrides in input file", []string{"--input", "../../testdata/eval/scoped.json", "--context", "g:UserName=bob"}, 1, "ImplicitDeny", nil, ""},
		{"missing context key reported", []string{"--policy", "../../testdata/eval/cond.json", "--action", "ims:images:list"}, 1, "ImplicitDeny", func(t *testing.T, o evalOut) {
			assert.Equal(t, []string{"g:sourceip"}, o.MissingKeys)
		}, ""},
		{"context given", []string{"--policy", "../../testdata/eval/cond.json", "--action", "ims:images:list", "--context", "g:SourceIp=10.1.2.3"}, 0, "Allow", nil, ""},
		{"no policy", []string{"--action", "ims:images:list"}, 2, "", nil, "--policy"},
		{"both action and url", []string{"--policy", roPolicy, "--action", "a:b:c", "--method", "GET", "--url", "/"}, 2, "", nil, "either --action"},
		{"unknown route", []string{"--policy", roPolicy, "--method", "GET", "--url", "/v2/../x"}, 2, "", nil, "matches no IMS API"},
		{"broken policy", []string{"--policy", "../../testdata/eval/broken.json", "--action", "ims:images:list"}, 2, "", nil, "broken.json:1:"},
		{"duplicate key in a policy", []string{"--policy", "../../testdata/eval/dupkey.json", "--action", "ims:images:delete"}, 2, "", nil, `dupkey.json:4:77: duplicate key "Effect" (first defined at 4:6)`},
		{"invalid policy", []string{"--policy", "../../testdata/eval/bad-effect.json", "--action", "ims:images:list"}, 2, "", nil, "--lenient"},
		{"bad context", []string{"--policy", roPolicy, "--action", "ims:images:list", "--context", "novalue"}, 2, "", nil, "key=value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, "", append([]string{"eval", "--format", "json"}, tc.args...)...)
			require.Equal(t, tc.code, code, "stderr: %s", stderr)
			if tc.code == 2 {
				assert.Contains(t, stderr, tc.stderr)
				return
			}
			var o evalOut
			require.NoError(t, json.Unmarshal([]byte(out), &o), out)
			assert.Equal(t, tc.want, o.Decision)
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}

func TestEvalTextOutput(t *testing.T) {
	out, _, code := runCLI(t, "", "eval", "--policy", roPolicy, "--policy", noSharePolicy, "--method", "POST", "--url", "/v1/cloudimages/members", "--body", "-")
	// body read from stdin (empty) is fine: 5.2.2's actions do not depend on it
	require.Equal(t, 1, code)
	assert.Contains(t, out, "Decision")
	assert.Contains(t, out, "ExplicitDeny")
	assert.Contains(t, out, "no-sharing.json statement 0 (Deny)")
}

func TestEvalInputFileErrors(t *testing.T) {
	dir := t.TempDir()
	// want: where (line:column in the input file) and what; the positioned parser of
	// policies reads the file, so duplicate keys and unknown fields are placed too.
	cases := map[string]struct{ text, want string }{
		"unknown field":   {`{"attachments": [], "request": {"action": "ims:images:get", "colour": 1}}`, `in.json:1:61: request: unknown field "colour"`},
		"no request kind": {`{"attachments": [], "request": {}}`, `in.json:1:32: request: give either "action"`},
		"missing policy":  {`{"attachments": [{"scope": "all_projects"}], "request": {"action": "ims:images:get"}}`, `in.json:1:18: attachments[0]: has no "policy"`},
		"policy path":     {`{"attachments": [{"policy": "nope.json"}], "request": {"action": "ims:images:get"}}`, `in.json:1:29: attachments[0].policy: load policy`},
		"bad scope":       {`{"attachments": [{"policy": {"Version":"1.1","Statement":[]}, "scope": {"kind": "project", "regions": []}}], "request": {"action": "a:b:c"}}`, `in.json:1:92: attachments[0].scope: unknown field "regions"`},
		"bad context":     {`{"attachments": [], "request": {"action": "a:b:c", "context": {"k": 1}}}`, `in.json:1:69: request.context.k: must be a string or an array of strings, found a number; write "k": ["1"]`},
		"not json":        {`{`, `in.json:1:2: unexpected end of input`},
		"duplicate key":   {"{\"attachments\": [],\n \"request\": {\"action\": \"ims:images:get\", \"action\": \"ims:images:delete\"}}", `in.json:2:42: duplicate key "action" (first defined at 2:14)`},
		"bad resource":    {`{"attachments": [], "request": {"action": "obs:bucket:DeleteBucket", "resource": "obs:audit-logs"}}`, `in.json:1:82: request.resource: resource "obs:audit-logs" has 2 colon-separated part(s)`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "in.json")
			require.NoError(t, os.WriteFile(p, []byte(tc.text), 0o600))
			_, stderr, code := runCLI(t, "", "eval", "--input", p)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// TestEvalInputFileBOM: a file saved with a UTF-8 byte-order mark is read like any other.
func TestEvalInputFileBOM(t *testing.T) {
	p := filepath.Join(t.TempDir(), "in.json")
	require.NoError(t, os.WriteFile(p, []byte("\xEF\xBB\xBF"+`{"attachments": [{"policy": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}}],
  "request": {"action": "ims:images:list", "project": "ae-ad-1"}}`), 0o600))
	_, stderr, code := runCLI(t, "", "eval", "--input", p)
	assert.Equal(t, 0, code, stderr)
}

// TestEvalResource: a Deny scoped to an OBS bucket (spec §6.3) applies to a request on
// that bucket and not to one on another bucket, from the input file and from --resource.
func TestEvalResource(t *testing.T) {
	const (
		input  = "../../testdata/eval/obs-bucket.json"
		policy = "../../testdata/eval/obs-audit.json"
		acct   = "obs:ae-ad-1:0a1b2c3d4e5f:"
	)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"deny on the bucket, from the file", []string{"--input", input}, 1, "ExplicitDeny"},
		{"another bucket, --resource replaces the file's", []string{"--input", input, "--resource", acct + "bucket:build-cache"}, 0, "Allow"},
		{"deny on an object of the bucket", []string{"--policy", policy, "--action", "obs:object:DeleteObject", "--resource", acct + "object:audit-logs/2024/06/01-0001"}, 1, "ExplicitDeny"},
		{"an object of another bucket", []string{"--policy", policy, "--action", "obs:object:DeleteObject", "--resource", acct + "object:build-cache/audit-logs/x"}, 0, "Allow"},
		{"a path with colons", []string{"--policy", policy, "--action", "obs:object:PutObject", "--resource", acct + "object:audit-logs/a:b"}, 1, "ExplicitDeny"},
		{"service and type compare case-insensitively", []string{"--policy", policy, "--action", "obs:bucket:DeleteBucket", "--resource", "OBS:ae-ad-1:0a1b2c3d4e5f:Bucket:audit-logs"}, 1, "ExplicitDeny"},
		{"the path case-sensitively", []string{"--policy", policy, "--action", "obs:bucket:DeleteBucket", "--resource", acct + "bucket:Audit-Logs"}, 0, "Allow"},
		{"no resource: the resource-scoped Deny does not apply", []string{"--policy", policy, "--action", "obs:bucket:DeleteBucket"}, 0, "Allow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, "", append([]string{"eval", "--format", "json"}, tc.args...)...)
			require.Equal(t, tc.code, code, "stderr: %s", stderr)
			var o evalOut
			require.NoError(t, json.Unmarshal([]byte(out), &o), out)
			assert.Equal(t, tc.want, o.Decision)
		})
	}
	_, stderr, code := runCLI(t, "", "eval", "--policy", policy, "--action", "obs:bucket:DeleteBucket", "--resource", "obs:audit-logs")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `--resource: invalid decision input: resource "obs:audit-logs" has 2 colon-separated part(s); a resource is service:region:account:type:path`)
}

// TestEvalInputOverrides: with --input, --project and --enterprise-project replace the
// file's request project and enterprise project; left out, the file's values stand (the
// flags' defaults do not apply).
func TestEvalInputOverrides(t *testing.T) {
	p := filepath.Join(t.TempDir(), "in.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"attachments": [
    {"policy": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}, "scope": {"kind": "project", "projects": ["p1"]}},
    {"policy": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:get"]}]}, "scope": {"kind": "enterprise_project", "enterpriseProjects": ["ep-1"]}}],
  "request": {"method": "GET", "url": "/v2/cloudimages?enterprise_project_id=ep-1", "project": "p1", "enterpriseProjectId": "ep-1"}}`), 0o600))
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"the file's project", nil, 0},
		{"--project replaces it", []string{"--project", "p2"}, 1},
		{"--project naming the file's", []string{"--project", "p1"}, 0},
	}
	ep := filepath.Join(t.TempDir(), "ep.json")
	require.NoError(t, os.WriteFile(ep, []byte(`{"attachments": [
    {"policy": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}, "scope": {"kind": "enterprise_project", "enterpriseProjects": ["ep-1"]}}],
  "request": {"action": "ims:images:list", "project": "p1", "enterpriseProjectId": "ep-1", "apiSupportsEnterpriseProject": true}}`), 0o600))
	cases = append(cases, []struct {
		name string
		args []string
		code int
	}{
		{"the file's enterprise project", []string{"--input", ep}, 0},
		{"--enterprise-project replaces it", []string{"--input", ep, "--enterprise-project", "ep-2"}, 1},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"eval", "--input", p}, tc.args...)
			if len(tc.args) > 0 && tc.args[0] == "--input" {
				args = append([]string{"eval"}, tc.args...)
			}
			stdout, stderr, code := runCLI(t, "", args...)
			assert.Equal(t, tc.code, code, "%s%s", stdout, stderr)
		})
	}
}
