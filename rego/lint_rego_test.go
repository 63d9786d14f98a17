package rego

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLintRegoUnitTests runs the lint rules' *_test.rego files with OPA's own tester, so
// `go test` (and `make test`) covers them.
func TestLintRegoUnitTests(t *testing.T) {
	mods, err := parseEmbedded(lintModules, func(string) bool { return true })
	require.NoError(t, err)
	runRegoTests(t, mods, 30)
}
