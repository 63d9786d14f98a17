package opa

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// ParseFS parses the .rego files of an embedded file system whose names satisfy keep.
func ParseFS(fsys embed.FS, keep func(name string) bool) (map[string]*ast.Module, error) {
	out := map[string]*ast.Module{}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") || !keep(path) {
			return err
		}
		src, err := fsys.ReadFile(path)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(path, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return fmt.Errorf("parse embedded %s: %w", path, err)
		}
		out[path] = m
		return nil
	})
	return out, err
}

// IsTest reports whether a module file name is a Rego unit test (*_test.rego).
func IsTest(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// ModuleOptions lists parsed modules (sorted by name, for stable errors) as Rego options.
func ModuleOptions(mods map[string]*ast.Module) []func(*rego.Rego) {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]func(*rego.Rego), 0, len(mods)+1)
	for _, n := range names {
		out = append(out, rego.ParsedModule(mods[n]))
	}
	return append(out, rego.SetRegoVersion(ast.RegoV1))
}

// Compile compiles parsed modules once (the compiler works on copies, so mods stay
// as parsed). Queries share the result through QueryOptions: giving each rego.New the
// modules would compile them again, about 30 ms per query at start-up.
func Compile(mods map[string]*ast.Module) (*ast.Compiler, error) {
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(mods); c.Failed() {
		return nil, fmt.Errorf("compile rules: %w", c.Errors)
	}
	return c, nil
}

// QueryOptions are the Rego options of a query over modules compiled by Compile.
func QueryOptions(c *ast.Compiler, query string) []func(*rego.Rego) {
	return []func(*rego.Rego){rego.Compiler(c), rego.SetRegoVersion(ast.RegoV1), rego.Query(query), rego.Store(inmem.New())}
}

// EvalTerm evaluates a prepared single-expression query with a parsed input and returns
// the result as an AST term (no conversion to Go values). An undefined result is an error.
//
// The evaluation stops when ctx is done. OPA's own way to watch ctx starts a goroutine
// per evaluation, which costs more than a small query itself; here context.AfterFunc
// cancels it instead.
func EvalTerm(ctx context.Context, q rego.PreparedEvalQuery, in ast.Value, extra ...rego.EvalOption) (*ast.Term, error) {
	return evalTerm(ctx, q, in, true, extra)
}

// EvalShortTerm is EvalTerm for a query whose evaluation is short and bounded by the size
// of its module (a compiled policy set: indexed rules, no iteration over data, no
// recursion): ctx is checked before the evaluation starts and not watched while it runs,
// which would cost more than the evaluation.
func EvalShortTerm(ctx context.Context, q rego.PreparedEvalQuery, in ast.Value, extra ...rego.EvalOption) (*ast.Term, error) {
	return evalTerm(ctx, q, in, false, extra)
}

func evalTerm(ctx context.Context, q rego.PreparedEvalQuery, in ast.Value, watch bool, extra []rego.EvalOption) (*ast.Term, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cancel := topdown.NewCancel()
	if watch && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, cancel.Cancel)
		defer stop()
	}
	opts := append([]rego.EvalOption{rego.EvalParsedInput(in), rego.EvalMetrics(metrics.NoOp()),
		rego.EvalGenerateJSON(termResult), rego.EvalExternalCancel(cancel)}, extra...)
	rs, err := q.Eval(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, errors.New("result undefined")
	}
	t, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		return nil, fmt.Errorf("unexpected result type %T", rs[0].Expressions[0].Value)
	}
	return t, nil
}

func termResult(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

// Uncached are the evaluation options of a query that computes every document once anyway
// (rules that neither call one another nor read a document twice): no virtual or base
// document cache is built for it.
var Uncached = []rego.EvalOption{rego.EvalVirtualCache(noVirtualCache{}), rego.EvalBaseCache(noBaseCache{})}

type noVirtualCache struct{}

func (noVirtualCache) Push()                         {}
func (noVirtualCache) Pop()                          {}
func (noVirtualCache) Get(ast.Ref) (*ast.Term, bool) { return nil, false }
func (noVirtualCache) Put(ast.Ref, *ast.Term)        {}
func (noVirtualCache) Keys() []ast.Ref               { return nil }

type noBaseCache struct{}

func (noBaseCache) Get(ast.Ref) ast.Value  { return nil }
func (noBaseCache) Put(ast.Ref, ast.Value) {}
