package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2ELint drives lint, explain and diff through the built binary.
func TestE2ELint(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "lint", "strict")
	out, stderr, code := runBinary(t, "", "lint", "--no-config", "--format", "sarif", filepath.Join(golden, "broken-actions.json"))
	require.Equal(t, 1, code, stderr)
	var log struct {
		Version string
		Runs    []struct{ Results []struct{ RuleID string } }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &log))
	assert.Equal(t, "2.1.0", log.Version)
	assert.NotEmpty(t, log.Runs[0].Results)

	out, stderr, code = runBinary(t, lintReadOnly, "lint", "--no-config", "-")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "0 errors")

	out, stderr, code = runBinary(t, "", "explain", filepath.Join(golden, "valid-readonly.json"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "36 APIs:")

	_, _, code = runBinary(t, "", "diff", "--fail-on-widen", filepath.Join(golden, "warning-deny-only.json"), filepath.Join(golden, "valid-readonly.json"))
	assert.Equal(t, 1, code)

	_, stderr, code = runBinary(t, "", "lint", "--no-config")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "imsguard: ")
}

// TestE2ELintSets lints policy sets with the real binary: a folder with --as-set, and the
// principals of a proxy configuration with --config. The image builder's OBS dependencies
// are granted by a separate policy (as E-SCOPE-MIX asks): on the global service project
// they count, on a project they do not.
func TestE2ELintSets(t *testing.T) {
	upload := `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:upload", "ims:images:get", "ims:images:update", "kms:*:*"]}]}`
	obs := `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["obs:bucket:*", "obs:object:*"]}]}`
	dir := lintFixtures(t, map[string]string{
		"team/upload.json": upload, "team/obs.json": obs,
		"imsguard.toml": `
listen = "127.0.0.1:8443"
upstream = "https://ims.ae-ad-1.g42cloud.com"

[[principals]]
name = "uploader"
users = ["alice"]
policies = ["team/upload.json"]
  [[principals.attachments]]
  policy = "team/obs.json"
  scope = "global"

[[principals]]
name = "misattached"
users = ["bob"]
policies = ["team/upload.json"]
  [[principals.attachments]]
  policy = "team/obs.json"
  scope = "project"
  projects = ["ae-ad-1"]

[[principals]]
name = "on-an-enterprise-project"
users = ["carol"]
  [[principals.attachments]]
  policy = "team/obs.json"
  scope = "enterprise_project"
  enterprise_projects = ["ep-1"]
  [[principals.attachments]]
  policy = "team/upload.json"
  scope = "enterprise_project"
  enterprise_projects = ["ep-1"]
`,
	})
	alone, _, code := runBinary(t, "", "lint", "--no-config", filepath.Join(dir, "team"))
	require.Equal(t, 0, code)
	assert.Contains(t, alone, "W-MISSING-DEPENDENT-ACTION", "linted one by one, the upload policy lacks obs")

	out, stderr, code := runBinary(t, "", "lint", "--no-config", "--as-set", filepath.Join(dir, "team"))
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, "W-MISSING-DEPENDENT-ACTION", "as a set, the obs policy grants the dependencies")
	assert.Contains(t, out, "2 files, 2 documents: 0 errors, 0 warnings, 1 info", "kms:*:* is broad")

	cfg := filepath.Join(dir, "imsguard.toml")
	out, stderr, code = runBinary(t, "", "lint", "--config", cfg, "--format", "json")
	require.Equal(t, 0, code, stderr)
	var r lintJSON
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	got := map[string]int{}
	for _, f := range r.Findings {
		got[f.Code]++
		switch f.Code {
		case "W-MISSING-DEPENDENT-ACTION":
			assert.Equal(t, filepath.Join(dir, "team", "upload.json"), f.File)
			assert.Contains(t, f.Message, "obs:bucket:*, obs:object:*")
		case "I-EP-UNSUPPORTED":
			assert.Equal(t, filepath.Join(dir, "team", "upload.json"), f.File)
		}
	}
	assert.Equal(t, 1, got["W-MISSING-DEPENDENT-ACTION"], "once for the principals whose obs grant does not apply: %s", out)
	assert.Equal(t, 1, got["I-EP-UNSUPPORTED"], "for the enterprise-project attachment only")
	assert.Equal(t, 2, r.Summary.Files)

	text, _, _ := runBinary(t, "", "lint", "--config", cfg)
	assert.Contains(t, text, "    in: principal misattached; principal on-an-enterprise-project\n", "a finding of some sets names them")
}
