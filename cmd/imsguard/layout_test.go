package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allowedImports is the dependency direction of docs/architecture.md: for each package of
// the module, the module packages it may import. cmd/imsguard (the top) may import any.
// Imports point one way: actions ← policy ← rego/* ← proxy ← cmd.
var allowedImports = map[string][]string{
	"actions":                {},
	"policy":                 {"actions"},
	"rego/opa":               {},
	"rego/opa/opatest":       {"rego/opa"},
	"rego/report":            {"policy"},
	"rego/report/reporttest": {},
	"rego/authz":             {"actions", "policy", "rego/opa"},
	"rego/lint":              {"actions", "policy", "rego/opa", "rego/report"},
	"rego/explain":           {"actions", "policy", "rego/authz"},
	"rego/diff":              {"actions", "policy", "rego/authz", "rego/explain", "rego/report"},
	"rego/decisionlog":       {},
	"rego/generate":          {"actions", "policy", "rego/authz", "rego/lint", "rego/decisionlog"},
	"rego/replay":            {"actions", "policy", "rego/authz", "rego/lint", "rego/report", "rego/decisionlog"},
	"proxy":                  {"actions", "policy", "rego/authz", "rego/lint"},
	"proxy/stub":             {},
	"proxy/demo":             {"actions", "proxy", "proxy/stub"},
	"cmd/imsguard":           nil, // anything
}

const modulePath = "github.com/imsguard/imsguard"

// TestImportDirections lists every package of the module with `go list` and checks its
// imports (tests excluded) against allowedImports; OPA may be imported only under rego/.
// A new package must be added to the table, with the imports it may use.
func TestImportDirections(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "../../...")
	out, err := cmd.Output()
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(out))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		require.NoError(t, dec.Decode(&p))
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, modulePath), "/")
		allowed, known := allowedImports[name]
		if !assert.True(t, known, "package %s is not in allowedImports: add it with the module packages it may import (see docs/architecture.md)", name) {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/open-policy-agent/") && !strings.HasPrefix(name, "rego/") {
				t.Errorf("%s imports OPA (%s): OPA types stay under rego/", name, imp)
			}
			dep, ok := strings.CutPrefix(imp, modulePath+"/")
			if !ok || allowed == nil {
				continue
			}
			if !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s; it may import only %v (imports point one way: actions ← policy ← rego/* ← proxy ← cmd)", name, dep, allowed)
			}
		}
	}
	assert.GreaterOrEqual(t, seen, 12, "go list found the module's packages")
}

// TestPackagesHaveDocComments: every package of the module says what it is.
func TestPackagesHaveDocComments(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Doc}}", "../../...").Output()
	require.NoError(t, err)
	var missing []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, doc, _ := strings.Cut(sc.Text(), "\t")
		if strings.TrimSpace(doc) == "" {
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "packages without a doc comment")
}
