package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decisionLine is a decision-log line as the proxy writes it.
func decisionLine(id, principal, method, path, api string, actions []string, decision string, forwarded bool, upstream int) string {
	acts, _ := json.Marshal(actions)
	line := `{"time":"2026-11-27T03:00:00Z","level":"INFO","msg":"decision","decision_id":"` + id + `","generation":1,"principal":"` + principal +
		`","auth":"aksk","access_key":"E2E****","source_ip":"10.0.1.7","project":"ae-ad-1","method":"` + method + `","path":"` + path + `","api":"` + api +
		`","actions":` + string(acts) + `,"decision":"` + decision + `","matched":[],"enforced":false,"forwarded":` + map[bool]string{true: "true", false: "false"}[forwarded]
	if forwarded {
		line += `,"status":` + itoa(upstream) + `,"upstream_status":` + itoa(upstream)
	} else {
		line += `,"status":403`
	}
	return line + `,"decision_ms":0.1,"latency_ms":0.2}` + "\n"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestGenerateCLI(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "decisions.jsonl")
	require.NoError(t, os.WriteFile(logPath, []byte(
		decisionLine("1", "builder", "GET", "/v2/cloudimages", "list_cloudimages", []string{"ims:images:list"}, "Allow", true, 200)+
			decisionLine("2", "builder", "POST", "/v2/cloudimages/quickimport/action", "quick_import_cloudimage", []string{"ims:serverImages:create"}, "Allow", true, 200)+
			decisionLine("3", "reader", "GET", "/v2/images", "glance_list_images", []string{"ims:images:list"}, "Allow", true, 200)), 0o600))
	out := filepath.Join(dir, "out")
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"no log", []string{"generate"}, 2, nil, "give the decision logs with --from LOG"},
		{"bad collapse", []string{"generate", "--from", logPath, "--collapse", "all"}, 2, nil, `unknown --collapse "all"`},
		{"bad since", []string{"generate", "--from", logPath, "--since", "yesterday"}, 2, nil, `--since: "yesterday" is not a positive duration`},
		{"missing log", []string{"generate", "--from", filepath.Join(dir, "nope")}, 2, nil, "no such file"},
		{"unknown principal", []string{"generate", "--from", logPath, "--principal", "nobody"}, 2, nil, "principals in the logs: builder, reader"},
		{"printed", []string{"generate", "--from", logPath, "--principal", "reader"}, 0, []string{"## reader.json (attach to project ae-ad-1)", `"ims:images:list"`, "# imsguard generate: reader"}, ""},
		{"written", []string{"generate", "--from", logPath, "-o", out}, 0, []string{"builder: 15 actions in 2 policy files from 2 requests (2 APIs)", "reader: 1 action in 1 policy file", "wrote 6 files in " + out}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, "", tc.args...)
			require.Equal(t, tc.code, code, stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout, s)
			}
			assert.Contains(t, stderr, tc.stderr)
		})
	}
	stdout, stderr, code := runCLI(t, "", "lint", "--config", filepath.Join(out, "imsguard.toml"), "--fail-on", "warning", out)
	assert.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "0 errors, 0 warnings")

	stdout, _, code = runCLI(t, "", "generate", "--format", "json", "--from", logPath, "--principal", "builder", "--suggest-conditions")
	require.Equal(t, 0, code)
	var res struct {
		Logs    struct{ Kept int }
		Results []struct {
			Principal string
			Condition struct{ Values []string }
			Policies  []struct {
				File     string
				Document json.RawMessage
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	assert.Equal(t, 2, res.Logs.Kept)
	require.Len(t, res.Results, 1)
	assert.Equal(t, []string{"10.0.1.0/24"}, res.Results[0].Condition.Values)
	assert.True(t, strings.Contains(string(res.Results[0].Policies[0].Document), `"g:SourceIp"`))
}

func TestParseSince(t *testing.T) {
	for in, want := range map[string]string{"24h": "24h0m0s", "7d": "168h0m0s", "90m": "1h30m0s"} {
		d, err := parseSince(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, d.String())
	}
	for _, bad := range []string{"", "0d", "-1h", "x", "1w"} {
		_, err := parseSince(bad)
		assert.Error(t, err, bad)
	}
}
