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

const mapConfig = "../../testdata/permmap/imsguard.toml"

// TestExplainMapFormats: the permission map from a proxy configuration (a row per
// principal) and from POLICY arguments (a row per argument), in html and markdown, and
// --config with the text and json formats.
func TestExplainMapFormats(t *testing.T) {
	out, stderr, code := runCLI(t, "", "explain", "--format", "markdown", "--config", mapConfig)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "| API | workload | image-builder | platform-team |")
	assert.Contains(t, out, "From `../../testdata/permmap/imsguard.toml` · requests in project `ae-ad-1`")
	assert.Contains(t, out, "| 6.1.5 `DELETE /v2/images/{image_id}` | ➖ deny | ⛔ DENY | ➖ deny |",
		"platform-team's builder policy is attached in ae-ad-1_dev only")
	assert.Equal(t, 2, strings.Count(out, "| API |"), "a table per API family")

	out, stderr, code = runCLI(t, "", "explain", "--format", "markdown", "--project", "ae-ad-1_dev", "--config", mapConfig)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "| 6.1.5 `DELETE /v2/images/{image_id}` | ➖ deny | ⛔ DENY | ⛔ DENY |", "--project: requests in the development project")

	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	reader, builder := "../../testdata/permmap/policies/reader.json", "../../testdata/permmap/policies/builder.json"
	out, stderr, code = runCLI(t, "", "explain", "--format", "html", "-o", report, reader, builder)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, out, "-o: nothing on standard output")
	page, err := os.ReadFile(report)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(page), "<!DOCTYPE html>"))
	assert.Contains(t, string(page), "<caption>What each policy may call on IMS: 2 rows × 36 APIs</caption>", "a row per POLICY argument")
	assert.Equal(t, 72, strings.Count(string(page), `<td class="cell`))

	out, stderr, code = runCLI(t, "", "explain", "--config", mapConfig)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "== principal workload ==\nPolicies: policies/reader.json\n")
	assert.Contains(t, out, "== principal platform-team ==")

	out, stderr, code = runCLI(t, "", "explain", "--format", "json", "--config", mapConfig)
	require.Equal(t, 0, code, stderr)
	var doc struct {
		Principals []struct {
			Principal   string   `json:"principal"`
			Identities  []string `json:"identities"`
			Explanation struct {
				APIs []json.RawMessage `json:"apis"`
			} `json:"explanation"`
		} `json:"principals"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Len(t, doc.Principals, 3)
	assert.Equal(t, "image-builder", doc.Principals[1].Principal)
	assert.Len(t, doc.Principals[1].Explanation.APIs, 36)
	assert.Equal(t, []string{"requests without a credential"}, doc.Principals[0].Identities)

	// Text and json still attach every POLICY together.
	out, _, code = runCLI(t, "", "explain", reader, builder)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Policies: "+reader+", "+builder)
}

// TestExplainMapErrors: what is wrong, and how to call it instead.
func TestExplainMapErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	require.NoError(t, os.WriteFile(bad, []byte("upstream = \"https://x\"\n[timeouts]\ndecision = 5\n[[principals]]\nname = \"p\"\npolicies = [\"p.json\"]\n"), 0o600))
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown format", []string{"explain", "--format", "pdf", "x.json"}, `unknown --format "pdf" (use one of [text json html markdown])`},
		{"config and policies", []string{"explain", "--config", mapConfig, "x.json"}, "give POLICY arguments or --config, not both"},
		{"nothing", []string{"explain", "--format", "html"}, "explain needs at least one POLICY (a file, a folder, or - for stdin) or --config FILE"},
		{"config and enterprise project", []string{"explain", "--config", mapConfig, "--enterprise-project", "ep"}, "with --config the attachments' scopes come from the configuration"},
		{"config missing", []string{"explain", "--format", "html", "--config", filepath.Join(dir, "none.toml")}, "none.toml"},
		{"config invalid", []string{"explain", "--format", "markdown", "--config", bad}, `bad.toml:3: timeouts.decision: invalid configuration: a duration is a string with a unit`},
		{"output not writable", []string{"explain", "--format", "html", "-o", filepath.Join(dir, "no", "such", "dir", "r.html"), "../../testdata/permmap/policies/reader.json"}, "write " + filepath.Join(dir, "no", "such", "dir", "r.html")},
		{"policy missing", []string{"explain", "--format", "markdown", filepath.Join(dir, "none.json")}, "none.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, "", tc.args...)
			assert.Equal(t, 2, code, stderr)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.msg)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		})
	}
}
