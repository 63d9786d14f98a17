package lint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
)

var customRulesDir = filepath.Join("..", "..", "testdata", "lint", "rules")

// TestCustomRulesExample runs the documented example rules (testdata/lint/rules) on a
// document through the linter, and their own Rego unit tests through OPA's tester.
func TestCustomRulesExample(t *testing.T) {
	l := newTestLinter(t, Options{RuleDirs: []string{customRulesDir}})
	f := policy.Parse("p.json", []byte(`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:*"]}]}`))
	findings, err := l.Lint(context.Background(), f)
	require.NoError(t, err)
	byCode := map[string]Finding{}
	for _, fd := range findings {
		byCode[fd.Code] = fd
	}
	share := byCode["ACME-NO-SHARE"]
	assert.Equal(t, "error", share.Severity)
	assert.Equal(t, "/Statement/0/Action/0", share.Pointer)
	assert.Equal(t, 1, share.Line)
	assert.Contains(t, share.Message, "ims:images:* grants image sharing")
	assert.NotEmpty(t, share.Fix)
	warn := byCode["acme.ims.warn"]
	assert.Equal(t, "warning", warn.Severity)
	assert.Equal(t, "", warn.Pointer, "no pointer: the document")

	mods := map[string]*ast.Module{}
	names, err := filepath.Glob(filepath.Join(customRulesDir, "*.rego"))
	require.NoError(t, err)
	for _, n := range names {
		src, err := os.ReadFile(n)
		require.NoError(t, err)
		m, err := ast.ParseModuleWithOpts(n, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		require.NoError(t, err)
		mods[n] = m
	}
	ch, err := tester.NewRunner().SetDefaultRegoVersion(ast.RegoV1).Run(context.Background(), mods)
	require.NoError(t, err)
	n := 0
	for r := range ch {
		n++
		assert.False(t, r.Fail || r.Error != nil, "%s: %v", r.Name, r.Error)
	}
	assert.Equal(t, 2, n)
}

func TestCustomRulesErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return filepath.Dir(p)
	}
	cases := []struct{ name, dir, want string }{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"empty", write("empty/readme.txt", "x"), "no .rego files"},
		{"syntax", write("syntax/a.rego", "package x\ndeny contains msg if {"), "load rules"},
		{"reserved", write("reserved/a.rego", "package imsguard.lint\nx := 1\n"), "reserved"},
		{"compile", write("compile/a.rego", "package x\ndeny contains msg if { msg := undefined_fn(1) }\n"), "compile rules"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), catalog(t), Options{RuleDirs: []string{tc.dir}})
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tc.want), err.Error())
		})
	}
}
