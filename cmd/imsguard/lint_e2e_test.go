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
