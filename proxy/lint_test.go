package proxy

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/lint"
)

func TestRegoLinter(t *testing.T) {
	ctx := context.Background()
	lt, err := lint.New(ctx, testCatalog(t), lint.Options{})
	require.NoError(t, err)
	lint := RegoLinter(ctx, lt, nil)

	// The shipped policies lint clean.
	var files []*policy.File
	for _, dir := range []string{"../testdata/proxy/policies", "defaults/policies"} {
		fs, err := policy.Load([]string{dir}, nil)
		require.NoError(t, err)
		files = append(files, fs...)
	}
	require.NoError(t, lint(files))

	// An invalid action is an error finding that blocks the load, with its location.
	bad := policy.Parse("bad.json", []byte(`{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images"]}]}`))
	err = lint([]*policy.File{bad})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrPolicyLint)
	assert.Contains(t, err.Error(), "bad.json:1:")

	// Wired into the loader, it refuses the set.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.json"), bad.Data, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.toml"), []byte(minimalConfig), 0o600))
	_, err = (&Loader{ConfigPath: filepath.Join(dir, "c.toml"), Catalog: testCatalog(t), Linter: lint}).Load(ctx)
	assert.ErrorIs(t, err, ErrPolicyLint)

	// A Loader with no Linter lints with the same rules (not a syntax-only check): the
	// document is well-formed JSON, so only the Rego rules can refuse it.
	require.NoError(t, SyntaxLinter([]*policy.File{bad}))
	_, err = (&Loader{ConfigPath: filepath.Join(dir, "c.toml"), Catalog: testCatalog(t)}).Load(ctx)
	assert.ErrorIs(t, err, ErrPolicyLint)
	assert.Contains(t, err.Error(), "E-ACTION")
}

// TestRegoLinterAppliesLintTable: the [lint] table of the proxy's configuration file (one
// imsguard.toml for both commands) is accepted by the proxy's strict decode and its
// suppressions apply to the policies the proxy loads.
func TestRegoLinterAppliesLintTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "imsguard.toml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(`listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:1"

[[principals]]
name = "w"
policies = ["p.json"]

[lint]
disable = ["I-BROAD-ALLOW"]

[[lint.suppress]]
code = "E-ACTION-FORMAT"
reason = "test fixture"
`), 0o600))
	lc, err := lint.LoadConfig(cfgPath)
	require.NoError(t, err)
	lt, err := lint.New(ctx, testCatalog(t), lc.Options())
	require.NoError(t, err)
	bad := policy.Parse("bad.json", []byte(`{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images"]}]}`))
	require.Error(t, RegoLinter(ctx, lt, nil)([]*policy.File{bad}), "without the table the finding blocks")
	require.NoError(t, RegoLinter(ctx, lt, lc)([]*policy.File{bad}), "the suppression applies")

	_, err = ParseConfig(cfgPath, mustRead(t, cfgPath))
	require.NoError(t, err, "the proxy's strict decode accepts the [lint] table")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
