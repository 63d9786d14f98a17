package authz

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

// The policy compiler turns one policy set into a Rego module shaped for OPA's rule index.
// Every rule starts with equalities on the request — an action, the project or the
// enterprise project — so an evaluation only visits the rules of the request's own
// actions and scope. The statements that match a catalog action in one scope are gathered
// into one rule per effect: its unconditional statements as a group (one hit names the
// group), its conditional ones filtered by input.held. Conditions are not evaluated in the
// module: the engine evaluates each statement's Condition block once per request in Go
// (policy.Predicate, held against authz.rego by the agreement tests) and passes the
// statements whose conditions hold. Statements with a Resource get a rule each (their
// resource check is Rego's glob.match), and every statement has glob rules for actions
// outside the IMS catalog. The reference evaluator, authz.rego, interprets the same
// policy set generically; the differential tests require both to give the same decision
// and the same matched statements.
//
// Input (one evaluation per required action):
//
//	a0           the action, lower case
//	u0           true when it is not an IMS catalog action (the pattern table applies)
//	project      the request's project
//	ep           the enterprise project the request is established in, if any
//	ep_unknown   true: the API honours enterprise projects but the request's is not
//	             established
//	held         the set of conditional statements (ids) whose conditions hold
//	hg           in process: the set of conditional groups with a member in held
//	res          the request resource as [service, region, account, type, path], if any
//
// Output: hit = a set of numbers: g for group g, -(s+1) for statement s (with a Resource,
// or matched by pattern for an action outside the catalog).

// maxSlots is how many actions one evaluation decides. One keeps the module small (OPA
// compiles every rule; most requests need one action) at one evaluation per action.
const maxSlots = 1

// stmtRef is one statement of the compiled set.
type stmtRef struct {
	att    int  // attachment index
	index  int  // statement index in the document
	deny   bool //
	conds  []typedCond
	scope  Scope
	epSet  map[string]bool
	prjSet map[string]bool
}

// numberKeys returns a copy of conds with each valid condition's key and predicate
// numbered: statements that repeat a condition (the same operator, key and values, as they
// do when one network or time window guards several grants) share its number, so a
// request evaluates it once.
func (pr *program) numberKeys(conds []typedCond) []typedCond {
	if len(conds) == 0 {
		return nil
	}
	out := slices.Clone(conds)
	for i := range out {
		if !out[i].valid {
			continue
		}
		out[i].key = number(pr.keys, out[i].pred.Key)
		out[i].id = number(pr.preds, out[i].sig)
	}
	return out
}

// number returns the number of s in m, giving it the next one when it has none.
func number(m map[string]int, s string) int {
	n, ok := m[s]
	if !ok {
		n = len(m)
		m[s] = n
	}
	return n
}

// conditional reports whether the statement needs a per-request check in Go.
func (s *stmtRef) conditional() bool { return len(s.conds) > 0 }

// applies reports whether the statement's attachment scope covers the request (the Go
// side of the scope guards, used to keep cache keys to the statements that matter).
func (s *stmtRef) applies(project, ep string, epUnknown bool) bool {
	switch s.scope.Kind {
	case ScopeAllProjects:
		return true
	case ScopeProject:
		return s.prjSet[project]
	case ScopeGlobal:
		return project == "global"
	case ScopeEnterpriseProject:
		return ep != "" && s.epSet[ep] || epUnknown && s.deny
	}
	return false
}

// program is a compiled policy set: the module text and what the engine needs to feed
// and read it.
type program struct {
	module string
	stmts  []stmtRef
	groups [][]int // group → its statements
	// condGroup[g]: group g gathers conditional statements and hits only through
	// input.held; its matched statements are those of its members whose conditions hold.
	// In-process programs only (exported modules evaluate conditions per statement).
	condGroup []bool
	// inGroups lists, by statement id, the conditional groups it belongs to.
	inGroups [][]int
	// stmtHeld: a rule reads input.held (statements with a Resource and a Condition).
	stmtHeld bool
	// byAction lists, for each IMS catalog action, the conditional statements whose
	// patterns match it; uncatalogued actions check every conditional statement.
	byAction    map[string][]int
	conditional []int
	catalog     map[string]bool
	// keys numbers the condition keys (lower case) the statements read; a condition's
	// key field is its number, and a request's context is resolved into one slice of
	// values per number (contextByKey).
	keys map[string]int
	// preds numbers the distinct valid conditions (by typedCond.sig); a condition's id
	// field is its number, and a request memoizes each one's truth by number.
	preds map[string]int
	// withPatterns: the module has the pattern table for actions outside the catalog
	// (exported modules); in-process programs leave those actions to the reference.
	withPatterns bool
}

// compileSet builds the program of a policy set (typed: per attachment, its statements)
// under package pkg.
func compileSet(pkg string, cat *actions.Catalog, atts []Attachment, typed [][]typedStmt, withPatterns bool) (*program, error) {
	pr := &program{byAction: map[string][]int{}, catalog: map[string]bool{}, keys: map[string]int{}, preds: map[string]int{}, withPatterns: withPatterns}
	var catActs []string
	for _, a := range cat.ServiceActions() {
		l := strings.ToLower(a)
		if !pr.catalog[l] {
			pr.catalog[l] = true
			catActs = append(catActs, l)
		}
	}
	sort.Strings(catActs)

	// Gather: per (catalog action, scope guard, effect), the unconditional and the
	// conditional statements.
	type groupKey struct {
		action, guard string
		deny          bool
	}
	type group struct{ static, cond []int }
	groups := map[groupKey]*group{}
	var order []groupKey
	var perStatement []string // rules of statements with a Resource
	var patterns []string     // the pattern table, for actions outside the catalog
	var listing strings.Builder
	for i, stmts := range typed {
		a := atts[i]
		for _, st := range stmts {
			id := len(pr.stmts)
			ref := stmtRef{att: i, index: st.index, deny: st.deny, conds: pr.numberKeys(st.conds), scope: a.Scope,
				epSet: setOf(a.Scope.EnterpriseProjects), prjSet: setOf(a.Scope.Projects)}
			pr.stmts = append(pr.stmts, ref)
			if ref.conditional() {
				pr.conditional = append(pr.conditional, id)
			}
			fmt.Fprintf(&listing, "#   %d: %s statement %d: %s %s", id, quote(a.Name), st.index, effectName(st.deny), strings.Join(st.actions, ", "))
			if ref.conditional() {
				listing.WriteString(" (Condition)")
			}
			if len(st.resources) > 0 {
				listing.WriteString(" (Resource)")
			}
			listing.WriteString("\n")
			var checks []string
			if ref.conditional() {
				checks = append(checks, fmt.Sprintf("input.held[%d]", id))
			}
			resLit := "[]"
			if len(st.resources) > 0 {
				var rs []string
				for _, rp := range st.resources {
					rs = append(rs, "["+quoteList(rp)+"]")
				}
				resLit = "[" + strings.Join(rs, ", ") + "]"
				checks = append(checks, "resource_ok("+resLit+")")
			}
			scopes := scopeGuards(a.Scope, st.deny)
			for _, act := range catActs {
				if !anyMatch(st.actions, act) {
					continue
				}
				if ref.conditional() {
					pr.byAction[act] = append(pr.byAction[act], id)
				}
				for _, sg := range scopes {
					if len(st.resources) > 0 {
						pr.stmtHeld = pr.stmtHeld || ref.conditional()
						perStatement = append(perStatement, rule(fmt.Sprintf("hit contains %d", -id-1),
							append([]string{"input.a0 == " + quote(act), sg}, checks...)))
						continue
					}
					key := groupKey{act, sg, st.deny}
					g := groups[key]
					if g == nil {
						g = &group{}
						groups[key] = g
						order = append(order, key)
					}
					if ref.conditional() {
						g.cond = append(g.cond, id)
					} else {
						g.static = append(g.static, id)
					}
				}
			}
			items := a.Scope.Projects
			if a.Scope.Kind == ScopeEnterpriseProject {
				items = a.Scope.EnterpriseProjects
			}
			patterns = append(patterns, fmt.Sprintf("\t[%d, [%s], %s, [%s], %v, %v, %s],\n", id, quoteList(st.actions), quote(string(a.Scope.Kind)),
				quoteList(sortedUnique(items)), st.deny, ref.conditional(), resLit))
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by imsguard from %d policy attachment(s); do not edit.\n", len(atts))
	b.WriteString("# Input and output: rego/authz/compile.go. The statements are listed at the end.\n")
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	b.WriteString(modulePrelude)
	if withPatterns {
		b.WriteString(patternPrelude)
		b.WriteString("\n# [statement, action patterns, scope kind, projects or enterprise projects, deny,\n# conditional, resource patterns]\npatterns := [\n")
		for _, p := range patterns {
			b.WriteString(p)
		}
		b.WriteString("]\n")
	}
	rules := 0
	if !withPatterns {
		pr.inGroups = make([][]int, len(pr.stmts))
	}
	for _, key := range order {
		g := groups[key]
		if len(g.static) > 0 {
			gid := len(pr.groups)
			pr.groups = append(pr.groups, g.static)
			fmt.Fprintf(&b, "\n# %s %s: %s\n", effectName(key.deny), key.action, listIDs(g.static))
			b.WriteString(rule(fmt.Sprintf("hit contains %d", gid), []string{"input.a0 == " + quote(key.action), key.guard}))
			rules++
		}
		if len(g.cond) > 0 {
			fmt.Fprintf(&b, "\n# %s %s if the Condition holds: %s\n", effectName(key.deny), key.action, listIDs(g.cond))
			if withPatterns {
				// Exported: input.held names statements (the front evaluates conditions).
				b.WriteString(rule("hit contains v", []string{"input.a0 == " + quote(key.action), key.guard,
					"some s in input.held", "s in " + intSet(g.cond), "v := -1 - s"}))
			} else {
				// In process: input.hg names the groups with a member whose conditions
				// hold, so the rule is a lookup, not an enumeration.
				gid := len(pr.groups)
				pr.groups = append(pr.groups, g.cond)
				for len(pr.condGroup) < gid {
					pr.condGroup = append(pr.condGroup, false)
				}
				pr.condGroup = append(pr.condGroup, true)
				for _, id := range g.cond {
					pr.inGroups[id] = append(pr.inGroups[id], gid)
				}
				b.WriteString(rule(fmt.Sprintf("hit contains %d", gid), []string{"input.a0 == " + quote(key.action), key.guard,
					fmt.Sprintf("input.hg[%d]", gid)}))
			}
			rules++
		}
	}
	for _, r := range perStatement {
		b.WriteString("\n")
		b.WriteString(r)
		rules++
	}
	if rules == 0 && !withPatterns {
		b.WriteString("\nhit contains -1 if false\n")
	}
	b.WriteString("\n# Statements:\n")
	b.WriteString(listing.String())
	pr.module = b.String()
	return pr, nil
}

// hitsOf decodes a hit into the statements it names; held tells which conditional
// statements hold (a conditional group names only those).
func (pr *program) hitsOf(v int, held []bool) ([]int, bool) {
	if v >= 0 {
		if v >= len(pr.groups) {
			return nil, false
		}
		if v < len(pr.condGroup) && pr.condGroup[v] {
			var out []int
			for _, id := range pr.groups[v] {
				if id < len(held) && held[id] {
					out = append(out, id)
				}
			}
			return out, true
		}
		return pr.groups[v], true
	}
	s := -v - 1
	if s >= len(pr.stmts) {
		return nil, false
	}
	return []int{s}, true
}

// modulePrelude holds the rules shared by every compiled module: the resource check.
const modulePrelude = `result := hit

res_ok([]) := true

res_ok(res) if resource_ok(res)

# resource_ok: the request resource matches one of the patterns (spec 6.3).
resource_ok(res) if {
	count(input.res) == 5
	some p in res
	glob.match(p[0], null, input.res[0])
	glob.match(p[1], null, input.res[1])
	glob.match(p[2], null, input.res[2])
	glob.match(p[3], null, input.res[3])
	glob.match(p[4], null, input.res[4])
}
`

// patternPrelude matches actions outside the catalog against the pattern table (exported
// modules; not indexed).
const patternPrelude = `
hit contains v if {
	input.u0 == true
	some [s, pats, kind, items, deny, conditional, res] in patterns
	some p in pats
	glob.match(p, [":"], input.a0)
	scope_ok(kind, items, deny)
	held_ok(s, conditional)
	res_ok(res)
	v := -1 - s
}

scope_ok("all_projects", _, _) := true

scope_ok("global", _, _) if input.project == "global"

scope_ok("project", items, _) if input.project in items

scope_ok("enterprise_project", items, _) if input.ep in items

scope_ok("enterprise_project", _, true) if input.ep_unknown == true

held_ok(_, false) := true

held_ok(s, true) if input.held[s]
`

// scopeGuards are the alternative scope conditions of an attachment ("" for all
// projects); an enterprise-project Deny also applies when the request's enterprise
// project is unknown.
func scopeGuards(s Scope, deny bool) []string {
	switch s.Kind {
	case ScopeAllProjects:
		return []string{""}
	case ScopeGlobal:
		return []string{`input.project == "global"`}
	case ScopeProject:
		out := make([]string, 0, len(s.Projects))
		for _, p := range sortedUnique(s.Projects) {
			out = append(out, "input.project == "+quote(p))
		}
		return out
	case ScopeEnterpriseProject:
		var out []string
		for _, e := range sortedUnique(s.EnterpriseProjects) {
			out = append(out, "input.ep == "+quote(e))
		}
		if deny {
			out = append(out, "input.ep_unknown == true")
		}
		return out
	}
	return nil
}

// rule renders a rule with a body (empty expressions are left out).
func rule(head string, exprs []string) string {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(" if {\n")
	n := 0
	for _, e := range exprs {
		if e != "" {
			fmt.Fprintf(&b, "\t%s\n", e)
			n++
		}
	}
	if n == 0 {
		b.WriteString("\ttrue\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func effectName(deny bool) string {
	if deny {
		return "Deny"
	}
	return "Allow"
}

// anyMatch reports whether a normalized action pattern matches a lower-case catalog action
// as glob.match(pattern, [":"], action) does for the patterns NormalizeAction admits: '*'
// any run of characters within a segment, '?' one character, segments compared one by
// one (policy.ActionMatch).
func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if policy.ActionMatch(p, action) {
			return true
		}
	}
	return false
}

func intSet(ids []int) string { return "{" + listIDs(ids) + "}" }

func listIDs(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ", ")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

func sortedUnique(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	n := 0
	for i, v := range out {
		if i == 0 || v != out[n-1] {
			out[n] = v
			n++
		}
	}
	return out[:n]
}
