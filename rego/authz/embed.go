package authz

import (
	"embed"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/rego/opa"
)

// modules holds the embedded Rego policies and their unit tests.
//
//go:embed *.rego
var modules embed.FS

// parseModules parses the embedded authz .rego files whose names satisfy keep.
func parseModules(keep func(name string) bool) (map[string]*ast.Module, error) {
	return opa.ParseFS(modules, keep)
}
