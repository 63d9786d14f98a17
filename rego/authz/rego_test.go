package authz

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/opa/opatest"
)

// TestRegoUnitTests runs the embedded authz *_test.rego files with OPA's own tester, so
// `go test` (and `make test`) covers the Rego unit tests.
func TestRegoUnitTests(t *testing.T) {
	mods, err := parseModules(func(string) bool { return true })
	require.NoError(t, err)
	opatest.Run(t, mods, 20)
}
