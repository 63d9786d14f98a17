package rego

import (
	"context"
	"errors"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// lintEvalOnce evaluates query (which binds y) once, at start-up.
func lintEvalOnce(ctx context.Context, mods map[string]*ast.Module, query string, input map[string]any) (any, error) {
	opts := append(moduleOpts(mods), oparego.Query(query), oparego.Store(inmem.New()))
	if input != nil {
		opts = append(opts, oparego.Input(input))
	}
	rs, err := oparego.New(opts...).Eval(ctx)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, errors.New("query " + query + ": undefined")
	}
	return rs[0].Bindings["y"], nil
}

// lintEvalTerm evaluates query (which binds y) once and returns y as a Rego term, keeping
// sets (a round trip through Go values would turn them into arrays).
func lintEvalTerm(ctx context.Context, mods map[string]*ast.Module, query string, input ast.Value) (*ast.Term, error) {
	q, err := oparego.New(append(moduleOpts(mods), oparego.Query(query), oparego.Store(inmem.New()))...).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := q.Eval(ctx, oparego.EvalParsedInput(input),
		oparego.EvalGenerateJSON(func(t *ast.Term, _ *oparego.EvalContext) (any, error) { return t, nil }))
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, errors.New("query " + query + ": undefined")
	}
	t, ok := rs[0].Bindings["y"].(*ast.Term)
	if !ok {
		return nil, errors.New("query " + query + ": unexpected result")
	}
	return t, nil
}

// lintTermString returns the string value of t.
func lintTermString(t *ast.Term) (string, bool) {
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}
