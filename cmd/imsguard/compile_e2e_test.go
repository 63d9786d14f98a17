package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

// TestE2ECompile runs `imsguard compile` (a folder and a bundle), loads the output with
// OPA's own Go API as an OPA server would, and requires OPA's decisions to be imsguard's
// on a corpus of requests.
func TestE2ECompile(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policies")
	require.NoError(t, os.MkdirAll(pol, 0o755))
	docs := map[string]string{
		"read.json": `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:get*","ims:*:list*"]}]}`,
		"office.json": `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:update","ims:images:upload"],
			"Condition":{"IpAddress":{"g:SourceIp":["10.0.0.0/8"]},"DateLessThan":{"g:CurrentTime":["2030-01-01T00:00:00Z"]}}}]}`,
		"guard.json": `{"Version":"1.1","Statement":[{"Effect":"Deny","Action":["ims:images:delete","ims:images:share"]},
			{"Effect":"Deny","Action":["*:*:*"],"Condition":{"StringEquals":{"g:UserName":["mallory"]}}}]}`,
	}
	var files []*policy.File
	for name, text := range docs {
		p := filepath.Join(pol, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		f := policy.Parse(p, []byte(text))
		require.Empty(t, f.Problems)
		files = append(files, f)
	}
	out := filepath.Join(dir, "out")
	stdout, stderr, code := runBinary(t, "", "compile", "-o", out, "--package", "acme.ims", pol)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "query data.acme.ims.result")
	bundlePath := filepath.Join(dir, "ims.tar.gz")
	_, stderr, code = runBinary(t, "", "compile", "--bundle", bundlePath, "--revision", "r1", pol)
	require.Equal(t, 0, code, stderr)

	ctx := context.Background()
	fromDir, err := rego.New(rego.Load([]string{out}, nil), rego.Query("data.acme.ims.result")).PrepareForEval(ctx)
	require.NoError(t, err)
	fromBundle, err := rego.New(rego.LoadBundle(bundlePath), rego.Query("data.imsguard.policies.main.result")).PrepareForEval(ctx)
	require.NoError(t, err)

	cat, err := actions.Embedded()
	require.NoError(t, err)
	var atts []authz.Attachment
	for _, f := range files {
		atts = append(atts, authz.Attachment{Name: f.Name, Document: f.Documents[0], Scope: authz.Scope{Kind: authz.ScopeAllProjects}})
	}
	eng, err := authz.New(ctx, cat, atts, authz.Options{CacheSize: -1})
	require.NoError(t, err)

	n := 0
	for _, act := range []string{"ims:images:get", "ims:images:list", "ims:images:update", "ims:images:upload", "ims:images:delete", "ims:images:share", "ims:quotas:get", "ecs:servers:get"} {
		for _, ip := range []string{"10.1.2.3", "203.0.113.9"} {
			for _, user := range []string{"alice", "mallory"} {
				for _, now := range []string{"2029-06-01T00:00:00Z", "2031-01-01T00:00:00Z"} {
					ctxVals := map[string][]string{"g:SourceIp": {ip}, "g:UserName": {user}, "g:CurrentTime": {now}}
					want, err := eng.Decide(ctx, authz.Input{Action: act, Project: "ae-ad-1", Context: ctxVals})
					require.NoError(t, err)
					in := map[string]any{"action": act, "project": "ae-ad-1", "context": ctxVals}
					for name, q := range map[string]rego.PreparedEvalQuery{"folder": fromDir, "bundle": fromBundle} {
						rs, err := q.Eval(ctx, rego.EvalInput(in))
						require.NoError(t, err)
						require.Len(t, rs, 1)
						got := rs[0].Expressions[0].Value.(map[string]any)["decision"]
						assert.Equal(t, string(want.Effect), got, "%s: %s from %s as %s at %s", name, act, ip, user, now)
						n++
					}
				}
			}
		}
	}
	assert.Equal(t, 128, n)

	_, stderr, code = runBinary(t, "", "compile", pol)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-o DIR")
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images"]}]}`), 0o600))
	_, stderr, code = runBinary(t, "", "compile", "-o", filepath.Join(dir, "x"), bad)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "--lenient")
}
