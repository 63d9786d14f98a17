package proxy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/fleet"
)

// The example configurations under testdata/proxy (and the Kubernetes manifest that embeds
// one of them) are documentation; these tests keep them valid.

func exampleEnv(k string) (string, bool) {
	if strings.HasPrefix(k, "IMSGUARD_SK") {
		return "example-secret", true
	}
	return "", false
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		require.NoError(t, os.MkdirAll(filepath.Join(to, filepath.Dir(rel)), 0o755))
		return os.WriteFile(filepath.Join(to, rel), data, 0o600)
	}))
}

func TestExampleConfigs(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../testdata/proxy", dir)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tls"), 0o755))
	writeCert(t, filepath.Join(dir, "tls"), "tls", 1)

	for _, tc := range []struct {
		file       string
		principals map[string]int // principal → attachments
	}{
		{"sidecar.toml", map[string]int{"image-builder": 1}},
		{"central.toml", map[string]int{"ci-image-pipeline": 1, "platform-team": 2}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			l := &Loader{ConfigPath: filepath.Join(dir, tc.file), Catalog: testCatalog(t), LookupEnv: exampleEnv}
			s, err := l.Load(context.Background())
			require.NoError(t, err)
			for name, n := range tc.principals {
				p, ok := s.Principal(name)
				require.True(t, ok, name)
				assert.Len(t, p.Attachments, n, name)
			}
		})
	}
}

// yamlBlock returns the literal block scalar under "  key: |" in a manifest.
func yamlBlock(t *testing.T, manifest, key string) string {
	t.Helper()
	lines := strings.Split(manifest, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != key+": |" {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " ")) + 2
		var out []string
		for _, b := range lines[i+1:] {
			if strings.TrimSpace(b) != "" && len(b)-len(strings.TrimLeft(b, " ")) < indent {
				break
			}
			out = append(out, strings.TrimPrefix(b, strings.Repeat(" ", indent)))
		}
		return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
	}
	t.Fatalf("no block %q in the manifest", key)
	return ""
}

func TestKubernetesManifestMatchesExample(t *testing.T) {
	manifest, err := os.ReadFile("../deploy/kubernetes/imsguard-sidecar.yaml")
	require.NoError(t, err)
	for key, file := range map[string]string{
		"imsguard.toml":      "../testdata/proxy/sidecar.toml",
		"image-builder.json": "../testdata/proxy/policies/image-builder.json",
	} {
		want, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Equal(t, string(want), yamlBlock(t, string(manifest), key), "ConfigMap key %s must equal %s", key, file)
	}
	assert.Contains(t, string(manifest), `args: ["proxy", "--config", "/etc/imsguard/imsguard.toml"]`)
	assert.Contains(t, string(manifest), "path: policies/image-builder.json")
}

// TestFleetExample: the fleet sidecar's files load (a pending snapshot: the principals come
// from the bundle) and are what the Kubernetes manifest mounts.
func TestFleetExample(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../testdata/proxy", dir)
	require.NoError(t, os.Rename(filepath.Join(dir, "fleet-opa.yaml"), filepath.Join(dir, "opa.yaml")))
	l := &Loader{ConfigPath: filepath.Join(dir, "fleet-sidecar.toml"), Catalog: testCatalog(t), LookupEnv: exampleEnv}
	s, err := l.Load(context.Background())
	require.NoError(t, err)
	assert.True(t, s.pending)
	warns, err := fleet.CheckConfig("opa.yaml", s.in.opa)
	require.NoError(t, err)
	assert.Empty(t, warns, "the bundle is signature-checked")

	manifest, err := os.ReadFile("../deploy/kubernetes/imsguard-fleet-sidecar.yaml")
	require.NoError(t, err)
	for key, file := range map[string]string{
		"imsguard.toml": "../testdata/proxy/fleet-sidecar.toml",
		"opa.yaml":      "../testdata/proxy/fleet-opa.yaml",
	} {
		want, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Equal(t, string(want), yamlBlock(t, string(manifest), key), "ConfigMap key %s must equal %s", key, file)
	}
	assert.Contains(t, string(manifest), "mountPath: /var/lib/imsguard/opa")
	assert.Contains(t, string(manifest), "path: control-plane-token")
}
