package rego

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"

	"github.com/imsguard/imsguard/policy"
)

// lintEvalOnce evaluates query (which binds y) once, at start-up.
func lintEvalOnce(ctx context.Context, c *ast.Compiler, query string, input map[string]any) (any, error) {
	opts := compiledOpts(c, query)
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
func lintEvalTerm(ctx context.Context, c *ast.Compiler, query string, input ast.Value) (*ast.Term, error) {
	q, err := oparego.New(compiledOpts(c, query)...).PrepareForEval(ctx)
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

// lintStringMap evaluates query (which binds y to an object of strings) once.
func lintStringMap(ctx context.Context, c *ast.Compiler, query string) (map[string]string, error) {
	v, err := lintEvalOnce(ctx, c, query, nil)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("query %s: %T, not an object", query, v)
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("query %s: %s is %T, not a string", query, k, x)
		}
		out[k] = s
	}
	return out, nil
}

// keyType is the type of a condition key (lower case) in a document family: key_type in
// knowledge.rego, evaluated once per distinct (family, key). A failed evaluation (which
// the unit tests rule out) counts as "unknown", which the rules report.
func (l *Linter) keyType(fam policy.Family, key string) string {
	return l.keyTypeMemo.get(string(fam)+"\x00"+key, func() string {
		rs, err := l.keyTypeQuery.Eval(context.Background(), oparego.EvalInput(map[string]any{"family": string(fam), "key": key}))
		if err != nil || len(rs) != 1 {
			return "unknown"
		}
		t, ok := rs[0].Bindings["y"].(string)
		if !ok {
			return "unknown"
		}
		return t
	})
}

// lintTermString returns the string value of t.
func lintTermString(t *ast.Term) (string, bool) {
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}
