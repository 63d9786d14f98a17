package diff

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/report"
	"github.com/imsguard/imsguard/rego/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/diff")

// TestDiffGolden compares OLD (old/) and NEW (new/) of every folder under testdata/diff
// and checks each output format against the .golden files beside them (refresh with
// go test ./rego/diff -run TestDiffGolden -update).
func TestDiffGolden(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "testdata", "diff"))
	require.NoError(t, err)
	dirs, err := os.ReadDir(root)
	require.NoError(t, err)
	cat := testCatalog(t)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			t.Chdir(filepath.Join(root, d.Name()))
			all := authz.Scope{Kind: authz.ScopeAllProjects}
			old, err := LoadPolicies([]string{"old"}, nil, all)
			require.NoError(t, err)
			cur, err := LoadPolicies([]string{"new"}, nil, all)
			require.NoError(t, err)
			r, err := Compare(context.Background(), cat, old, cur, Options{Runtime: runtime(t)})
			require.NoError(t, err)
			formats := map[string]func(*bytes.Buffer) error{
				"text":   func(b *bytes.Buffer) error { return r.WriteText(b) },
				"json":   func(b *bytes.Buffer) error { return r.WriteJSON(b) },
				"sarif":  func(b *bytes.Buffer) error { return r.WriteSARIF(b, report.Run{}) },
				"github": func(b *bytes.Buffer) error { return r.WriteGitHub(b) },
			}
			for name, write := range formats {
				var buf bytes.Buffer
				require.NoError(t, write(&buf))
				if name == "sarif" {
					reporttest.RequireValidSARIF(t, buf.Bytes())
				}
				golden := name + ".golden"
				if *update {
					require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
					continue
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err, "missing golden file; run go test ./rego/diff -run TestDiffGolden -update")
				assert.Equal(t, string(want), buf.String(), "%s/%s", d.Name(), golden)
			}
		})
	}
}
