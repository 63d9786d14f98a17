package rego

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/stretchr/testify/require"
)

// TestRegoUnitTests runs the embedded authz *_test.rego files with OPA's own tester, so
// `go test` (and `make test`) covers the Rego unit tests.
func TestRegoUnitTests(t *testing.T) {
	mods, err := parseModules(func(string) bool { return true })
	require.NoError(t, err)
	runRegoTests(t, mods, 20)
}

// runRegoTests runs the test rules of mods with OPA's tester, one subtest each, and
// requires more than min of them to have run.
func runRegoTests(t *testing.T, mods map[string]*ast.Module, min int) {
	t.Helper()
	ch, err := tester.NewRunner().SetDefaultRegoVersion(ast.RegoV1).Run(context.Background(), mods)
	require.NoError(t, err)
	n := 0
	for r := range ch {
		n++
		t.Run(strings.TrimPrefix(r.Package, "data.")+"."+r.Name, func(t *testing.T) {
			if r.Error != nil {
				t.Fatalf("%s: error: %v", r.Location, r.Error)
			}
			if r.Fail {
				t.Fatalf("%s: failed", r.Location)
			}
		})
	}
	require.Greater(t, n, min, "the Rego unit tests must run")
}
