package lint

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/opa"
)

// ruleCase is one unit test of the lint rules. The rules never see a hand-made input: the
// document is parsed and linted by the real Linter, so the input comes from the Go input
// builder exactly as in a lint run. Each module's cases sit in a table in <module>_test.go
// (action.rego: actionCases in action_test.go, ...); TestRuleCases runs them all.
type ruleCase struct {
	name string
	doc  string  // the file: one policy document, bare or in an IAM API wrapper
	opts Options // lint options (profile, operator edition, size mode, regions)
	cat  string  // an IMS catalog (TOML) to lint with instead of the embedded one
	code string  // the code under test
	// want lists the findings of code the document must produce, in file order, and no
	// others. An empty want makes a negative case: code must not be reported, and the
	// document must arm a rule of code (have the fact its guard tests, see armedRules),
	// or the case would pass whatever the rule does.
	want []want
	only bool // the document produces no finding of any other code
}

// want is one expected finding of the code under test.
type want struct {
	pointer string
	message string // a substring of the rendered message ("" for any)
	fix     string // a substring of the rendered fix ("" for any)
}

// at is a want with only a pointer.
func at(pointer string) want { return want{pointer: pointer} }

// ruleCaseTables are the case tables, by the module whose rules they test.
func ruleCaseTables() map[string][]ruleCase {
	return map[string][]ruleCase{
		"action": actionCases, "condition": conditionCases, "document": documentCases, "ims": imsCases,
		"resource": resourceCases, "statement": statementCases, "wrapper": wrapperCases,
	}
}

// TestRuleCases runs every rule case (see ruleCase) with the gates the document's facts
// open, and again with every gate open: both must find the same.
func TestRuleCases(t *testing.T) {
	linters := newCaseLinters()
	guards := ruleGuards(t)
	for module, cases := range ruleCaseTables() {
		for _, c := range cases {
			t.Run(module+"/"+c.name, func(t *testing.T) {
				require.NotEmpty(t, c.code)
				_, known := linters.get(t, c, false).Rule(c.code)
				require.True(t, known, "unknown code %s", c.code)
				f := policy.Parse("t.json", []byte(c.doc))
				require.Empty(t, f.Problems, "the document does not parse")
				require.NotEmpty(t, f.Documents)
				got, err := linters.get(t, c, false).Lint(context.Background(), f)
				require.NoError(t, err)
				open, err := linters.get(t, c, true).Lint(context.Background(), f)
				require.NoError(t, err)
				assert.Equal(t, open, got, "opening every gate changes the findings")
				var mine []Finding
				others := map[string]bool{}
				for _, fd := range got {
					if fd.Code == c.code {
						mine = append(mine, fd)
					} else {
						others[fd.Code] = true
					}
				}
				if c.only {
					assert.Empty(t, others, "findings of other codes")
				}
				if len(c.want) == 0 {
					assert.Empty(t, mine, "%s must not be reported", c.code)
					armed := armedRules(linters.get(t, c, false), f, guards[c.code])
					assert.NotEmpty(t, armed, "negative case: the document arms no rule of %s (guards: %s), so the case passes whatever the rules do; give the document the guard's fact", c.code, guardList(guards[c.code]))
					return
				}
				require.Len(t, mine, len(c.want), "findings of %s: %v", c.code, mine)
				for i, w := range c.want {
					assert.Equal(t, w.pointer, mine[i].Pointer, "finding %d", i)
					assert.Contains(t, mine[i].Message, w.message, "finding %d", i)
					assert.Contains(t, mine[i].Fix, w.fix, "finding %d", i)
				}
			})
		}
	}
}

// caseLinters shares one Linter per (options, catalog, gates) among the cases.
type caseLinters map[string]*Linter

func newCaseLinters() caseLinters { return caseLinters{} }

func (cl caseLinters) get(t *testing.T, c ruleCase, allGates bool) *Linter {
	t.Helper()
	key := fmt.Sprintf("%#v\x00%s\x00%v", c.opts, c.cat, allGates)
	if l, ok := cl[key]; ok {
		return l
	}
	cat := catalog(t)
	if c.cat != "" {
		var err error
		cat, err = actions.Parse("case.toml", []byte(c.cat))
		require.NoError(t, err)
	}
	l, err := New(context.Background(), cat, c.opts)
	require.NoError(t, err)
	l.allGates = allGates
	cl[key] = l
	return l
}

// guard is the test a finding rule starts with: input.<path> == value. For the rules of a
// module's set it is the fact gate.go reads (input.has.X == true or input.over.X == true);
// for the rules that add to findings directly, their first equality on input.
type guard struct {
	rule  string // file:row of the rule
	path  []string
	value *ast.Term
}

func (g guard) String() string {
	return "input." + strings.Join(g.path, ".") + " == " + g.value.String()
}

// ruleGuards returns the guards of the built-in finding rules by the code they report.
func ruleGuards(t testing.TB) map[string][]guard {
	t.Helper()
	out := map[string][]guard{}
	for name, m := range builtinModules(t) {
		for _, r := range m.Rules {
			if !isFindingRule(r) {
				continue
			}
			g, ok := guardOf(r)
			require.True(t, ok, "%s:%d: a finding rule without a guard", name, r.Location.Row)
			g.rule = fmt.Sprintf("%s:%d", name, r.Location.Row)
			code := reportedCode(r)
			out[code] = append(out[code], g)
		}
	}
	for _, gs := range out {
		sort.Slice(gs, func(i, j int) bool { return gs[i].rule < gs[j].rule })
	}
	return out
}

// guardOf returns the guard of a finding rule (see guard).
func guardOf(r *ast.Rule) (guard, bool) {
	if fact := ruleFact(r); fact != "" {
		table, name, _ := strings.Cut(fact, ".")
		return guard{path: []string{table, name}, value: ast.BooleanTerm(true)}, true
	}
	for _, e := range r.Body {
		if e.Negated || !e.IsCall() || len(e.Operands()) != 2 {
			continue
		}
		if op := e.Operator().String(); op != "equal" && op != "eq" {
			continue
		}
		a, b := e.Operands()[0], e.Operands()[1]
		if _, ok := b.Value.(ast.Ref); ok {
			a, b = b, a
		}
		ref, ok := a.Value.(ast.Ref)
		if !ok || !ref[0].Equal(ast.InputRootDocument) || !ast.IsScalar(b.Value) {
			continue
		}
		var path []string
		for _, p := range ref[1:] {
			s, ok := p.Value.(ast.String)
			if !ok {
				return guard{}, false
			}
			path = append(path, string(s))
		}
		return guard{path: path, value: b}, true
	}
	return guard{}, false
}

// armedRules returns the guards (of the rules of one code) that some document of f passes.
func armedRules(l *Linter, f *policy.File, guards []guard) []guard {
	var out []guard
	for _, d := range f.Documents {
		in := l.input(f, d, false).(ast.Object)
		for _, g := range guards {
			if v := valueAt(in, g.path); v != nil && v.Equal(g.value) {
				out = append(out, g)
			}
		}
	}
	return out
}

// valueAt is the value at path in the input, nil when there is none.
func valueAt(in ast.Object, path []string) *ast.Term {
	var t *ast.Term
	o := in
	for _, p := range path {
		if o == nil {
			return nil
		}
		if t = o.Get(ast.StringTerm(p)); t == nil {
			return nil
		}
		o, _ = t.Value.(ast.Object)
	}
	return t
}

func guardList(gs []guard) string {
	s := make([]string, len(gs))
	for i, g := range gs {
		s[i] = g.String() + " (" + g.rule + ")"
	}
	return strings.Join(s, ", ")
}

// builtinModules parses the built-in rule modules (no tests).
func builtinModules(t testing.TB) map[string]*ast.Module {
	t.Helper()
	mods, err := opa.ParseFS(ruleModules, func(n string) bool { return !opa.IsTest(n) })
	require.NoError(t, err)
	return mods
}

// policy11 is a 1.1 policy with the given statements (JSON objects).
func policy11(statements ...string) string {
	return `{"Version": "1.1", "Statement": [` + strings.Join(statements, ", ") + `]}`
}

// allow is an Allow statement with the given actions (and more members, JSON, if any).
func allow(actions string, more ...string) string {
	return `{"Effect": "Allow", "Action": ` + actions + strings.Join(append([]string{""}, more...), ", ") + `}`
}

// deny is a Deny statement with the given actions.
func deny(actions string, more ...string) string {
	return `{"Effect": "Deny", "Action": ` + actions + strings.Join(append([]string{""}, more...), ", ") + `}`
}

// TestRuleCasesArmEveryRule: the document of some rule case arms each finding rule (has the
// fact its guard tests, as the Go input builder sets it). A rule no case arms is untested,
// or guards on a fact the builder never sets (a typo, a renamed fact) and can never fire.
func TestRuleCasesArmEveryRule(t *testing.T) {
	linters := newCaseLinters()
	armed := map[string]bool{}
	guards := ruleGuards(t)
	for _, cases := range ruleCaseTables() {
		for _, c := range cases {
			f := policy.Parse("t.json", []byte(c.doc))
			for _, gs := range guards {
				for _, g := range armedRules(linters.get(t, c, false), f, gs) {
					armed[g.rule] = true
				}
			}
		}
	}
	for code, gs := range guards {
		for _, g := range gs {
			assert.True(t, armed[g.rule], "no rule case arms the rule of %s at %s (%s)", code, g.rule, g)
		}
	}
}

// TestRuleCasesRejectAVacuousNegative: the document of the Rego test that checked
// "I-EP-UNSUPPORTED only for allowed actions" (a denied ims:images:list beside an allowed
// ims:quotas:get) does not arm the rule: its input has no has.ims_no_ep, so the
// rule cannot fire whatever it says, and as a negative case it would be refused.
func TestRuleCasesRejectAVacuousNegative(t *testing.T) {
	l := newTestLinter(t, Options{})
	f := policy.Parse("t.json", []byte(policy11(deny(`["ims:images:list"]`), allow(`["ims:quotas:get"]`))))
	assert.Empty(t, armedRules(l, f, ruleGuards(t)["I-EP-UNSUPPORTED"]))
}
