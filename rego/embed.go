package rego

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// modules holds the embedded Rego policies and their unit tests.
//
//go:embed *.rego
var modules embed.FS

// parseModules parses the embedded authz .rego files whose names satisfy keep.
func parseModules(keep func(name string) bool) (map[string]*ast.Module, error) {
	return parseEmbedded(modules, keep)
}

// parseEmbedded parses the .rego files of an embedded file system whose names satisfy keep.
func parseEmbedded(fsys embed.FS, keep func(name string) bool) (map[string]*ast.Module, error) {
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

func isTest(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// moduleOpts lists parsed modules (sorted by name, for stable errors) as Rego options.
func moduleOpts(mods map[string]*ast.Module) []func(*oparego.Rego) {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]func(*oparego.Rego), 0, len(mods)+1)
	for _, n := range names {
		out = append(out, oparego.ParsedModule(mods[n]))
	}
	return append(out, oparego.SetRegoVersion(ast.RegoV1))
}

// compileModules compiles parsed modules once (the compiler works on copies, so mods stay
// as parsed). Queries share the result through compiledOpts: giving each rego.New the
// modules would compile them again, about 30 ms per query at start-up.
func compileModules(mods map[string]*ast.Module) (*ast.Compiler, error) {
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(mods); c.Failed() {
		return nil, fmt.Errorf("compile rules: %w", c.Errors)
	}
	return c, nil
}

// compiledOpts are the Rego options of a query over modules compiled by compileModules.
func compiledOpts(c *ast.Compiler, query string) []func(*oparego.Rego) {
	return []func(*oparego.Rego){oparego.Compiler(c), oparego.SetRegoVersion(ast.RegoV1), oparego.Query(query), oparego.Store(inmem.New())}
}

// evalTerm evaluates a prepared single-expression query with a parsed input and returns
// the result as an AST term (no conversion to Go values). An undefined result is an error.
func evalTerm(ctx context.Context, q oparego.PreparedEvalQuery, in ast.Value) (*ast.Term, error) {
	rs, err := q.Eval(ctx, oparego.EvalParsedInput(in),
		oparego.EvalGenerateJSON(func(t *ast.Term, _ *oparego.EvalContext) (any, error) { return t, nil }))
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
