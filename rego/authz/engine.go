package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/opa"
)

// Options tune an Engine.
type Options struct {
	// AbsentNegated makes negated operators true on an absent key (AWS semantics); the
	// default false follows the Huawei wording (spec §5.5).
	AbsentNegated bool
	// Lenient evaluates documents IAM would reject, fail-safe (see Decision.Notes), instead
	// of refusing them.
	Lenient bool
	// CacheSize bounds the decision cache (entries per map; 0: 4096; <0: off).
	CacheSize int
	// Warm lists projects for which New pre-computes the decision of every catalog API
	// (each conditional-action variant too) with an empty context, so the first requests
	// after start-up or a reload are cache hits instead of full evaluations.
	Warm []string
}

// Engine evaluates requests against one prepared policy set. It is immutable after New and
// safe for concurrent use; build a new Engine to change the policies.
type Engine struct {
	cat   *actions.Catalog
	atts  []Attachment
	query rego.PreparedEvalQuery
	// refSet builds (once) the reference evaluator's policy set, shared read-only by every
	// evaluation.
	refSet func() (*ast.Term, error)
	notes  []string
	cache  *decisionCache // nil: off
	prog   *compiled      // the compiled policy set; nil: the reference decides
	typed  [][]typedStmt  // the statements per attachment, as compiled
	// roleDepends: some attachment is a 1.0 role with Depends (dependsNotes has work).
	roleDepends bool
	// scopedEPs are the enterprise projects some attachment is scoped to.
	scopedEPs map[string]bool
}

// ErrEvaluation is wrapped by Decide errors from the Rego evaluation; callers must deny.
var ErrEvaluation = errors.New("policy evaluation failed")

// ErrBadInput is wrapped by Decide errors about the input itself.
var ErrBadInput = errors.New("invalid decision input")

// Runtime holds the compiled authz queries. They do not depend on the policy set (which is
// passed as input), so one Runtime serves every Engine of a process: start-up and each
// reload only builds the new policy set. Safe for concurrent use.
type Runtime struct {
	result, index, scopes, annotate rego.PreparedEvalQuery
}

// Prepare compiles the embedded authz modules and prepares their queries.
func Prepare(ctx context.Context) (*Runtime, error) {
	mods, err := parseModules(func(n string) bool { return !opa.IsTest(n) })
	if err != nil {
		return nil, err
	}
	comp, err := opa.Compile(mods)
	if err != nil {
		return nil, err
	}
	prep := func(q string) (rego.PreparedEvalQuery, error) {
		pq, err := rego.New(opa.QueryOptions(comp, q)...).PrepareForEval(ctx)
		if err != nil {
			return pq, fmt.Errorf("prepare %s: %w", q, err)
		}
		return pq, nil
	}
	rt := &Runtime{}
	if rt.result, err = prep("data.imsguard.authz.result"); err != nil {
		return nil, err
	}
	if rt.index, err = prep("y := data.imsguard.authz.index(input.x)"); err != nil {
		return nil, err
	}
	if rt.scopes, err = prep("y := data.imsguard.authz.scope_index(input.set.attachments)"); err != nil {
		return nil, err
	}
	if rt.annotate, err = prep("y := data.imsguard.authz.annotate_set(input.set)"); err != nil {
		return nil, err
	}
	return rt, nil
}

// New compiles the authz modules and builds an Engine; see Runtime.New.
func New(ctx context.Context, cat *actions.Catalog, atts []Attachment, opts Options) (*Engine, error) {
	rt, err := Prepare(ctx)
	if err != nil {
		return nil, err
	}
	return rt.New(ctx, cat, atts, opts)
}

// New turns the attachments once into the policy set the queries evaluate. Documents IAM
// would reject (bad Effect, malformed actions, unknown operators, unparsable condition
// values, 5.0 identity policies) are errors wrapping ErrInvalidPolicy unless opts.Lenient.
func (rt *Runtime) New(ctx context.Context, cat *actions.Catalog, atts []Attachment, opts Options) (*Engine, error) {
	d, attData, err := readSet(cat, atts, opts)
	if err != nil {
		return nil, err
	}
	return rt.build(ctx, cat, atts, opts, d, attData)
}

// readSet reads the attachments into the policy set's data, refusing what IAM would
// reject (unless opts.Lenient).
func readSet(cat *actions.Catalog, atts []Attachment, opts Options) (*setBuilder, []any, error) {
	if cat == nil {
		return nil, nil, errors.New("authz: nil catalog")
	}
	d := &setBuilder{lenient: opts.Lenient, predOpts: policy.PredicateOptions{AbsentNegated: opts.AbsentNegated}}
	attData := d.attachments(atts)
	if len(d.errs) > 0 {
		return nil, nil, errors.Join(d.errs...)
	}
	return d, attData, nil
}

// build finishes New from the policy set's attachment data. The reference evaluator's
// policy set is built on first use (explanations, actions outside the catalog, a set the
// compiler could not take): an engine that only decides proxy requests never needs it.
func (rt *Runtime) build(ctx context.Context, cat *actions.Catalog, atts []Attachment, opts Options, d *setBuilder, attData []any) (*Engine, error) {
	var err error
	e := &Engine{cat: cat, atts: atts, query: rt.result, notes: d.notes, scopedEPs: map[string]bool{}}
	e.refSet = sync.OnceValues(func() (*ast.Term, error) { return rt.referenceSet(context.WithoutCancel(ctx), cat, attData, opts) })
	if e.cache, err = newDecisionCache(opts.CacheSize); err != nil {
		return nil, err
	}
	e.typed = d.typed
	if e.prog, err = compileEngine(ctx, cat, atts, d.typed); err != nil {
		// The reference evaluator decides alone: slower, never different.
		e.notes = append(e.notes, "the policy set could not be compiled ("+err.Error()+"); decisions use the reference evaluator")
		e.cache = nil
		if _, err := e.refSet(); err != nil {
			return nil, err
		}
	}
	for _, a := range atts {
		if a.Document != nil && a.Document.Family == policy.FamilyRole && len(a.Document.Depends) > 0 {
			e.roleDepends = true
		}
		if a.Scope.Kind == ScopeEnterpriseProject {
			for _, ep := range a.Scope.EnterpriseProjects {
				e.scopedEPs[ep] = true
			}
		}
	}
	if err := e.warm(ctx, opts.Warm); err != nil {
		return nil, fmt.Errorf("warm the decision cache: %w", err)
	}
	return e, nil
}

// referenceSet builds the policy set authz.rego evaluates: the attachments with their
// conditions annotated and the scope and action indexes computed by the same Rego that
// evaluates requests, so the precomputed parts and a request can never disagree.
func (rt *Runtime) referenceSet(ctx context.Context, cat *actions.Catalog, attData []any, opts Options) (*ast.Term, error) {
	set := map[string]any{
		"attachments": attData,
		"options":     map[string]any{"absent_negated": opts.AbsentNegated},
		"by_action":   map[string]any{},
	}
	annotated, err := evalOnce(ctx, rt.annotate, map[string]any{"set": set})
	if err != nil {
		return nil, fmt.Errorf("annotate conditions: %w", err)
	}
	if m, ok := annotated.(map[string]any); ok {
		set = m
	} else {
		return nil, fmt.Errorf("annotate conditions: unexpected %T", annotated)
	}
	si, err := evalOnce(ctx, rt.scopes, map[string]any{"set": set})
	if err != nil {
		return nil, fmt.Errorf("build scope index: %w", err)
	}
	set["scope_index"] = si
	idx, err := evalOnce(ctx, rt.index, map[string]any{"x": indexActions(cat), "set": set})
	if err != nil {
		return nil, fmt.Errorf("build action index: %w", err)
	}
	set["by_action"] = idx
	setValue, err := ast.InterfaceToValue(set)
	if err != nil {
		return nil, fmt.Errorf("convert policy set: %w", err)
	}
	return ast.NewTerm(setValue), nil
}

// warm decides every catalog API (and conditional-action variant) once per project with an
// empty context; the decisions land in the cache (context-dependent ones only record which
// condition keys they read).
func (e *Engine) warm(ctx context.Context, projects []string) error {
	if e.cache == nil {
		return nil
	}
	for _, p := range projects {
		for _, api := range e.cat.APIs() {
			variants := [][]string{api.Actions}
			for _, c := range api.Conditional {
				variants = append(variants, append(append([]string(nil), api.Actions...), c.Action))
			}
			for _, acts := range variants {
				if len(acts) == 0 {
					continue
				}
				if _, err := e.Decide(ctx, Input{Actions: acts, API: api, Project: p}); err != nil {
					return fmt.Errorf("%s in project %s: %w", api.ID, p, err)
				}
			}
		}
	}
	return nil
}

// evalOnce evaluates a prepared query that binds y, once, at load time.
func evalOnce(ctx context.Context, q rego.PreparedEvalQuery, input map[string]any) (any, error) {
	rs, err := q.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, errors.New("index query undefined")
	}
	return rs[0].Bindings["y"], nil
}

// indexActions lists the concrete actions worth indexing: everything the catalog requires
// or depends on, lower-cased.
func indexActions(cat *actions.Catalog) []any {
	var out []any
	for _, a := range cat.NamedActions() {
		if !strings.ContainsAny(a, "*?") {
			out = append(out, strings.ToLower(a))
		}
	}
	return out
}

// EnterpriseProjectScoped reports whether any attachment is scoped to an enterprise
// project, i.e. whether the enterprise project of a request can change a decision.
func (e *Engine) EnterpriseProjectScoped() bool { return len(e.scopedEPs) > 0 }

// Notes returns what the engine noticed while building the policy set (lenient mode, agency policies).
func (e *Engine) Notes() []string { return append([]string(nil), e.notes...) }

// Catalog returns the catalog the engine resolves requests with.
func (e *Engine) Catalog() *actions.Catalog { return e.cat }

// Decide evaluates one request. Any error (bad input, body that cannot be resolved, no API
// for the URL, evaluation failure, cancelled context) comes with an ImplicitDeny decision
// and must be treated as a deny.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	deny := Decision{Effect: ImplicitDeny}
	if err := ctx.Err(); err != nil {
		return deny, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	acts, api, epSupported, notes, err := e.resolve(in)
	if err != nil {
		return deny, err
	}
	deny.API = api
	if len(acts) == 0 {
		d := Decision{Effect: Allow, API: api, Actions: []ActionDecision{}, Notes: append(notes, "no IAM action is required for this API")}
		return d, nil
	}
	var d Decision
	if in.Explain || e.prog == nil || !e.prog.covers(acts) {
		d, err = e.decideReference(ctx, in, acts, epSupported)
	} else {
		d, err = e.decideCompiled(ctx, in, acts, epSupported)
	}
	if err != nil {
		return deny, err
	}
	d.API = api
	if len(notes) > 0 {
		d.Notes = append(append([]string(nil), notes...), d.Notes...)
	}
	return d, nil
}

// decideCompiled decides with the compiled policy set, through the decision cache: the
// key is the request's shape (project, enterprise project, actions) and the truth of
// every condition it checked, so a decision is reused exactly when it must be the same —
// whatever the time, the address or the user, as long as each condition says the same.
func (e *Engine) decideCompiled(ctx context.Context, in Input, acts []string, epSupported bool) (Decision, error) {
	buf := requestBufs.Get().(*requestBuf)
	defer putRequestBuf(buf) // r, backed by buf, is not used past this call
	r := e.prog.newRequest(buf, in, acts, epSupported)
	key := ""
	if e.cache != nil {
		var kb [256]byte
		key = string(appendCacheKey(kb[:0], &r, epSupported, e.scopedEPs))
		if d, ok := e.cache.Get(key); ok {
			d.Cached = true
			return d, nil
		}
	}
	d, err := e.prog.decide(ctx, &r, acts, e.name)
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	d.Notes = e.dependsNotes(d, in)
	if key != "" {
		e.cache.Add(key, d)
	}
	return d, nil
}

// decideReference decides with authz.rego (explanations, and policy sets the compiler
// could not take): uncached.
func (e *Engine) decideReference(ctx context.Context, in Input, acts []string, epSupported bool) (Decision, error) {
	set, err := e.refSet()
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	term, err := opa.EvalTerm(ctx, e.query, buildInput(set, in, acts, epSupported))
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	d, err := e.decode(term, acts)
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	d.Notes = append(d.Notes, e.dependsNotes(d, in)...)
	return d, nil
}

// resolve turns the input into the list of actions to check and the enterprise-project
// support of the API.
func (e *Engine) resolve(in Input) (acts []string, api *actions.API, epSupported bool, notes []string, err error) {
	n := 0
	if in.Action != "" {
		n++
		acts = []string{in.Action}
	}
	if len(in.Actions) > 0 {
		n++
		acts = in.Actions
		api = in.API
	}
	if in.Method != "" && len(in.Actions) == 0 {
		n++
		r, err := e.cat.Match(in.Method, in.URL, in.Body)
		if err != nil {
			return nil, nil, false, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		if !r.Matched {
			return nil, nil, false, nil, fmt.Errorf("%w: %s %s matches no IMS API (%s): %s", ErrBadInput, in.Method, in.URL, r.Reason, r.Detail)
		}
		acts, api = r.Actions, r.API
	}
	if n != 1 && !(n == 2 && in.Action == "" && len(in.Actions) > 0) {
		return nil, nil, false, nil, fmt.Errorf("%w: give exactly one of an action, a list of actions, or a method and URL", ErrBadInput)
	}
	for _, a := range acts {
		if strings.Count(a, ":") != 2 || strings.ContainsAny(a, "*? \t") {
			return nil, nil, false, nil, fmt.Errorf("%w: action %q must be service:resource:operation without wildcards", ErrBadInput, a)
		}
	}
	if api != nil {
		epSupported = api.EnterpriseProject
		if api.EPException != nil && in.URL != "" && epException(api, in.URL) {
			epSupported = false
			notes = append(notes, api.EPException.When)
		}
	}
	if in.APISupportsEP != nil {
		epSupported = *in.APISupportsEP
	}
	return acts, api, epSupported, notes, nil
}

// epException reports whether a request URL is one of the API's enterprise-project
// exceptions (catalog: enterprise_project_exception). A query that cannot be parsed is one:
// only IAM-project grants may allow it.
func epException(api *actions.API, rawURL string) bool {
	_, raw, _ := strings.Cut(rawURL, "?")
	q, err := actions.ParseQuery(raw)
	if err != nil {
		return true
	}
	return api.EPExceptionApplies(q)
}

func buildInput(set *ast.Term, in Input, acts []string, epSupported bool) ast.Value {
	actTerms := make([]*ast.Term, len(acts))
	for i, a := range acts {
		actTerms[i] = ast.StringTerm(strings.ToLower(a))
	}
	ctxObj := ast.NewObject()
	for k, vs := range in.ContextMap() {
		terms := make([]*ast.Term, len(vs))
		for i, v := range vs {
			terms[i] = ast.StringTerm(v)
		}
		key := ast.StringTerm(strings.ToLower(k))
		if prev := ctxObj.Get(key); prev != nil { // keys differing only in case: merge
			if arr, ok := prev.Value.(*ast.Array); ok {
				merged := make([]*ast.Term, 0, arr.Len()+len(terms))
				arr.Foreach(func(t *ast.Term) { merged = append(merged, t) })
				terms = append(merged, terms...)
			}
		}
		ctxObj.Insert(key, ast.ArrayTerm(terms...))
	}
	obj := ast.NewObject(
		ast.Item(ast.StringTerm("set"), set),
		ast.Item(ast.StringTerm("actions"), ast.ArrayTerm(actTerms...)),
		ast.Item(ast.StringTerm("project"), ast.StringTerm(in.Project)),
		ast.Item(ast.StringTerm("enterprise_project_id"), ast.StringTerm(in.EnterpriseProjectID)),
		ast.Item(ast.StringTerm("ep_supported"), ast.BooleanTerm(epSupported)),
		ast.Item(ast.StringTerm("ep_unknown"), ast.BooleanTerm(in.EnterpriseProjectUnknown)),
		ast.Item(ast.StringTerm("context"), ast.NewTerm(ctxObj)),
		ast.Item(ast.StringTerm("explain"), ast.BooleanTerm(in.Explain)),
		ast.Item(ast.StringTerm("resource"), ast.StringTerm(in.Resource)),
	)
	return obj
}
