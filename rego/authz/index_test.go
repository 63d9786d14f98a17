package authz

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompiledEvaluationIsIndexed: OPA's rule index resolves the compiled module's
// equalities, so deciding one action in one project evaluates only the rules of that action
// and project — a handful of rule bodies, whatever the set's size.
func TestCompiledEvaluationIsIndexed(t *testing.T) {
	var atts []Attachment
	for p := range 48 {
		a := benchAttachments(t, true)[p%8]
		a.Name = fmt.Sprintf("p%d.json", p)
		a.Scope = Scope{Kind: ScopeProject, Projects: []string{fmt.Sprintf("proj-%d", p)}}
		atts = append(atts, a)
	}
	e, err := New(context.Background(), catalog(t), atts, Options{CacheSize: -1})
	require.NoError(t, err)
	require.NotNil(t, e.prog)
	rules := strings.Count(e.prog.module, " if {")
	require.Greater(t, rules, 200, "one rule per action, scope and effect")
	in := ast.NewObject(
		ast.Item(ast.StringTerm("a0"), ast.StringTerm("ims:images:get")),
		ast.Item(ast.StringTerm("project"), ast.StringTerm("proj-5")),
		ast.Item(ast.StringTerm("held"), ast.SetTerm(ast.IntNumberTerm(0), ast.IntNumberTerm(2))),
	)
	buf := topdown.NewBufferTracer()
	_, err = e.prog.query.Eval(context.Background(), rego.EvalParsedInput(in), rego.EvalQueryTracer(buf))
	require.NoError(t, err)
	enters := 0
	for _, ev := range *buf {
		if ev.Op == topdown.EnterOp {
			enters++
		}
	}
	assert.LessOrEqual(t, enters, 6, "rule bodies entered for one action in one project, out of %d rules", rules)
}
