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
	cases := map[string]string{
		"unknown field":   `{"attachments": [], "request": {"action": "ims:images:get", "colour": 1}}`,
		"no request kind": `{"attachments": [], "request": {}}`,
		"missing policy":  `{"attachments": [{"scope": "all_projects"}], "request": {"action": "ims:images:get"}}`,
		"policy path":     `{"attachments": [{"policy": "nope.json"}], "request": {"action": "ims:images:get"}}`,
		"bad scope":       `{"attachments": [{"policy": {"Version":"1.1","Statement":[]}, "scope": {"kind": "project", "regions": []}}], "request": {"action": "a:b:c"}}`,
		"bad context":     `{"attachments": [], "request": {"action": "a:b:c", "context": {"k": 1}}}`,
		"not json":        `{`,
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "in.json")
			require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
			_, stderr, code := runCLI(t, "", "eval", "--input", p)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, "in.json")
		})
	}
}
