package lint

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/opa"
	"github.com/imsguard/imsguard/rego/opa/opatest"
)

// TestLintRegoUnitTests runs the *_test.rego files with OPA's own tester, so `go test`
// (and `make test`) covers them. They test functions of the modules that take no lint
// input (ims_index, dependency_fix); the rules are tested from Go on inputs the real input
// builder makes (rulecase_test.go).
func TestLintRegoUnitTests(t *testing.T) {
	mods, err := opa.ParseFS(ruleModules, func(string) bool { return true })
	require.NoError(t, err)
	opatest.Run(t, mods, 2)
}

// TestRegoTestsBuildNoInput: no Rego test replaces the lint input (`with input as ...`): a
// hand-made input models the Go input builder and can drift from it, or lack the fact
// that gates the rule under test. Rule tests belong in the Go case tables.
func TestRegoTestsBuildNoInput(t *testing.T) {
	mods, err := opa.ParseFS(ruleModules, opa.IsTest)
	require.NoError(t, err)
	require.NotEmpty(t, mods)
	for name, m := range mods {
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			for _, w := range e.With {
				if w.Target.Value.Compare(ast.InputRootRef) == 0 || w.Target.String() == "input" {
					assert.Fail(t, "a Rego test replaces the lint input", "%s:%d: %v", name, e.Location.Row, e)
				}
			}
			return false
		})
	}
}
