package lint

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/lint")

// lintDirs maps each folder of testdata/lint to the options its documents are linted with.
var lintDirs = map[string]Options{
	"strict":       {},
	"quota-2025":   {Profile: ProfileQuota2025},
	"edition-2021": {OperatorEdition: OperatorEditionLegacy},
	"edition-2023": {OperatorEdition: OperatorEditionNew},
	"size-raw":     {SizeMode: SizeRaw},
	// enterprise-project: documents granted on an enterprise project, with the opt-in
	// I-EP-UNSUPPORTED enabled (--enable I-EP-UNSUPPORTED, or --scope enterprise_project=E)
	"enterprise-project": {Enable: []string{CodeEPUnsupported}},
}

// catalog returns the embedded IMS catalog.
func catalog(t testing.TB) *actions.Catalog {
	t.Helper()
	cat, err := actions.Embedded()
	require.NoError(t, err)
	return cat
}

func newTestLinter(t testing.TB, opts Options) *Linter {
	t.Helper()
	l, err := New(context.Background(), catalog(t), opts)
	require.NoError(t, err)
	return l
}

// TestLintGolden lints every document under testdata/lint and compares the text report with
// the .golden file next to it (refresh with go test ./rego/lint -run TestLintGolden -update). It
// also checks that the documents, together, produce every code of the rule catalogue.
func TestLintGolden(t *testing.T) {
	root := filepath.Join("..", "..", "testdata", "lint")
	seen := map[string]bool{}
	var linter *Linter
	for dir, opts := range lintDirs {
		l := newTestLinter(t, opts)
		linter = l
		names, err := filepath.Glob(filepath.Join(root, dir, "*.json"))
		require.NoError(t, err)
		require.NotEmpty(t, names, dir)
		for _, name := range names {
			rel := filepath.ToSlash(strings.TrimPrefix(name, root+string(filepath.Separator)))
			t.Run(rel, func(t *testing.T) {
				data, err := os.ReadFile(name)
				require.NoError(t, err)
				f := policy.Parse(rel, data)
				report, err := l.LintFiles(context.Background(), []*policy.File{f}, nil, "error", time.Now())
				require.NoError(t, err)
				for _, fd := range report.Findings {
					seen[fd.Code] = true
					_, known := l.Rule(fd.Code)
					assert.True(t, known, "code %s is not in the rule catalogue", fd.Code)
					assert.GreaterOrEqual(t, fd.Line, 1)
					assert.GreaterOrEqual(t, fd.Column, 1)
					for _, ph := range []string{"{value}", "{apis}", "{sections}", "{families}", "{apis_other}", "{families_other}", "{actions}"} {
						assert.NotContains(t, fd.Message+fd.Fix, ph, "unrendered placeholder in %s", fd.Code)
					}
				}
				var buf bytes.Buffer
				require.NoError(t, report.WriteText(&buf))
				golden := strings.TrimSuffix(name, ".json") + ".golden"
				if *update {
					require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
					return
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err, "missing golden file; run go test ./rego/lint -run TestLintGolden -update")
				assert.Equal(t, string(want), buf.String())
				if strings.HasPrefix(filepath.Base(name), "valid-") {
					assert.False(t, report.Summary.Failed, "valid documents have no errors")
				}
				if strings.HasPrefix(filepath.Base(name), "broken-") {
					assert.True(t, report.Summary.Failed, "broken documents have errors")
				}
			})
		}
	}
	var missing []string
	for _, r := range linter.Rules() {
		if !seen[r.Code] {
			missing = append(missing, r.Code)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "codes no golden document produces")
}

// TestLintConcurrent lints from several goroutines with one Linter (run with -race): the
// memos and the prepared query are shared.
func TestLintConcurrent(t *testing.T) {
	l := newTestLinter(t, Options{})
	docs := []string{
		`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:image:get"]}]}`,
		`{"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:get"]}, {"Effect": "Allow", "Action": ["ims:images:*"]}]}`,
		`{"role": {"display_name": "x", "type": "XA", "description": "d", "policy": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:quotas:get"], "Condition": {"Bool": {"g:MFAPresent": ["true"]}}}]}}}`,
	}
	want := make([]int, len(docs))
	for i, d := range docs {
		fs, err := l.Lint(context.Background(), policy.Parse("d.json", []byte(d)))
		require.NoError(t, err)
		want[i] = len(fs)
	}
	done := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := range 30 {
				d := (w + i) % len(docs)
				fs, err := l.Lint(context.Background(), policy.Parse("d.json", []byte(docs[d])))
				if err == nil && len(fs) != want[d] {
					err = assert.AnError
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-done)
	}
}

// TestLintGatesChangeNothing lints every document under testdata with the gates the facts
// open and with every gate open: the findings must be the same (the gates only spare OPA
// the rules that cannot fire).
func TestLintGatesChangeNothing(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*", "*.json"))
	require.NoError(t, err)
	more, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*.json"))
	require.NoError(t, err)
	names = append(names, more...)
	require.Greater(t, len(names), 40)
	for dir, opts := range lintDirs {
		gated := newTestLinter(t, opts)
		open := newTestLinter(t, opts)
		open.allGates = true
		for _, name := range names {
			data, err := os.ReadFile(name)
			require.NoError(t, err)
			f := policy.Parse(name, data)
			want, err := open.Lint(context.Background(), f)
			require.NoError(t, err)
			got, err := gated.Lint(context.Background(), f)
			require.NoError(t, err)
			assert.Equal(t, want, got, "%s with the %s options", name, dir)
		}
	}
}

func TestLintGatesNeedAFactGuard(t *testing.T) {
	mod := ast.MustParseModuleWithOpts(`package imsguard.lint
action_findings contains {"code": "E-X"} if {
	input.family == "policy"
}`, ast.ParserOptions{RegoVersion: ast.RegoV1})
	_, err := newGateSet(map[string]*ast.Module{"x.rego": mod})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no fact guard")

	mod = ast.MustParseModuleWithOpts(`package imsguard.lint
action_findings contains {"code": "E-X"} if {
	input.family == "policy"
	input.over.actions == true
}`, ast.ParserOptions{RegoVersion: ast.RegoV1})
	_, err = newGateSet(map[string]*ast.Module{"x.rego": mod})
	require.Error(t, err, "findings must collect action_findings")
	assert.Contains(t, err.Error(), "findings collects action_findings 0 times")

	collect := ast.MustParseModuleWithOpts(`package imsguard.lint
findings contains f if {
	input.gate.action == true
	some f in action_findings
}`, ast.ParserOptions{RegoVersion: ast.RegoV1})
	g, err := newGateSet(map[string]*ast.Module{"x.rego": mod, "rules.rego": collect})
	require.NoError(t, err)
	assert.Equal(t, []string{"action"}, g.byFact["over.actions"])

	stray := ast.MustParseModuleWithOpts(`package imsguard.lint
findings contains f if {
	input.gate.actions == true
	some f in actions_findings
}`, ast.ParserOptions{RegoVersion: ast.RegoV1})
	_, err = newGateSet(map[string]*ast.Module{"x.rego": mod, "rules.rego": collect, "y.rego": stray})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "opens gate actions, but no rule adds to actions_findings")
}

// TestGapOthersNeedActions pins what W-ROUTE-FAMILY-GAP's pre-check (m.gaps_needs) relies
// on: every other-family API of a gap entry needs at least one action, so a gap can only
// be open when the document allows one of them.
func TestGapOthersNeedActions(t *testing.T) {
	l := newTestLinter(t, Options{})
	n := 0
	for x, entries := range l.cat.tables["gaps"] {
		for _, g := range entries {
			others := g.Value.(ast.Object).Get(ast.StringTerm("others")).Value.(*ast.Array)
			others.Foreach(func(e *ast.Term) {
				n++
				needs := e.Value.(ast.Object).Get(ast.StringTerm("needs")).Value.(ast.Set)
				assert.Positive(t, needs.Len(), "gap of %s: %v needs no action", x, e)
			})
		}
	}
	assert.Positive(t, n)
}
