package lint

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ruleModules holds the built-in lint rules (package imsguard.lint) and their unit tests.
//
//go:embed *.rego
var ruleModules embed.FS

// RuleFiles lists the rule files a rules folder gives the linter: every *.rego file under
// dir, recursively, test files excluded, sorted.
func RuleFiles(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".rego") && !strings.HasSuffix(path, "_test.rego") {
			names = append(names, path)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// parseRuleDirs parses every *.rego file under the given directories (recursively, test
// files excluded), for --rules. Errors name the file and say how to fix it.
func parseRuleDirs(dirs []string) (map[string]*ast.Module, error) {
	out := map[string]*ast.Module{}
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("load rules %s: %w", dir, err)
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("load rules %s: not a directory (give the folder holding your .rego files)", dir)
		}
		names, err := RuleFiles(dir)
		if err != nil {
			return nil, fmt.Errorf("load rules %s: %w", dir, err)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("load rules %s: no .rego files found", dir)
		}
		for _, name := range names {
			src, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("load rules %s: %w", name, err)
			}
			m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				return nil, fmt.Errorf("load rules %s: %w (rules are Rego v1: use `deny contains msg if { ... }`)", name, err)
			}
			if strings.HasPrefix(m.Package.Path.String(), "data.imsguard.") {
				return nil, fmt.Errorf("load rules %s: package %s is reserved for the built-in rules; use your own package name", name, strings.TrimPrefix(m.Package.Path.String(), "data."))
			}
			out["rules:"+name] = m
		}
	}
	return out, nil
}
