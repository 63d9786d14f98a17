package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLI runs the command line in-process and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestActionsList(t *testing.T) {
	out, _, code := runCLI(t, "", "actions", "list", "--format", "json")
	require.Equal(t, 0, code)
	var apis []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &apis))
	require.Len(t, apis, 36)
	for _, a := range apis {
		for _, k := range []string{"id", "section", "title", "method", "path", "family", "deprecated", "actions", "conditional_actions", "dependencies", "iam_project", "enterprise_project", "source"} {
			assert.Contains(t, a, k)
		}
	}
	out, _, code = runCLI(t, "", "actions", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "5.1.4")
	assert.Contains(t, out, "ims:dataImages:create?")
	assert.Contains(t, out, "36 APIs")
}

func TestActionsMatchContract(t *testing.T) {
	dir := t.TempDir()
	body := filepath.Join(dir, "body.json")
	require.NoError(t, os.WriteFile(body, []byte(`[{"op":"replace","path":"/enterprise_project_id","value":"0"}]`), 0o600))
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		check func(t *testing.T, m map[string]any, stderr string)
	}{
		{"matched", "", []string{"GET", "/v2/images/abc/members/def?x=1"}, 0, func(t *testing.T, m map[string]any, _ string) {
			assert.Equal(t, true, m["matched"])
			api := m["api"].(map[string]any)
			assert.Equal(t, "glance_show_member", api["id"])
			assert.Equal(t, "6.3.3", api["section"])
			assert.Equal(t, "GET", api["method"])
			assert.Equal(t, "/v2/images/{image_id}/members/{member_id}", api["path"])
			assert.Equal(t, "openstack", api["family"])
			assert.Equal(t, false, api["deprecated"])
			assert.Equal(t, []any{"ims:images:get", "ims:images:share"}, m["actions"])
			assert.Equal(t, map[string]any{"image_id": "abc", "member_id": "def"}, m["params"])
			assert.NotContains(t, m, "reason")
		}},
		{"lower-case method is upper-cased", "", []string{"get", "/v2/images"}, 0, func(t *testing.T, m map[string]any, _ string) {
			assert.Equal(t, true, m["matched"])
		}},
		{"conditional from file", "", []string{"--body", body, "PATCH", "/v2/cloudimages/abc"}, 0, func(t *testing.T, m map[string]any, _ string) {
			assert.Equal(t, []any{"ims:images:update", "ims:serverImages:create"}, m["actions"])
			assert.NotEmpty(t, m["dependencies"])
		}},
		{"conditional from stdin", `{"type":"DataImage"}`, []string{"--body", "-", "POST", "https://ims.ae-ad-1.g42cloud.com/v2/cloudimages/quickimport/action"}, 0, func(t *testing.T, m map[string]any, _ string) {
			assert.Equal(t, []any{"ims:dataImages:create"}, m["actions"])
		}},
		{"no api", "", []string{"DELETE", "/v2/cloudimages"}, 1, func(t *testing.T, m map[string]any, _ string) {
			assert.Equal(t, false, m["matched"])
			assert.Equal(t, "method_not_allowed", m["reason"])
			assert.NotContains(t, m, "api")
			assert.Equal(t, []any{}, m["actions"])
		}},
		{"path trick", "", []string{"GET", "/v2/images/%2e%2e"}, 1, func(t *testing.T, m map[string]any, _ string) {
			assert.Equal(t, "invalid_path", m["reason"])
		}},
		{"body needed", "", []string{"POST", "/v2/cloudimages/quickimport/action"}, 2, func(t *testing.T, _ map[string]any, stderr string) {
			assert.Contains(t, stderr, "--body")
		}},
		{"bad body", "{", []string{"--body", "-", "POST", "/v2/cloudimages/quickimport/action"}, 2, func(t *testing.T, _ map[string]any, stderr string) {
			assert.Contains(t, stderr, "not valid JSON")
		}},
		{"oversized body", strings.Repeat(" ", 100), []string{"--max-body", "10", "--body", "-", "POST", "/v2/cloudimages/quickimport/action"}, 2, func(t *testing.T, _ map[string]any, stderr string) {
			assert.Contains(t, stderr, "larger than 10 bytes")
		}},
		{"missing body file", "", []string{"--body", filepath.Join(dir, "nope.json"), "POST", "/v2/cloudimages/quickimport/action"}, 2, func(t *testing.T, _ map[string]any, stderr string) {
			assert.Contains(t, stderr, "no such file")
		}},
		{"one argument", "", []string{"GET"}, 2, func(t *testing.T, _ map[string]any, stderr string) {
			assert.Contains(t, stderr, "needs METHOD and URL")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, tc.stdin, append([]string{"actions", "match", "--format", "json"}, tc.args...)...)
			require.Equal(t, tc.code, code, "stderr: %s", stderr)
			var m map[string]any
			if code != 2 {
				require.NoError(t, json.Unmarshal([]byte(out), &m), out)
				assert.Empty(t, stderr)
			} else {
				assert.Empty(t, out)
				assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line on stderr: %q", stderr)
			}
			tc.check(t, m, stderr)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"actions", "match", "--format", "yaml", "GET", "/"},
		{"actions", "list", "--nope"},
		{"actions", "list", "extra"},
		{"--catalog", "/does/not/exist.toml", "actions", "list"},
		{"nosuchcommand"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, stderr, code := runCLI(t, "", args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.True(t, strings.HasPrefix(stderr, "imsguard: "), stderr)
		})
	}
}

func TestCatalogOverride(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	require.NoError(t, os.WriteFile(path, []byte(`version = "test"
[[api]]
id = "only"
section = "9.9.9"
title = "Only"
method = "GET"
path = "/only"
family = "extension"
actions = ["ims:images:list"]
dependencies = []
iam_project = true
enterprise_project = false
source = "test"
`), 0o600))
	out, _, code := runCLI(t, "", "--catalog", path, "actions", "match", "GET", "/only")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "ims:images:list")
	_, _, code = runCLI(t, "", "--catalog", path, "actions", "match", "GET", "/v2/images")
	assert.Equal(t, 1, code)
}
