package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/lint"
)

func TestProxyCommandUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"proxy", "extra"}, 2, "no arguments"},
		{[]string{"proxy", "--log-level", "loud"}, 2, "unknown --log-level"},
		{[]string{"proxy", "--config", "/does/not/exist.toml"}, 2, "read config /does/not/exist.toml"},
		{[]string{"validate", "--config", "/does/not/exist.toml"}, 2, "no such file"},
		{[]string{"validate", "x"}, 2, "no arguments"},
		{[]string{"demo", "x"}, 2, "no arguments"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, stderr, code := runCLI(t, "", tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.msg)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		})
	}
}

func TestValidateEmbeddedInProcess(t *testing.T) {
	out, stderr, code := runCLI(t, "", "validate")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "upstream           https://ims.ae-ad-1.g42cloud.com")
	assert.Contains(t, out, "principal          workload: 1 policy document(s); default")
}

// TestProxyReloadAppliesLintTable: the [lint] table is read on every load, so tightening a
// severity and reloading refuses the policies (the last good set stays), and loosening it
// again lets the next reload through.
func TestProxyReloadAppliesLintTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	write("copy.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:copy"]}]}`)
	cfg := func(lint string) string {
		return `listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:1"
default_principal = "w"
[metrics]
listen = ""
[[principals]]
name = "w"
policies = ["copy.json"]
` + lint
	}
	write("imsguard.toml", cfg(""))
	ctx := context.Background()
	loader, err := newProxyLoader(ctx, &globalOptions{}, filepath.Join(dir, "imsguard.toml"))
	require.NoError(t, err)
	srv, err := proxy.NewServer(ctx, proxy.Options{Loader: loader, DecisionLog: io.Discard})
	require.NoError(t, err)
	require.Equal(t, uint64(1), srv.Snapshot().Generation)

	write("imsguard.toml", cfg("[lint.severity]\nW-MISSING-DEPENDENT-ACTION = \"error\"\n"))
	err = srv.Reload(ctx)
	require.Error(t, err, "the tightened [lint] table applies on reload")
	assert.ErrorIs(t, err, proxy.ErrPolicyLint)
	assert.Contains(t, err.Error(), "W-MISSING-DEPENDENT-ACTION")
	assert.Equal(t, uint64(1), srv.Snapshot().Generation, "the last good set stays")

	write("imsguard.toml", cfg("[lint]\ndisable = [\"W-MISSING-DEPENDENT-ACTION\"]\n[lint.severity]\nW-MISSING-DEPENDENT-ACTION = \"error\"\n"))
	require.NoError(t, srv.Reload(ctx))
	assert.Equal(t, uint64(2), srv.Snapshot().Generation)

	write("imsguard.toml", cfg("[lint.severity]\nNO-SUCH-CODE = \"error\"\n"))
	err = srv.Reload(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, lint.ErrConfig, "an invalid [lint] table is a configuration error")
}
