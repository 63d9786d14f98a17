package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplayAndUnusedCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	logPath := write("decisions.jsonl",
		decisionLine("1", "builder", "GET", "/v2/cloudimages", "list_cloudimages", []string{"ims:images:list"}, "Allow", true, 200)+
			decisionLine("2", "builder", "POST", "/v2/cloudimages/quickimport/action", "quick_import_cloudimage", []string{"ims:serverImages:create"}, "Allow", true, 200)+
			decisionLine("3", "builder", "DELETE", "/v2/images/x", "glance_delete_image", []string{"ims:images:delete"}, "ImplicitDeny", false, 0)+
			decisionLine("4", "reader", "GET", "/v2/images", "glance_list_images", []string{"ims:images:list"}, "Allow", true, 200))
	broad := write("broad.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*","obs:*:*","ecs:*:*","evs:*:*","kms:*:*","bms:*:*"]}]}`)
	narrow := write("narrow.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"]}]}`)
	cfg := write("imsguard.toml", `upstream = "https://ims.example"
[[principals]]
name = "builder"
policies = ["broad.json"]
[[principals]]
name = "reader"
policies = ["narrow.json"]
`)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"no candidates", []string{"replay", "--from", logPath}, 2, nil, "give the candidate policies with --policy FILE"},
		{"both", []string{"replay", "--from", logPath, "--policy", broad, "--config", cfg}, 2, nil, "not both"},
		{"broad allows everything", []string{"replay", "--from", logPath, "--policy", broad}, 0,
			[]string{"Replayed 4 requests: 3 unchanged, 0 newly denied", "NEWLY ALLOWED", "OK: every request IMS accepted is allowed"}, ""},
		{"narrow denies the import", []string{"replay", "--from", logPath, "--principal", "builder", "--policy", narrow}, 1,
			[]string{"NEWLY DENIED", "builder    5.1.4 quick_import_cloudimage", "ims:serverImages:create", "FAIL: 1 request IMS accepted would be denied"}, ""},
		{"per principal from a configuration", []string{"replay", "--from", logPath, "--config", cfg}, 0, []string{"OK:"}, ""},
		{"unused: which principal", []string{"unused", "--from", logPath, "--policy", broad}, 2, nil, "name the one the --policy files are for with --principal"},
		{"unused: the broad policy", []string{"unused", "--from", logPath, "--config", cfg, "--principal", "builder"}, 0,
			[]string{"broad.json:1:59: warning U-UNUSED-ACTION:", "(used: ims:images:list, ims:serverImages:create, ims:images:delete)"}, ""},
		{"unused: fail on warnings", []string{"unused", "--from", logPath, "--config", cfg, "--fail-on", "warning"}, 1, []string{"Principal reader: 1 request replayed"}, ""},
		{"unused: sarif", []string{"unused", "--from", logPath, "--policy", broad, "--principal", "reader", "--format", "sarif"}, 0, []string{`"ruleId"`, `"U-UNUSED-ACTION"`}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, "", tc.args...)
			require.Equal(t, tc.code, code, stdout+stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout, s)
			}
			assert.Contains(t, stderr, tc.stderr)
		})
	}

	stdout, _, code := runCLI(t, "", "replay", "--format", "json", "--from", logPath, "--policy", narrow)
	require.Equal(t, 1, code)
	var rep struct {
		Summary struct{ Failing, NewlyDenied int }
		Changes []struct {
			Change      string
			DecisionIDs []string `json:"decision_ids"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 1, rep.Summary.Failing)
	require.NotEmpty(t, rep.Changes)
	assert.Equal(t, "newly_denied", rep.Changes[0].Change)
	assert.Equal(t, []string{"2"}, rep.Changes[0].DecisionIDs)

	stdout, _, code = runCLI(t, "", "unused", "--format", "json", "--from", logPath, "--config", cfg)
	require.Equal(t, 0, code)
	var un struct {
		Findings []struct{ Code, File string }
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &un))
	require.NotEmpty(t, un.Findings)
	assert.Equal(t, "U-UNUSED-ACTION", un.Findings[0].Code)
}
