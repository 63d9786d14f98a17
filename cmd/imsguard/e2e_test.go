package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var binPath string

// TestMain builds the real imsguard binary once for the end-to-end tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imsguard-e2e-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "imsguard")
	if runtime.GOOS == "windows" {
		binPath += ".exe"
	}
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build imsguard: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the built binary and returns stdout, stderr and the exit code.
func runBinary(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return execBinary(t, "", strings.NewReader(stdin), args...)
}

// execBinary runs the built binary in dir ("" for this folder) with stdin (nil: no input)
// and returns stdout, stderr and the exit code.
func execBinary(t *testing.T, dir string, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), code
}

// writeFile writes text to name (a path relative to dir), making its folders, and returns
// its path.
func writeFile(t *testing.T, dir, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), mode))
	return p
}

func TestE2EActionsMatch(t *testing.T) {
	out, stderr, code := runBinary(t, `{"type":"DataImage","name":"d"}`, "actions", "match", "--format", "json", "--body", "-", "POST", "/v2/cloudimages/quickimport/action")
	require.Equal(t, 0, code, stderr)
	var m struct {
		Matched bool
		API     struct{ ID, Section string }
		Actions []string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.True(t, m.Matched)
	assert.Equal(t, "5.1.4", m.API.Section)
	assert.Equal(t, []string{"ims:dataImages:create"}, m.Actions)

	_, stderr, code = runBinary(t, "", "actions", "match", "GET", "/v2/images/..%2f..%2fetc")
	assert.Equal(t, 1, code)
	assert.Empty(t, stderr)

	out, _, code = runBinary(t, "", "actions", "list")
	assert.Equal(t, 0, code)
	assert.Equal(t, 36+3, strings.Count(out, "\n"), "header, 36 rows, blank line, summary")

	_, stderr, code = runBinary(t, "", "actions", "match", "GET")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "imsguard: ")
}
