package lint

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/opa"
)

// customRules are the user's Rego modules (--rules DIR), conftest style: in any package,
// `deny` (error), `warn` (warning) and `info` (info) sets of messages over the lint input.
// A message is a string or an object {msg, pointer?, code?, fix?}. The built-in modules are
// compiled in too, so user rules may import data.imsguard.lint helpers.
type customRules struct {
	query    rego.PreparedEvalQuery
	packages []string // package paths without "data.", in query order
}

// customKinds maps the rule names a user package may define to their severities.
var customKinds = [...]struct{ rule, severity string }{
	{"deny", policy.SeverityError},
	{"warn", policy.SeverityWarning},
	{"info", policy.SeverityInfo},
}

func newCustomRules(ctx context.Context, builtin map[string]*ast.Module, dirs []string) (*customRules, error) {
	user, err := parseRuleDirs(dirs)
	if err != nil {
		return nil, err
	}
	pkgs := map[string]bool{}
	for _, m := range user {
		pkgs[m.Package.Path.String()] = true
	}
	c := &customRules{}
	for p := range pkgs {
		c.packages = append(c.packages, p)
	}
	sort.Strings(c.packages)
	all := make(map[string]*ast.Module, len(builtin)+len(user))
	for n, m := range builtin {
		all[n] = m
	}
	for n, m := range user {
		all[n] = m
	}
	var q []string
	for i, p := range c.packages {
		for j, k := range customKinds {
			q = append(q, fmt.Sprintf("r%d_%d := {x | some x in %s.%s}", i, j, p, k.rule))
		}
	}
	c.query, err = rego.New(append(opa.ModuleOptions(all), rego.Query(strings.Join(q, "; ")), rego.Store(inmem.New()))...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile rules from %s: %w", strings.Join(dirs, ", "), err)
	}
	for i, p := range c.packages {
		c.packages[i] = strings.TrimPrefix(p, "data.")
	}
	return c, nil
}

// eval runs the user rules on one document input; findings without a pointer point at the
// policy (ptr).
func (c *customRules) eval(ctx context.Context, in ast.Value, file, ptr string) ([]Finding, error) {
	rs, err := c.query.Eval(ctx, rego.EvalParsedInput(in),
		rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }))
	if err != nil {
		return nil, fmt.Errorf("%w: custom rules: %v", ErrEvaluation, err)
	}
	if len(rs) != 1 {
		return nil, nil
	}
	var out []Finding
	for i, pkg := range c.packages {
		for j, k := range customKinds {
			t, ok := rs[0].Bindings[fmt.Sprintf("r%d_%d", i, j)].(*ast.Term)
			if !ok {
				continue
			}
			set, ok := t.Value.(ast.Set)
			if !ok {
				continue
			}
			set.Foreach(func(x *ast.Term) {
				out = append(out, customFinding(x, file, ptr, pkg+"."+k.rule, k.severity))
			})
		}
	}
	return out, nil
}

// customFinding decodes one message of a user rule.
func customFinding(x *ast.Term, file, ptr, code, severity string) Finding {
	f := Finding{File: file, Pointer: ptr, Code: code, Severity: severity}
	switch v := x.Value.(type) {
	case ast.String:
		f.Message = string(v)
	case ast.Object:
		for _, key := range []string{"msg", "message"} {
			if s, ok := termString(v.Get(ast.StringTerm(key))); ok {
				f.Message = s
				break
			}
		}
		if s, ok := termString(v.Get(ast.StringTerm("pointer"))); ok {
			f.Pointer = s
		}
		if s, ok := termString(v.Get(ast.StringTerm("code"))); ok && s != "" {
			f.Code = s
		}
		if s, ok := termString(v.Get(ast.StringTerm("fix"))); ok {
			f.Fix = s
		}
		if f.Message == "" {
			f.Message = v.String()
		}
	default:
		f.Message = x.String()
	}
	return f
}
