package lint

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

// The limit profiles of spec section 8.
const (
	// ProfileStrict follows the IAM API field text and error codes (the default).
	ProfileStrict = "strict"
	// ProfileQuota2025 follows Huawei's 2025 "Notes and Constraints" page: no limit on the
	// number of statements, actions, resources and conditions; 128-character names.
	ProfileQuota2025 = "quota-2025"
)

// Limits are the document limits a lint run checks; 0 means unlimited.
type Limits struct {
	Statements      int `json:"statements"`        // statements per policy
	Actions         int `json:"actions"`           // actions per statement
	Resources       int `json:"resources"`         // resources per statement
	Conditions      int `json:"conditions"`        // (operator, key) pairs per statement
	Values          int `json:"values"`            // values per condition key
	ActionLength    int `json:"action_length"`     // characters per action
	ResourceLength  int `json:"resource_length"`   // characters per resource
	ValueLength     int `json:"value_length"`      // characters per condition value
	AgencyURIs      int `json:"agency_uris"`       // URIs per agency statement
	AgencyURILength int `json:"agency_uri_length"` // characters per agency URI
	DisplayName     int `json:"display_name"`      // characters of a role display_name
	PolicySize      int `json:"policy_size"`       // characters of the policy (see Settings.SizeMode)
}

// LimitProfile returns the limits of a named profile ("strict" or "quota-2025"; "" is
// strict).
func LimitProfile(name string) (Limits, error) {
	strict := Limits{Statements: 8, Actions: 100, Resources: 10, Conditions: 10, Values: 10,
		ActionLength: 128, ResourceLength: 128, ValueLength: 1024, AgencyURIs: 20, AgencyURILength: 128,
		DisplayName: 64, PolicySize: 6144}
	switch name {
	case "", ProfileStrict:
		return strict, nil
	case ProfileQuota2025:
		q := strict
		q.Statements, q.Actions, q.Resources, q.Conditions, q.DisplayName = 0, 0, 0, 0, 128
		return q, nil
	default:
		return Limits{}, fmt.Errorf("unknown limit profile %q (use %s or %s)", name, ProfileStrict, ProfileQuota2025)
	}
}

// catalogFacts is the IMS catalog as the lint rules see it, built once per Linter: the Rego
// value shared by every evaluation plus the lists the Go measurements need.
type catalogFacts struct {
	term    *ast.Term         // input.catalog
	known   []string          // lower-case names an action pattern is expanded against
	canonOf map[string]string // lower-case known name → documented spelling
	canon   []string          // canonical IMS action names, for did-you-mean suggestions
	service map[string]bool
	lower   map[string]bool // known, as a set
	// tables are the entries of input.catalog.index.<table>[x] (partial, deps, gaps,
	// no_ep) by table and action, pre-joined onto each action's measurements.
	tables map[string]map[string][]*ast.Term
	apis   map[string]*actions.API // by id
}

// agencyAction is the one action of the agency policy variant (spec 6.4); it is known to
// the linter although no IMS API requires it.
const agencyAction = "iam:agencies:assume"

// newLintCatalog builds input.catalog (and the Go lookups beside it) from the catalog:
//
//	services  {service: true} for every service with a full action list (ims)
//	actions   {lower-case IMS action: documented spelling}
//	known     {lower-case name: documented spelling} for IMS actions, dependencies and
//	          iam:agencies:assume (the names input.actions[_].m.expands lists)
//	apis      {id: {id, section, title, method, path, family, deprecated, ep, actions,
//	               dependencies, conditional: [{action, when, dependencies}]}}
//	by_action {action: [ids of the APIs requiring it, always or conditionally]}
//
// Action names outside the lower-case lookup keys are in their documented spelling.
//
//	index     derived once by ims_index (ims.rego): primary, deps, gaps and no_ep tables
func newLintCatalog(ctx context.Context, cat *actions.Catalog, comp *ast.Compiler) (*catalogFacts, error) {
	lc := &catalogFacts{service: map[string]bool{}, lower: map[string]bool{}, canonOf: map[string]string{}}
	acts := map[string]any{}
	known := map[string]any{}
	addKnown := func(a string) {
		l := strings.ToLower(a)
		if _, ok := known[l]; !ok {
			known[l] = a
			lc.known = append(lc.known, l)
			lc.lower[l] = true
			lc.canonOf[l] = a
		}
	}
	for _, a := range cat.ServiceActions() {
		acts[strings.ToLower(a)] = a
		lc.canon = append(lc.canon, a)
		svc, _, _ := strings.Cut(a, ":")
		lc.service[strings.ToLower(svc)] = true
		addKnown(a)
	}
	apis := map[string]any{}
	byAction := map[string][]any{}
	for _, api := range cat.APIs() {
		conds := []any{}
		for _, c := range api.Conditional {
			conds = append(conds, map[string]any{"action": c.Action, "when": c.When, "dependencies": stringsAny(c.Dependencies)})
			addKnown(c.Action)
			for _, d := range c.Dependencies {
				addKnown(d)
			}
		}
		for _, d := range api.Dependencies {
			addKnown(d)
		}
		for _, a := range api.AllActions() {
			byAction[a] = append(byAction[a], api.ID)
		}
		apis[api.ID] = map[string]any{
			"id": api.ID, "section": api.Section, "title": api.Title, "method": api.Method, "path": api.Path,
			"family": string(api.Family), "deprecated": api.Deprecated, "ep": api.EnterpriseProject, "ep_exception": api.EPException != nil,
			"actions": stringsAny(api.Actions), "dependencies": stringsAny(api.Dependencies), "conditional": conds,
		}
	}
	addKnown(agencyAction)
	slices.Sort(lc.known)
	ba := map[string]any{}
	for a, ids := range byAction {
		ba[a] = ids
	}
	services := map[string]any{}
	for s := range lc.service {
		services[s] = true
	}
	data := map[string]any{"version": cat.Version, "services": services, "actions": acts, "known": known, "apis": apis, "by_action": ba}
	v, err := ast.InterfaceToValue(data)
	if err != nil {
		return nil, fmt.Errorf("convert lint catalog: %w", err)
	}
	obj := v.(ast.Object)
	idx, err := evalTerm(ctx, comp, `y := data.imsguard.lint.ims_index(input.catalog)`, ast.NewObject([2]*ast.Term{ast.StringTerm("catalog"), ast.NewTerm(obj)}))
	if err != nil {
		return nil, fmt.Errorf("build lint catalog index: %w", err)
	}
	obj.Insert(ast.StringTerm("index"), idx)
	lc.term = ast.NewTerm(obj)
	lc.apis = map[string]*actions.API{}
	for _, api := range cat.APIs() {
		lc.apis[api.ID] = api
	}
	lc.tables = map[string]map[string][]*ast.Term{}
	io, ok := idx.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("lint catalog index is %T, not an object", idx.Value)
	}
	for _, name := range []string{"partial", "deps", "gaps", "no_ep"} {
		lc.tables[name] = map[string][]*ast.Term{}
		t, ok := io.Get(ast.StringTerm(name)).Value.(ast.Object)
		if !ok {
			return nil, fmt.Errorf("lint catalog index %s is not an object", name)
		}
		t.Foreach(func(k, v *ast.Term) {
			x, _ := termString(k)
			if arr, ok := v.Value.(*ast.Array); ok {
				arr.Foreach(func(e *ast.Term) { lc.tables[name][x] = append(lc.tables[name][x], e) })
			}
		})
	}
	return lc, nil
}

// expand returns the known names (in their documented spelling) an action pattern (lower
// case, normalized) matches.
func (lc *catalogFacts) expand(pattern string) []string {
	if !strings.ContainsAny(pattern, "*?") {
		if lc.lower[pattern] {
			return []string{lc.canonOf[pattern]}
		}
		return nil
	}
	var out []string
	for _, k := range lc.known {
		if segmentGlob(pattern, k) {
			out = append(out, lc.canonOf[k])
		}
	}
	return out
}

// joined returns the index entries of table for the expansions of an action, in order,
// without duplicates (equal entries of different actions count once).
func (lc *catalogFacts) joined(table string, expands []string) []*ast.Term {
	var out []*ast.Term
	for _, x := range expands {
		for _, e := range lc.tables[table][x] {
			if !slices.ContainsFunc(out, e.Equal) {
				out = append(out, e)
			}
		}
	}
	return out
}

// splitDeps splits the deps index entries of an action's expansions: those whose needs the
// expansions themselves cover are merged into the set of their dependencies and the set of
// their API ids; the others are returned as they are.
func (lc *catalogFacts) splitDeps(expands []string) (direct, ids ast.Set, others []*ast.Term) {
	direct, ids = ast.NewSet(), ast.NewSet()
	have := map[string]bool{}
	for _, x := range expands {
		have[x] = true
	}
	for _, e := range lc.joined("deps", expands) {
		o, ok := e.Value.(ast.Object)
		if !ok {
			continue
		}
		needs, _ := o.Get(ast.StringTerm("needs")).Value.(ast.Set)
		deps, _ := o.Get(ast.StringTerm("deps")).Value.(ast.Set)
		if needs == nil || deps == nil {
			continue
		}
		covered := true
		needs.Foreach(func(n *ast.Term) {
			s, _ := termString(n)
			covered = covered && have[s]
		})
		if !covered {
			others = append(others, e)
			continue
		}
		deps.Foreach(direct.Add)
		ids.Add(o.Get(ast.StringTerm("api")))
	}
	return direct, ids, others
}

// noEPIDs is the set of ids of the APIs ignoring enterprise projects that have one of the
// expansions among their primary actions.
func (lc *catalogFacts) noEPIDs(expands []string) ast.Set {
	out := ast.NewSet()
	for _, e := range lc.joined("no_ep", expands) {
		if o, ok := e.Value.(ast.Object); ok {
			out.Add(o.Get(ast.StringTerm("api")))
		}
	}
	return out
}

// apiText renders API ids as "API 6.1.4" / "APIs 5.1.3, 5.1.4", sorted by section, with
// their distinct paths in parentheses when withPaths.
func (lc *catalogFacts) apiText(ids []string, withPaths bool) string {
	var secs, paths []string
	for _, id := range ids {
		if api, ok := lc.apis[id]; ok {
			secs = append(secs, api.Section)
			paths = append(paths, api.Path)
		}
	}
	slices.Sort(secs)
	secs = slices.Compact(secs)
	slices.Sort(paths)
	paths = slices.Compact(paths)
	text := "APIs " + strings.Join(secs, ", ")
	if len(secs) == 1 {
		text = "API " + secs[0]
	}
	if withPaths && len(paths) > 0 {
		text += " (" + strings.Join(paths, ", ") + ")"
	}
	return text
}

// epText names APIs that do not honour enterprise-project grants as apiText does without
// paths, an API that does for all but some requests (catalog enterprise_project_exception)
// with those requests: "APIs 5.1.1 (shared-image queries), 6.1.1".
func (lc *catalogFacts) epText(ids []string) string {
	var secs []string
	for _, id := range ids {
		api, ok := lc.apis[id]
		if !ok {
			continue
		}
		sec := api.Section
		if api.EnterpriseProject && api.EPException != nil {
			sec += " (" + exceptionShort(api.EPException.When) + ")"
		}
		secs = append(secs, sec)
	}
	slices.Sort(secs)
	secs = slices.Compact(secs)
	if len(secs) == 1 {
		return "API " + secs[0]
	}
	return "APIs " + strings.Join(secs, ", ")
}

// exceptionShort is the first words of an exception's description, up to a parenthesis
// or "are": "shared-image queries".
func exceptionShort(when string) string {
	for _, stop := range []string{" (", " are ", ":"} {
		if i := strings.Index(when, stop); i > 0 {
			when = when[:i]
		}
	}
	return when
}

// familyText names the route families of APIs: "extension routes", "native OpenStack
// routes", or both.
func (lc *catalogFacts) familyText(ids []string) string {
	var fams []string
	for _, id := range ids {
		if api, ok := lc.apis[id]; ok {
			name := "extension routes"
			if api.Family == actions.FamilyOpenStack {
				name = "native OpenStack routes"
			}
			fams = append(fams, name)
		}
	}
	slices.Sort(fams)
	return strings.Join(slices.Compact(fams), " and ")
}

// operatorCatalogTerm is input.operator_catalog: {lower-case name: Operator} for the
// operators of both editions (policy.Operators).
func operatorCatalogTerm() (*ast.Term, []string, error) {
	m := map[string]any{}
	var names []string
	for _, op := range policy.Operators() {
		m[strings.ToLower(op.Name)] = map[string]any{
			"name": op.Name, "fn": op.Fn, "negated": op.Negated, "type": string(op.Type),
			"edition": string(op.Edition), "case_insensitive": op.CaseInsensitive,
		}
		names = append(names, op.Name)
	}
	v, err := ast.InterfaceToValue(m)
	if err != nil {
		return nil, nil, fmt.Errorf("convert operator catalogue: %w", err)
	}
	return ast.NewTerm(v), names, nil
}

func stringsAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
