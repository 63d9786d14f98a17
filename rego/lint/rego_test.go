package lint

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/opa"
	"github.com/imsguard/imsguard/rego/opa/opatest"
)

// TestLintRegoUnitTests runs the lint rules' *_test.rego files with OPA's own tester, so
// `go test` (and `make test`) covers them.
func TestLintRegoUnitTests(t *testing.T) {
	mods, err := opa.ParseFS(ruleModules, func(string) bool { return true })
	require.NoError(t, err)
	opatest.Run(t, mods, 30)
}
