package rego

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/stretchr/testify/require"
)

// TestLintRegoUnitTests runs the lint rules' *_test.rego files with OPA's own tester, so
// `go test` (and `make test`) covers them.
func TestLintRegoUnitTests(t *testing.T) {
	mods, err := parseLintModules(func(string) bool { return true })
	require.NoError(t, err)
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
	require.Greater(t, n, 30, "the lint Rego unit tests must run")
}
