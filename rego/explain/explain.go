package explain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/authz"
)

// Status is what a policy set grants for an API or an action, independent of any request
// context.
type Status string

// The explain statuses, from narrowest to widest.
const (
	// StatusDenied: no request gets through (an unconditional Deny, or nothing allows it).
	StatusDenied Status = "Denied"
	// StatusConditional: the answer depends on the request (a Condition or Resource of a
	// statement that could decide it, or, for an API, on the request body).
	StatusConditional Status = "Conditional"
	// StatusAllowed: allowed whatever the request context.
	StatusAllowed Status = "Allowed"
)

// rank orders statuses from narrowest to widest access.
func (s Status) rank() int {
	switch s {
	case StatusAllowed:
		return 2
	case StatusConditional:
		return 1
	default:
		return 0
	}
}

// Options select the request the policies are explained for.
type Options struct {
	// Project is the project requests are scoped to (default "ae-ad-1"). The policies are
	// attached to all projects unless EnterpriseProject is set.
	Project string
	// EnterpriseProject, when set, attaches the policies on this enterprise project and
	// makes every request name it: APIs without enterprise-project support are denied.
	EnterpriseProject string
	// Lenient evaluates documents IAM would reject, fail-safe, instead of refusing them.
	Lenient bool
	// AbsentNegated is the engine option of that name (negated operators true on an
	// absent key).
	AbsentNegated bool
	// Runtime, when set, is the compiled authz queries to reuse (see Prepare); nil
	// compiles them.
	Runtime *authz.Runtime
}

// Explanation is what a set of policies, attached together, grants on every IMS API and
// every IMS action.
type Explanation struct {
	Project           string              `json:"project"`
	EnterpriseProject string              `json:"enterprise_project,omitempty"`
	Policies          []string            `json:"policies"`
	APIs              []APIExplanation    `json:"apis"`
	Actions           []ActionExplanation `json:"actions"`
	Notes             []string            `json:"notes,omitempty"`
	Summary           map[Status]int      `json:"summary"`
	byID              map[string]*APIExplanation
}

// APIExplanation is the status of one API: the widest of its variants when they agree,
// Conditional when they differ (the body decides).
type APIExplanation struct {
	ID         string               `json:"id"`
	Section    string               `json:"section"`
	Title      string               `json:"title"`
	Method     string               `json:"method"`
	Path       string               `json:"path"`
	Family     string               `json:"family"`
	Deprecated bool                 `json:"deprecated"`
	Status     Status               `json:"status"`
	Reason     string               `json:"reason"`
	Variants   []VariantExplanation `json:"variants"`
}

// VariantExplanation is one set of actions an API may require (one per request-body case
// for 5.1.2, 5.1.4 and 5.3.1; one otherwise).
type VariantExplanation struct {
	// When describes the request bodies of this variant, "" when the API has one variant.
	When    string              `json:"when,omitempty"`
	Status  Status              `json:"status"`
	Reason  string              `json:"reason"`
	Actions []ActionExplanation `json:"actions"`
}

// ActionExplanation is the status of one action and the statements that decide it.
type ActionExplanation struct {
	Action string `json:"action"`
	Status Status `json:"status"`
	// Allow and Deny are the statements that allow or deny the action whatever the request;
	// Conditional the statements whose Condition (or Resource) decides it per request.
	Allow       []authz.StatementRef `json:"allow,omitempty"`
	Deny        []authz.StatementRef `json:"deny,omitempty"`
	Conditional []authz.StatementRef `json:"conditional,omitempty"`
	// Skipped are attachments that do not apply (e.g. enterprise-project grants on an API
	// without enterprise-project support).
	Skipped     []authz.Skip `json:"skipped,omitempty"`
	ContextKeys []string     `json:"context_keys,omitempty"`
}

// ErrNothingToExplain is returned by Attach when no file holds a policy document.
var ErrNothingToExplain = errors.New("no policy documents to explain")

// Attach turns parsed files into attachments for Explain: every document of every file,
// attached to all projects or, when enterpriseProject is set, on that enterprise project.
// Files with JSON problems are errors (lint them first).
func Attach(files []*policy.File, enterpriseProject string) ([]authz.Attachment, error) {
	scope := authz.Scope{Kind: authz.ScopeAllProjects}
	if enterpriseProject != "" {
		scope = authz.Scope{Kind: authz.ScopeEnterpriseProject, EnterpriseProjects: []string{enterpriseProject}}
	}
	atts, err := AttachScope(files, scope)
	if err != nil {
		return nil, err
	}
	if len(atts) == 0 {
		return nil, ErrNothingToExplain
	}
	return atts, nil
}

// AttachScope attaches every document of every file in scope, named after its file (and
// its JSON pointer when a file holds several). Files with JSON problems are errors; no
// documents at all is no error.
func AttachScope(files []*policy.File, scope authz.Scope) ([]authz.Attachment, error) {
	var atts []authz.Attachment
	var errs []error
	for _, f := range files {
		for _, p := range f.Problems {
			if p.Code == policy.CodeJSON {
				errs = append(errs, fmt.Errorf("policy %s:%s: %s (run imsguard lint %s)", f.Name, p.Pos, p.Message, f.Name))
			}
		}
		for _, d := range f.Documents {
			name := f.Name
			if len(f.Documents) > 1 && d.Root != nil {
				name = f.Name + "#" + d.Root.Pointer
			}
			atts = append(atts, authz.Attachment{Name: name, Document: d, Scope: scope})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return atts, nil
}

// Explain evaluates every API of the catalog, and every IMS action, against the
// attachments (see Attach) with the decision engine, without request context. Actions are
// evaluated on their own as for an API that honours enterprise-project grants.
func Run(ctx context.Context, cat *actions.Catalog, atts []authz.Attachment, opts Options) (*Explanation, error) {
	if opts.Project == "" {
		opts.Project = "ae-ad-1"
	}
	eopts := authz.Options{Lenient: opts.Lenient, AbsentNegated: opts.AbsentNegated, CacheSize: -1}
	var e *authz.Engine
	var err error
	if opts.Runtime != nil {
		e, err = opts.Runtime.New(ctx, cat, atts, eopts)
	} else {
		e, err = authz.New(ctx, cat, atts, eopts)
	}
	if err != nil {
		return nil, fmt.Errorf("explain: %w (run imsguard lint on the policies, or pass --lenient)", err)
	}
	x := &Explanation{Project: opts.Project, EnterpriseProject: opts.EnterpriseProject, Notes: e.Notes(),
		Summary: map[Status]int{}, byID: map[string]*APIExplanation{}}
	for _, a := range atts {
		x.Policies = append(x.Policies, a.Name)
	}
	for _, api := range cat.APIs() {
		ae := APIExplanation{ID: api.ID, Section: api.Section, Title: api.Title, Method: api.Method, Path: api.Path,
			Family: string(api.Family), Deprecated: api.Deprecated}
		vs := apiVariants(api)
		if api.EPException != nil && opts.EnterpriseProject != "" {
			// Under an enterprise-project grant, the API's exceptions (5.1.1: shared-image
			// queries) are decided by IAM-project grants alone.
			vs = append(vs, variant{when: api.EPException.When, actions: api.Actions, epException: true})
			if vs[0].when == "" {
				vs[0].when = "any other request"
			}
		}
		for _, v := range vs {
			ve, err := explainVariant(ctx, e, api, v, opts)
			if err != nil {
				return nil, err
			}
			ae.Variants = append(ae.Variants, ve)
		}
		ae.Status, ae.Reason = combineVariants(ae.Variants)
		x.Summary[ae.Status]++
		x.APIs = append(x.APIs, ae)
	}
	for i := range x.APIs {
		x.byID[x.APIs[i].ID] = &x.APIs[i]
	}
	epAPI := true // actions on their own: as for an API that honours enterprise projects
	for _, a := range cat.ServiceActions() {
		d, err := e.Decide(ctx, authz.Input{Action: a, Project: opts.Project, EnterpriseProjectID: opts.EnterpriseProject, APISupportsEP: &epAPI, Explain: true})
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", a, err)
		}
		x.Actions = append(x.Actions, actionExplanation(d.Actions[0], d))
	}
	return x, nil
}

// API returns the explanation of one API by id.
func (x *Explanation) API(id string) (*APIExplanation, bool) {
	a, ok := x.byID[id]
	return a, ok
}

// variant is one action set an API may require.
type variant struct {
	when        string
	actions     []string
	epException bool // enterprise-project grants do not apply (catalog exception)
}

// apiVariants lists the action sets of an API: one per alternative of a body_field_in
// rule (5.1.4), or the plain set plus one per conditional action (5.1.2, 5.3.1).
func apiVariants(api *actions.API) []variant {
	if len(api.Conditional) == 0 {
		return []variant{{actions: api.Actions}}
	}
	exclusive := true
	for _, c := range api.Conditional {
		exclusive = exclusive && c.Rule.Kind == actions.RuleBodyFieldIn && c.Rule.Field == api.Conditional[0].Rule.Field
	}
	var out []variant
	if !exclusive {
		out = append(out, variant{when: "any other request", actions: api.Actions})
	}
	for _, c := range api.Conditional {
		acts := append(slices.Clone(api.Actions), c.Action)
		out = append(out, variant{when: strings.TrimPrefix(strings.TrimPrefix(c.When, "only "), "when "), actions: acts})
	}
	return out
}

func explainVariant(ctx context.Context, e *authz.Engine, api *actions.API, v variant, opts Options) (VariantExplanation, error) {
	ve := VariantExplanation{When: v.when, Actions: []ActionExplanation{}}
	if len(v.actions) == 0 {
		ve.Status, ve.Reason = StatusAllowed, "no IAM action is required"
		return ve, nil
	}
	in := authz.Input{Actions: v.actions, API: api, Project: opts.Project, EnterpriseProjectID: opts.EnterpriseProject, Explain: true}
	if v.epException {
		no := false
		in.APISupportsEP = &no
	}
	d, err := e.Decide(ctx, in)
	if err != nil {
		return ve, fmt.Errorf("explain %s %s: %w", api.Section, api.ID, err)
	}
	for _, ad := range d.Actions {
		ve.Actions = append(ve.Actions, actionExplanation(ad, d))
	}
	ve.Status, ve.Reason = combineActions(ve.Actions)
	return ve, nil
}

// actionExplanation classifies one action decision: Denied when an unconditional Deny
// decides it, Conditional when a statement with a Condition or Resource could, otherwise
// the engine's answer.
func actionExplanation(ad authz.ActionDecision, d authz.Decision) ActionExplanation {
	x := ActionExplanation{Action: ad.Action, Conditional: ad.Conditional, Skipped: d.Skipped, ContextKeys: d.MissingKeys}
	cond := map[[2]int]bool{}
	for _, c := range ad.Conditional {
		cond[[2]int{c.Attachment, c.Statement}] = true
	}
	for _, m := range ad.Matched {
		if cond[[2]int{m.Attachment, m.Statement}] {
			continue
		}
		if m.Effect == "Deny" {
			x.Deny = append(x.Deny, m)
		} else {
			x.Allow = append(x.Allow, m)
		}
	}
	switch {
	case len(x.Deny) > 0:
		x.Status = StatusDenied
	case len(x.Conditional) > 0:
		x.Status = StatusConditional
	case ad.Effect == authz.Allow:
		x.Status = StatusAllowed
	default:
		x.Status = StatusDenied
	}
	return x
}

// combineActions: any action denied denies the variant; any conditional makes it
// conditional. The reason names the deciding statements.
func combineActions(acts []ActionExplanation) (Status, string) {
	status := StatusAllowed
	for _, a := range acts {
		if a.Status.rank() < status.rank() {
			status = a.Status
		}
	}
	var why []string
	for _, a := range acts {
		if a.Status != status {
			continue
		}
		why = append(why, a.reason())
	}
	return status, strings.Join(why, "; ")
}

// reason says why an action has its status.
func (a ActionExplanation) reason() string {
	switch {
	case a.Status == StatusDenied && len(a.Deny) > 0:
		return fmt.Sprintf("%s denied by %s", a.Action, refsText(a.Deny))
	case a.Status == StatusDenied && len(a.Skipped) > 0:
		return fmt.Sprintf("%s not allowed: %s", a.Action, skipsText(a.Skipped))
	case a.Status == StatusDenied:
		return fmt.Sprintf("no statement allows %s", a.Action)
	case a.Status == StatusConditional:
		keys := ""
		if len(a.ContextKeys) > 0 {
			keys = " (" + strings.Join(a.ContextKeys, ", ") + ")"
		}
		return fmt.Sprintf("%s depends on the conditions of %s%s", a.Action, refsText(a.Conditional), keys)
	default:
		return fmt.Sprintf("%s allowed by %s", a.Action, refsText(a.Allow))
	}
}

// combineVariants: the variants' common status, or Conditional when they differ.
func combineVariants(vs []VariantExplanation) (Status, string) {
	if len(vs) == 1 {
		return vs[0].Status, vs[0].Reason
	}
	same := true
	for _, v := range vs[1:] {
		same = same && v.Status == vs[0].Status
	}
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("%s (%s)", v.Status, v.When))
	}
	if same {
		return vs[0].Status, strings.Join(parts, "; ")
	}
	return StatusConditional, "depends on the request body: " + strings.Join(parts, "; ")
}

func refsText(refs []authz.StatementRef) string {
	var parts []string
	for _, r := range refs {
		parts = append(parts, fmt.Sprintf("%s statement %d (%s)", r.Policy, r.Statement, r.Effect))
	}
	return strings.Join(parts, ", ")
}

func skipsText(skips []authz.Skip) string {
	var parts []string
	for _, s := range skips {
		parts = append(parts, fmt.Sprintf("%s is %s", s.Policy, s.Reason))
	}
	return strings.Join(parts, "; ")
}
