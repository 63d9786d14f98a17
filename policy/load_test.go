package policy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const minimalPolicy = `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}`

// writeTree creates files (name → content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func names(files []*File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

func TestLoad(t *testing.T) {
	tree := writeTree(t, map[string]string{
		"b.json":          minimalPolicy,
		"a.json":          minimalPolicy,
		"notes.txt":       "not a policy",
		"sub/c.json":      `{"role": {"policy": {}}}`,
		"sub/deep/d.json": `[`,
		"sub/x.JSON":      minimalPolicy,
		"empty/.keep":     "",
	})
	require.NoError(t, os.Symlink(tree, filepath.Join(tree, "sub", "loop")))
	outside := writeTree(t, map[string]string{"e.json": minimalPolicy})
	require.NoError(t, os.Symlink(outside, filepath.Join(tree, "linked")))
	require.NoError(t, os.Symlink(filepath.Join(tree, "a.json"), filepath.Join(tree, "sub", "link.json")))

	fixtures, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	slices.Sort(fixtures)

	tests := []struct {
		name  string
		paths []string
		stdin string
		want  []string
	}{
		{"one file", []string{"testdata/ims-readonly.json"}, "", []string{"testdata/ims-readonly.json"}},
		{"file with any extension", []string{filepath.Join(tree, "notes.txt")}, "", []string{filepath.Join(tree, "notes.txt")}},
		{"fixture directory", []string{"testdata"}, "", fixtures},
		{"tree with symlink loop", []string{tree}, "", []string{
			filepath.Join(tree, "a.json"),
			filepath.Join(tree, "b.json"),
			filepath.Join(tree, "linked", "e.json"),
			filepath.Join(tree, "sub", "c.json"),
			filepath.Join(tree, "sub", "deep", "d.json"),
			filepath.Join(tree, "sub", "link.json"),
		}},
		{"stdin", []string{"-"}, minimalPolicy, []string{"-"}},
		{"stdin between files", []string{"testdata/agency.json", "-", "testdata/agency.json"}, minimalPolicy, []string{"testdata/agency.json", "-", "testdata/agency.json"}},
		{"no paths", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := Load(tt.paths, strings.NewReader(tt.stdin))
			require.NoError(t, err)
			assert.Equal(t, tt.want, names(files))
			for _, f := range files {
				assert.NotNil(t, f.Data)
			}
		})
	}

	t.Run("parsed content", func(t *testing.T) {
		files, err := Load([]string{"-", filepath.Join(tree, "sub", "deep", "d.json")}, strings.NewReader(minimalPolicy))
		require.NoError(t, err)
		require.Len(t, files, 2)
		assert.Equal(t, FamilyPolicy, files[0].Documents[0].Family)
		assert.Equal(t, "-", files[0].Documents[0].Source)
		require.Len(t, files[1].Problems, 1, "syntax errors are problems, not errors")
		assert.Equal(t, CodeJSON, files[1].Problems[0].Code)
	})
}

func TestLoadErrors(t *testing.T) {
	empty := writeTree(t, map[string]string{"readme.md": "# none", "sub/x.yaml": "a: 1"})
	big := writeTree(t, map[string]string{
		"big.json":   `"` + strings.Repeat("x", MaxFileSize-1) + `"`,
		"exact.json": `"` + strings.Repeat("x", MaxFileSize-2) + `"`,
	})
	dangling := writeTree(t, map[string]string{"ok.json": "{}"})
	require.NoError(t, os.Symlink(filepath.Join(dangling, "gone.json"), filepath.Join(dangling, "broken.json")))
	missing := filepath.Join(t.TempDir(), "missing.json")

	tests := []struct {
		name   string
		paths  []string
		stdin  *strings.Reader
		target error
		msg    string
		loaded []string
	}{
		{"missing file", []string{missing}, nil, fs.ErrNotExist, "load policy " + missing + ": no such file or directory", nil},
		{"missing among good files", []string{"testdata/agency.json", missing}, nil, fs.ErrNotExist, "load policy " + missing, []string{"testdata/agency.json"}},
		{"directory without json", []string{empty}, nil, ErrNoPolicies, "load policy " + empty + ": no *.json files found", nil},
		{"file too large", []string{filepath.Join(big, "big.json")}, nil, ErrTooLarge, "load policy " + filepath.Join(big, "big.json") + ": policy file exceeds the 1 MiB limit", nil},
		{"too large in a directory", []string{big}, nil, ErrTooLarge, "big.json: policy file exceeds", []string{filepath.Join(big, "exact.json")}},
		{"stdin too large", []string{"-"}, strings.NewReader(strings.Repeat(" ", MaxFileSize+1)), ErrTooLarge, "load policy stdin: policy file exceeds", nil},
		{"stdin twice", []string{"-", "-"}, strings.NewReader("{}"), ErrStdin, "load policy stdin: standard input", []string{"-"}},
		{"no stdin reader", []string{"-"}, nil, ErrStdin, "load policy stdin", nil},
		{"dangling symlink", []string{dangling}, nil, fs.ErrNotExist, "load policy " + filepath.Join(dangling, "broken.json"), []string{filepath.Join(dangling, "ok.json")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files []*File
			var err error
			if tt.stdin == nil {
				files, err = Load(tt.paths, nil)
			} else {
				files, err = Load(tt.paths, tt.stdin)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.target)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, tt.loaded, names(files))
		})
	}

	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Load([]string{"-"}, iotest.ErrReader(boom))
		assert.ErrorIs(t, err, boom)
		assert.EqualError(t, err, "load policy stdin: boom")
	})
	t.Run("exactly the limit", func(t *testing.T) {
		files, err := Load([]string{"-"}, bytes.NewReader(bytes.Repeat([]byte(" "), MaxFileSize)))
		require.NoError(t, err)
		require.Len(t, files, 1)
		assert.Len(t, files[0].Data, MaxFileSize)
	})
}
