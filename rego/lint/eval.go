package lint

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/opa"
)

// evalOnce evaluates query (which binds y) once, at start-up.
func evalOnce(ctx context.Context, c *ast.Compiler, query string, input map[string]any) (any, error) {
	opts := opa.QueryOptions(c, query)
	if input != nil {
		opts = append(opts, rego.Input(input))
	}
	rs, err := rego.New(opts...).Eval(ctx)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, errors.New("query " + query + ": undefined")
	}
	return rs[0].Bindings["y"], nil
}

// evalTerm evaluates query (which binds y) once and returns y as a Rego term, keeping
// sets (a round trip through Go values would turn them into arrays).
func evalTerm(ctx context.Context, c *ast.Compiler, query string, input ast.Value) (*ast.Term, error) {
	q, err := rego.New(opa.QueryOptions(c, query)...).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := q.Eval(ctx, rego.EvalParsedInput(input),
		rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }))
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

// stringMap evaluates query (which binds y to an object of strings) once.
func stringMap(ctx context.Context, c *ast.Compiler, query string) (map[string]string, error) {
	v, err := evalOnce(ctx, c, query, nil)
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

// stringSet evaluates query (binding y to a set or array of strings) once.
func stringSet(ctx context.Context, c *ast.Compiler, query string) (map[string]bool, error) {
	v, err := evalOnce(ctx, c, query, nil)
	if err != nil {
		return nil, err
	}
	xs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("query %s: %T, not a set", query, v)
	}
	out := make(map[string]bool, len(xs))
	for _, x := range xs {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("query %s: element %v is %T, not a string", query, x, x)
		}
		out[s] = true
	}
	return out, nil
}

// keyType is the type of a condition key (lower case) in a document family: key_type in
// knowledge.rego, evaluated once per distinct (family, key). A failed evaluation (which
// the unit tests rule out) counts as "unknown", which the rules report.
func (l *Linter) keyType(fam policy.Family, key string) string {
	return l.keyTypeMemo.get(string(fam)+"\x00"+key, func() string {
		rs, err := l.keyTypeQuery.Eval(context.Background(), rego.EvalInput(map[string]any{"family": string(fam), "key": key}))
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

// termString returns the string value of t.
func termString(t *ast.Term) (string, bool) {
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}
