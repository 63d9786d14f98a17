// Package opatest runs embedded Rego unit tests (*_test.rego) from Go tests with OPA's own
// tester, so `go test` (and `make test`) covers them. It imports testing: only _test.go
// files import it.
package opatest

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/opa"
)

// Run runs the test rules of mods, one subtest each, and requires more than min of them to
// have run (a test file that stopped loading must not pass silently).
func Run(t *testing.T, mods map[string]*ast.Module, min int) {
	t.Helper()
	results, err := opa.RunTests(context.Background(), mods)
	require.NoError(t, err)
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			if r.Err != nil {
				t.Fatalf("%s: error: %v", r.Location, r.Err)
			}
			if r.Fail {
				t.Fatalf("%s: failed", r.Location)
			}
		})
	}
	require.Greater(t, len(results), min, "the Rego unit tests must run")
}
