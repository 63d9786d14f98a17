package rego

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// modules holds the embedded Rego policies and their unit tests.
//
//go:embed *.rego
var modules embed.FS

// parseModules parses the embedded .rego files whose names satisfy keep.
func parseModules(keep func(name string) bool) (map[string]*ast.Module, error) {
	out := map[string]*ast.Module{}
	err := fs.WalkDir(modules, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".rego") || !keep(path) {
			return err
		}
		src, err := modules.ReadFile(path)
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
