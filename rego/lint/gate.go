package lint

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// gateSet maps the facts that open a module's findings to the module (see findings in
// rules.rego): fact "has.X" or "over.X" -> the gates (module names) whose rules guard on
// it. It is read off the built-in modules: every rule of a set <module>_findings must have
// a top-level expression input.has.X == true or input.over.X == true (the rule cannot fire
// without that fact), and findings must collect every such set exactly once behind
// input.gate.<module> == true; anything else is an error, so a new rule or module cannot
// be silently skipped.
type gateSet struct {
	byFact map[string][]string // "has.X" / "over.X" -> gates
	names  []string            // every gate, sorted
}

func newGateSet(mods map[string]*ast.Module) (*gateSet, error) {
	g := &gateSet{byFact: map[string][]string{}}
	seen := map[string]bool{}
	collected := map[string]int{} // gate -> rules of findings behind input.gate.<gate>
	for _, m := range mods {
		for _, r := range m.Rules {
			head := r.Head.Ref().String()
			if head == "findings" {
				if gate := inputFlag(r, "gate"); gate != "" {
					collected[strings.TrimPrefix(gate, "gate.")]++
				}
				continue
			}
			gate, ok := strings.CutSuffix(head, "_findings")
			if !ok || gate == "" {
				continue
			}
			fact := ruleFact(r)
			if fact == "" {
				return nil, fmt.Errorf("%s: rule of %s has no fact guard (input.has.X == true or input.over.X == true); add one, or add to findings directly", r.Location, head)
			}
			if !seen[gate] {
				seen[gate] = true
				g.names = append(g.names, gate)
			}
			if !slices.Contains(g.byFact[fact], gate) {
				g.byFact[fact] = append(g.byFact[fact], gate)
			}
		}
	}
	sort.Strings(g.names)
	if len(g.names) == 0 {
		return nil, fmt.Errorf("lint rules: no <module>_findings rules found")
	}
	for _, gate := range g.names {
		if collected[gate] != 1 {
			return nil, fmt.Errorf("lint rules: findings collects %s_findings %d times; add exactly one rule `findings contains f if { input.gate.%s == true; some f in %s_findings }` (rules.rego)", gate, collected[gate], gate, gate)
		}
	}
	for gate := range collected {
		if !seen[gate] {
			return nil, fmt.Errorf("lint rules: findings opens gate %s, but no rule adds to %s_findings", gate, gate)
		}
	}
	return g, nil
}

// ruleFact returns "has.X" or "over.X" for the first body expression of r of the form
// input.has.X == true (or input.over.X == true), "" when there is none.
func ruleFact(r *ast.Rule) string { return inputFlag(r, "has", "over") }

// inputFlag returns "T.X" for the first body expression of r of the form
// input.T.X == true with T one of tables, "" when there is none.
func inputFlag(r *ast.Rule, tables ...string) string {
	for _, e := range r.Body {
		if e.Negated || !e.IsCall() || len(e.Operands()) != 2 {
			continue
		}
		if op := e.Operator().String(); op != "equal" && op != "eq" {
			continue
		}
		a, b := e.Operands()[0], e.Operands()[1]
		if !ast.BooleanTerm(true).Equal(b) {
			a, b = b, a
		}
		if !ast.BooleanTerm(true).Equal(b) {
			continue
		}
		ref, ok := a.Value.(ast.Ref)
		if !ok || len(ref) != 3 || !ref[0].Equal(ast.InputRootDocument) {
			continue
		}
		table, ok1 := ref[1].Value.(ast.String)
		name, ok2 := ref[2].Value.(ast.String)
		if ok1 && ok2 && slices.Contains(tables, string(table)) {
			return string(table) + "." + string(name)
		}
	}
	return ""
}

// term returns input.gate for a document's has facts and over entries (every gate when
// all is set: the tests compare both).
func (lg *gateSet) term(l *Linter, has []string, over []string, all bool) *ast.Term {
	var open smallSet
	if all {
		open = slices.Clone(lg.names)
	}
	for _, f := range has {
		for _, gate := range lg.byFact["has."+f] {
			open.add(gate)
		}
	}
	for _, f := range over {
		for _, gate := range lg.byFact["over."+f] {
			open.add(gate)
		}
	}
	items := make([][2]*ast.Term, len(open))
	for i, gate := range open {
		items[i] = l.it(gate, tBool(true))
	}
	return ast.ObjectTerm(items...)
}
