package opa

import (
	"fmt"
	"io"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// WriteBundle writes Rego modules (path → text, slash-separated paths inside the bundle)
// as an OPA bundle — a gzipped tar with a .manifest naming revision and roots — that any
// OPA loads (`opa run --bundle`, a bundle server, rego.LoadBundle). Modules are parsed
// first: a module that would not load is an error, not a broken bundle.
func WriteBundle(w io.Writer, modules map[string]string, revision string, roots []string) error {
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	b := bundle.Bundle{Manifest: bundle.Manifest{Revision: revision, Roots: &roots}, Data: map[string]any{}}
	for _, n := range names {
		m, err := ast.ParseModuleWithOpts(n, modules[n], ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return fmt.Errorf("bundle module %s: %w", n, err)
		}
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/" + n, Path: "/" + n, Raw: []byte(modules[n]), Parsed: m})
	}
	if err := bundle.NewWriter(w).UseModulePath(true).Write(b); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}
