package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runIn runs the built binary in dir and returns stdout, stderr and the exit code.
func runIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	return execBinary(t, dir, nil, args...)
}

// writeTree writes files (path relative to dir → content) below dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		writeFile(t, dir, name, text, 0o644)
	}
}

func doc(stmts ...string) string {
	return "{\n  \"Version\": \"1.1\",\n  \"Statement\": [\n    " + strings.Join(stmts, ",\n    ") + "\n  ]\n}\n"
}

func allowList(cond string) string {
	if cond == "" {
		return `{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]}`
	}
	return `{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"], "Condition": ` + cond + `}`
}

// TestE2EDiffGate runs the README's CI step — imsguard diff --fail-on-widen
// /tmp/base/policies policies — with the real binary: it must fail on every widening of
// issue 10 and pass on pure reordering and on removals.
func TestE2EDiffGate(t *testing.T) {
	const (
		corp    = `{"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}`
		guard   = `{"Effect": "Deny", "Action": ["ims:*:*"], "Condition": {"NotIpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}`
		nobody  = `{"Effect": "Deny", "Action": ["ims:*:*"], "Condition": {"NotIpAddress": {"g:SourceIp": ["0.0.0.0/0"]}}}`
		expires = `{"DateLessThan": {"g:CurrentTime": ["2026-01-01T00:00:00Z"]}}`
		alice   = `{"StringEquals": {"g:UserName": ["alice"]}}`
	)
	base := map[string]string{
		"policies/readers.json": doc(allowList(corp)),
		"policies/temp.json":    doc(allowList(expires)),
		"policies/alice.json":   doc(allowList(alice)),
	}
	edit := func(from, changes map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range from {
			out[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(out, k)
				continue
			}
			out[k] = v
		}
		return out
	}
	with := func(changes map[string]string) map[string]string { return edit(base, changes) }
	guarded := with(map[string]string{"policies/guard.json": doc(guard)})
	cases := []struct {
		name  string
		base  map[string]string // nil: no base/policies folder at all
		head  map[string]string // nil: no policies folder at all
		code  int
		shows string
	}{
		{"IpAddress range widened", base, with(map[string]string{"policies/readers.json": doc(allowList(`{"IpAddress": {"g:SourceIp": ["0.0.0.0/0"]}}`))}), 1,
			"widened by every IPv4 address outside 10.0.0.0/8"},
		{"IpAddress range added", base, with(map[string]string{"policies/readers.json": doc(allowList(`{"IpAddress": {"g:SourceIp": ["10.0.0.0/8", "172.16.0.0/12"]}}`))}), 1,
			"widened by 172.16.0.0/12"},
		{"DateLessThan moved later", base, with(map[string]string{"policies/temp.json": doc(allowList(`{"DateLessThan": {"g:CurrentTime": ["2030-01-01T00:00:00Z"]}}`))}), 1,
			"g:CurrentTime before 2030-01-01T00:00:00Z"},
		{"StringEquals value added", base, with(map[string]string{"policies/alice.json": doc(allowList(`{"StringEquals": {"g:UserName": ["alice", "bob"]}}`))}), 1,
			"widened by bob"},
		{"StringEquals to IfExists", base, with(map[string]string{"policies/alice.json": doc(allowList(`{"StringEqualsIfExists": {"g:UserName": ["alice"]}}`))}), 1,
			"widened by the key absent"},
		{"condition key swapped", base, with(map[string]string{"policies/alice.json": doc(allowList(`{"StringEquals": {"g:UserId": ["alice"]}}`))}), 1,
			"condition g:UserName: g:UserName is alice → (none): condition removed"},
		{"IpAddress to NotIpAddress", base, with(map[string]string{"policies/readers.json": doc(allowList(`{"NotIpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}`))}), 1,
			"matches requests it did not"},
		{"Deny loosened to nobody", guarded, edit(guarded, map[string]string{"policies/guard.json": doc(nobody)}), 1, "ExplicitDeny → Allow"},
		{"IpAddress to NotIpAddress behind a Deny outside 10/8", guarded,
			edit(guarded, map[string]string{"policies/readers.json": doc(allowList(`{"NotIpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}`))}), 0,
			"matches requests it did not"},
		{"ecs added", base, with(map[string]string{"policies/ecs.json": doc(`{"Effect": "Allow", "Action": ["ecs:*:*"]}`)}), 1, "every ecs action"},
		{"iam users added", base, with(map[string]string{"policies/readers.json": doc(allowList(corp), `{"Effect": "Allow", "Action": ["iam:users:*"]}`)}), 1, "iam:users:*"},
		{"obs added next to IMS", base, with(map[string]string{"policies/temp.json": doc(`{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "obs:*:*"], "Condition": ` + expires + `}`)}), 1,
			"every obs action"},
		{"Deny removed", guarded, base, 1, "removed Deny"},
		{"first policies", nil, base, 1, "does not exist: compared as no policies"},
		{"first policies, empty folder", map[string]string{"policies/README.md": "none yet\n"}, base, 1, "no *.json files found"},
		{"pure reordering", base, map[string]string{
			"policies/all-readers.json": doc(allowList(alice), `{"Action": ["ims:images:get", "ims:images:list"], "Condition": `+corp+`, "Effect": "Allow"}`),
			"policies/nested/temp.json": doc(allowList(expires)),
		}, 0, "No change in what the policies grant."},
		{"pure reordering with a Deny", guarded, map[string]string{
			"policies/all.json": doc(`{"Condition": {"NotIpAddress": {"g:SourceIp": ["10.128.0.0/9", "10.0.0.0/9"]}}, "Effect": "Deny", "Action": ["IMS:*:*"]}`,
				allowList(alice), allowList(expires), `{"Action": ["ims:images:get", "ims:images:list"], "Condition": `+corp+`, "Effect": "Allow"}`),
		}, 0, "No change in what the policies grant."},
		{"last policies removed", guarded, nil, 0, "narrow"},
		{"narrowed", base, with(map[string]string{"policies/readers.json": doc(allowList(`{"IpAddress": {"g:SourceIp": ["10.1.0.0/16"]}}`))}), 0, "matches fewer requests"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.base != nil {
				writeTree(t, filepath.Join(dir, "base"), tc.base)
			}
			if tc.head != nil {
				writeTree(t, dir, tc.head)
			}
			out, stderr, code := runIn(t, dir, "diff", "--fail-on-widen", filepath.Join(dir, "base", "policies"), "policies")
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
			assert.Contains(t, out, tc.shows)
			if tc.code == 1 {
				assert.NotContains(t, out, "No change")
			}
		})
	}
}

// TestE2EDiffFormatsAndConfig compares two imsguard.toml whose only change is an
// attachment scope, in every output format.
func TestE2EDiffFormatsAndConfig(t *testing.T) {
	dir := t.TempDir()
	config := func(scope string) string {
		return "upstream = \"https://ims.example\"\n\n[[principals]]\nname = \"team\"\nusers = [\"alice\"]\n\n[[principals.attachments]]\npolicy = \"policies\"\n" + scope
	}
	writeTree(t, dir, map[string]string{
		"base/imsguard.toml":           config("scope = \"project\"\nprojects = [\"ae-ad-1_dev\"]\n"),
		"base/policies/admin.json":     doc(`{"Effect": "Allow", "Action": ["ims:*:*"]}`),
		"imsguard.toml":                config("scope = \"all_projects\"\n"),
		"policies/admin.json":          doc(`{"Effect": "Allow", "Action": ["ims:*:*"]}`),
		"old-only-policies/admin.json": doc(`{"Effect": "Allow", "Action": ["ims:*:*"]}`),
	})
	out, stderr, code := runIn(t, dir, "diff", "--fail-on-widen", "base/imsguard.toml", "imsguard.toml")
	require.Equal(t, 1, code, stderr)
	assert.Contains(t, out, "principal team: modified Allow policies/admin.json statement 0")
	assert.Contains(t, out, "scope: project ae-ad-1_dev → all projects")

	out, _, code = runIn(t, dir, "diff", "--format", "github", "--fail-on-widen", "base/imsguard.toml", "imsguard.toml")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "::error file=policies/admin.json,line=4,col=5,title=imsguard diff%3A widen::")

	out, _, code = runIn(t, dir, "diff", "--format", "sarif", "base/imsguard.toml", "imsguard.toml")
	assert.Equal(t, 0, code, "without --fail-on-widen")
	assert.Contains(t, out, `"ruleId": "E-DIFF-WIDEN"`)

	out, _, code = runIn(t, dir, "diff", "--format", "json", "--scope", "project=ae-ad-1", "old-only-policies", "policies")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, `"fails_gate": false`)

	_, stderr, code = runIn(t, dir, "diff", "base/imsguard.toml", "policies")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "compare a configuration with a configuration")
	_, stderr, code = runIn(t, dir, "diff", "--scope", "projects=x", "policies", "policies")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--scope")
}
