package opa

import (
	"context"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// testResult is the outcome of one Rego test rule.
type TestResult struct {
	Name     string // package (without "data.") and rule
	Location string
	Err      error
	Fail     bool
}

// runTests runs the test rules of mods with OPA's own tester (so Go tests cover the
// *_test.rego files) and returns one result per test rule.
func RunTests(ctx context.Context, mods map[string]*ast.Module) ([]TestResult, error) {
	ch, err := tester.NewRunner().SetDefaultRegoVersion(ast.RegoV1).Run(ctx, mods)
	if err != nil {
		return nil, fmt.Errorf("run Rego tests: %w", err)
	}
	var out []TestResult
	for r := range ch {
		loc := ""
		if r.Location != nil {
			loc = r.Location.String()
		}
		out = append(out, TestResult{Name: strings.TrimPrefix(r.Package, "data.") + "." + r.Name, Location: loc, Err: r.Error, Fail: r.Fail})
	}
	return out, nil
}
