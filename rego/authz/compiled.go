package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/opa"
)

// compiledPackage is the Rego package of an engine's compiled policy set.
const compiledPackage = "imsguard.compiled"

// compiled is a program prepared for evaluation.
type compiled struct {
	*program
	query rego.PreparedEvalQuery
	// Input terms built once and shared by every request (OPA does not modify its input):
	// the numbers of statements and groups, and each catalog action.
	ints     []*ast.Term
	actTerms map[string]*ast.Term
	// globalNums is the key number of each of GlobalKeys, -1 where the program reads none.
	globalNums [NumGlobals]int
}

// prepareProgram compiles the program's module and prepares its result query.
func prepareProgram(ctx context.Context, pr *program) (*compiled, error) {
	m, err := ast.ParseModuleWithOpts("compiled.rego", pr.module, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("parse compiled policy set: %w", err)
	}
	c, err := opa.Compile(map[string]*ast.Module{"compiled.rego": m})
	if err != nil {
		return nil, fmt.Errorf("compile compiled policy set: %w", err)
	}
	q, err := rego.New(opa.QueryOptions(c, "data."+compiledPackage+".hit")...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare compiled policy set: %w", err)
	}
	out := &compiled{program: pr, query: q, actTerms: make(map[string]*ast.Term, len(pr.catalog))}
	out.ints = make([]*ast.Term, max(len(pr.stmts), len(pr.groups)))
	for i := range out.ints {
		out.ints[i] = ast.InternedTerm(i)
	}
	for a := range pr.catalog {
		out.actTerms[a] = ast.StringTerm(a)
	}
	for i, k := range GlobalKeys {
		out.globalNums[i] = -1
		if n, ok := pr.keys[strings.ToLower(k)]; ok {
			out.globalNums[i] = n
		}
	}
	return out, nil
}

// intTerm is the number n as an input term.
func (c *compiled) intTerm(n int) *ast.Term {
	if n < len(c.ints) {
		return c.ints[n]
	}
	return ast.IntNumberTerm(n)
}

// actionTerm is the lower-case action a as an input term.
func (c *compiled) actionTerm(a string) *ast.Term {
	if t, ok := c.actTerms[a]; ok {
		return t
	}
	return ast.StringTerm(a)
}

// request is one decision's input as the compiled program reads it.
type request struct {
	acts      []string // lower case
	project   string
	ep        string // established enterprise project, "" if none
	epUnknown bool
	res       []string   // resource split for the module, nil without one
	held      []bool     // by statement id: conditions hold (only conditional, applicable ones set)
	vals      [][]string // the context's values by condition key number (program.keys)
	checked   []int      // conditional statement ids checked, in order (the cache key's bits)
}

// requestBuf backs a request's slices at the sizes most policy sets need, so preparing a
// request allocates nothing for them (larger sets fall back to make). Buffers are pooled:
// nothing a decision returns points into one.
type requestBuf struct {
	acts    [4]string
	state   [2 * 64]bool // held, then seen, for up to 64 statements
	memo    [32]int8
	checked [16]int
	vals    [4][]string
	seen    [4]bool
	parsed  [4]policy.Parsed
}

var requestBufs = sync.Pool{New: func() any { return new(requestBuf) }}

// putRequestBuf returns buf to the pool, holding no reference to the request's values.
func putRequestBuf(buf *requestBuf) {
	clear(buf.acts[:])
	clear(buf.vals[:])
	requestBufs.Put(buf)
}

// bufOr returns buf[:n] when it is long enough, a new slice otherwise.
func bufOr[T any](buf []T, n int) []T {
	if n <= len(buf) {
		clear(buf[:n])
		return buf[:n:n]
	}
	return make([]T, n)
}

// newRequest prepares the per-request facts, the request's slices backed by buf: the
// scope, the resource, and which conditional statements hold.
func (c *compiled) newRequest(buf *requestBuf, in Input, acts []string, epSupported bool) request {
	r := request{project: in.Project}
	r.acts = bufOr(buf.acts[:], len(acts))
	for i, a := range acts {
		r.acts[i] = strings.ToLower(a)
	}
	if epSupported {
		if in.EnterpriseProjectUnknown {
			r.epUnknown = true
		} else {
			r.ep = in.EnterpriseProjectID
		}
	}
	if in.Resource != "" {
		r.res = splitResource(in.Resource)
	}
	if len(c.conditional) == 0 {
		return r
	}
	n := len(c.stmts)
	state := bufOr(buf.state[:], 2*n) // held, then seen
	r.held = state[:n:n]
	seen := state[n:]
	memo := bufOr(buf.memo[:], len(c.preds)) // by predicate number: 0 not evaluated, 1 false, 2 true
	checked := buf.checked[:0]
	r.vals = c.contextByKey(&in, bufOr(buf.vals[:], len(c.keys)), bufOr(buf.seen[:], len(c.keys)))
	parsed := bufOr(buf.parsed[:], len(c.keys)) // a single-valued key's address or date, read once
	for _, a := range r.acts {
		ids, ok := c.byAction[a]
		if !ok && !c.catalog[a] {
			ids = c.conditional
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			st := &c.stmts[id]
			if !st.applies(r.project, r.ep, r.epUnknown) {
				continue
			}
			checked = append(checked, id)
			r.held[id] = conditionsHold(st, r.vals, memo, parsed)
		}
	}
	r.checked = checked
	return r
}

// conditionsHold evaluates a statement's Condition block over the context's values by key
// number: every condition holds; an invalid one is false in an Allow and true in a Deny
// (fail-safe). memo keeps each predicate's truth for the request, by predicate number;
// parsed, what reading each single-valued key gave, by key number.
func conditionsHold(st *stmtRef, vals [][]string, memo []int8, parsed []policy.Parsed) bool {
	for i := range st.conds {
		c := &st.conds[i]
		if !c.valid {
			if !st.deny {
				return false
			}
			continue
		}
		if memo[c.id] == 0 {
			memo[c.id] = 1
			v := vals[c.key]
			var holds bool
			if len(v) == 1 {
				holds = c.pred.HoldsOne(v[0], &parsed[c.key])
			} else {
				holds = c.pred.Holds(v)
			}
			if holds {
				memo[c.id] = 2
			}
		}
		if memo[c.id] != 2 {
			return false
		}
	}
	return true
}

// contextByKey resolves a request's condition keys (Globals, then Context) to the values
// of each key the program reads, by key number, into vals (len(c.keys), zeroed; seen is
// scratch of the same length); Context's keys may be spelt in any case, and keys differing
// only in case are merged, as the reference does. An absent key is nil.
func (c *compiled) contextByKey(in *Input, vals [][]string, seen []bool) [][]string {
	add := func(n int, v []string) {
		if !seen[n] {
			seen[n] = true
			vals[n] = v
			return
		}
		vals[n] = append(append([]string{}, vals[n]...), v...)
	}
	if g := in.Globals; g != nil {
		for i := range g.Value {
			if n := c.globalNums[i]; n >= 0 && g.Has[i] {
				add(n, g.Value[i:i+1:i+1])
			}
		}
	}
	for k, v := range in.Context {
		lk, ok := lowerGlobalKeys[k]
		if !ok {
			lk = strings.ToLower(k)
		}
		if n, ok := c.keys[lk]; ok {
			add(n, v)
		}
	}
	return vals
}

// lowerGlobalKeys maps GlobalKeys, as spelt there, to their lower-case forms, so that a
// Context spelling them so lower-cases nothing.
var lowerGlobalKeys = func() map[string]string {
	m := make(map[string]string, NumGlobals)
	for _, k := range GlobalKeys {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// splitResource splits service:region:account:type:path as the reference reads it:
// service and type lower case, the path keeping its colons. Fewer than five parts: nil.
func splitResource(r string) []string {
	parts := strings.Split(r, ":")
	if len(parts) < 5 {
		return nil
	}
	return []string{strings.ToLower(parts[0]), parts[1], parts[2], strings.ToLower(parts[3]), strings.Join(parts[4:], ":")}
}

var (
	keyAction       = ast.StringTerm("a0")
	keyUncatalogued = ast.StringTerm("u0")
)

var (
	keyProject   = ast.StringTerm("project")
	keyEP        = ast.StringTerm("ep")
	keyEPUnknown = ast.StringTerm("ep_unknown")
	keyHeld      = ast.StringTerm("held")
	keyHg        = ast.StringTerm("hg")
	keyRes       = ast.StringTerm("res")
)

// decide evaluates the program once per distinct action and builds the decision.
func (c *compiled) decide(ctx context.Context, r *request, acts []string, name func(int) string) (Decision, error) {
	d := Decision{Effect: Allow, Actions: make([]ActionDecision, 0, len(acts))}
	var held, hg ast.Set // built on first use: most requests hold no condition or few
	for _, id := range r.checked {
		if !r.held[id] {
			continue
		}
		if c.stmtHeld || c.withPatterns {
			if held == nil {
				held = ast.NewSet()
			}
			held.Add(c.intTerm(id))
		}
		if id >= len(c.inGroups) {
			continue
		}
		for _, g := range c.inGroups[id] {
			if hg == nil {
				hg = ast.NewSet()
			}
			hg.Add(c.intTerm(g))
		}
	}
	project := ast.StringTerm(r.project)
	var res *ast.Term
	if r.res != nil {
		terms := make([]*ast.Term, len(r.res))
		for i, p := range r.res {
			terms[i] = ast.StringTerm(p)
		}
		res = ast.ArrayTerm(terms...)
	}
	for i, a := range acts {
		la := r.acts[i]
		if slices.Contains(r.acts[:i], la) {
			continue
		}
		// Only what is set goes in: every rule starts with an equality the index resolves,
		// and an absent key matches no rule.
		obj := ast.NewObject(ast.Item(keyAction, c.actionTerm(la)), ast.Item(keyProject, project))
		if !c.catalog[la] {
			obj.Insert(keyUncatalogued, ast.BooleanTerm(true))
		}
		if r.ep != "" {
			obj.Insert(keyEP, ast.StringTerm(r.ep))
		}
		if r.epUnknown {
			obj.Insert(keyEPUnknown, ast.BooleanTerm(true))
		}
		if held != nil {
			obj.Insert(keyHeld, ast.NewTerm(held))
		}
		if hg != nil {
			obj.Insert(keyHg, ast.NewTerm(hg))
		}
		if res != nil {
			obj.Insert(keyRes, res)
		}
		t, err := opa.EvalShortTerm(ctx, c.query, obj, opa.Uncached...) // a generated module: indexed rules, microseconds
		if err != nil {
			return d, err
		}
		hits, ok := t.Value.(ast.Set)
		if !ok {
			return d, fmt.Errorf("compiled result is %T, not a set", t.Value)
		}
		var ids []int
		var derr error
		truth := r.held // not r in the closure: that would move the request to the heap
		hits.Foreach(func(x *ast.Term) {
			v, err := num(x)
			if err != nil {
				derr = err
				return
			}
			stmts, ok := c.hitsOf(v, truth)
			if !ok {
				derr = fmt.Errorf("compiled result: bad hit %d", v)
				return
			}
			ids = append(ids, stmts...)
		})
		if derr != nil {
			return d, derr
		}
		ad := c.actionDecision(a, ids, name)
		if severity(ad.Effect) > severity(d.Effect) {
			d.Effect = ad.Effect
		}
		d.Actions = append(d.Actions, ad)
	}
	return d, nil
}

// actionDecision builds one action's decision from the statements that apply to it:
// explicit Deny wins, then any Allow, otherwise ImplicitDeny.
func (c *compiled) actionDecision(action string, ids []int, name func(int) string) ActionDecision {
	ad := ActionDecision{Action: action, Effect: ImplicitDeny, Matched: make([]StatementRef, 0, len(ids))}
	for _, id := range ids {
		st := &c.stmts[id]
		eff := "Allow"
		if st.deny {
			eff = "Deny"
			ad.Effect = ExplicitDeny
		} else if ad.Effect == ImplicitDeny {
			ad.Effect = Allow
		}
		ad.Matched = append(ad.Matched, StatementRef{Attachment: st.att, Policy: name(st.att), Statement: st.index, Effect: eff})
	}
	ad.Matched = sortRefs(ad.Matched)
	return ad
}

// severity orders effects: Allow < ImplicitDeny < ExplicitDeny.
func severity(e Effect) int {
	switch e {
	case Allow:
		return 0
	case ImplicitDeny:
		return 1
	}
	return 2
}

// compileEngine compiles and prepares an engine's policy set. A condition the reference
// evaluates but no predicate can model makes it an error: the engine then decides with
// the reference alone.
func compileEngine(ctx context.Context, cat *actions.Catalog, atts []Attachment, typed [][]typedStmt) (*compiled, error) {
	for _, stmts := range typed {
		for _, st := range stmts {
			for _, c := range st.conds {
				if c.valid && c.err != nil {
					return nil, c.err
				}
			}
		}
	}
	pr, err := compileSet(compiledPackage, cat, atts, typed, false)
	if err != nil {
		return nil, err
	}
	return prepareProgram(ctx, pr)
}

// covers reports whether the program decides every action itself: in-process programs
// carry no pattern table, so actions outside the IMS catalog go to the reference.
func (c *compiled) covers(acts []string) bool {
	if c.withPatterns {
		return true
	}
	for _, a := range acts {
		if !c.catalog[strings.ToLower(a)] {
			return false
		}
	}
	return true
}
