package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/decisionlog"
)

// Candidates are the policies requests are decided with: Set for every principal (policy
// files), or per principal (a configuration's principals). A principal of the log that
// Principals does not name has no policies: all its requests are denied.
type Candidates struct {
	Set        []authz.Attachment
	Principals map[string][]authz.Attachment
}

// Options tune a Replayer.
type Options struct {
	// AbsentNegated and Lenient are the engine options ([engine] of the configuration).
	AbsentNegated, Lenient bool
	// Project decides requests logged without one (logs written before the proxy
	// logged it); "" is ae-ad-1.
	Project string
}

// Outcome is the new answer for a request.
type Outcome string

// Outcomes: the engine's effects, and Undetermined when the log lacks what the decision
// needs.
const (
	Allow        Outcome = "Allow"
	ImplicitDeny Outcome = "ImplicitDeny"
	ExplicitDeny Outcome = "ExplicitDeny"
	Undetermined Outcome = "Undetermined"
)

// Replayer decides entries with candidate policies and collects the results (Report) and
// what was used (Unused).
type Replayer struct {
	cat   *actions.Catalog
	opts  Options
	cands Candidates
	rt    *authz.Runtime
	// engines per principal ("" for Set); a nil engine: no policies
	engines map[string]*engine
	report  *Report
	usage   map[string]*usage
}

// engine is one compiled policy set with what the replay needs to know about it.
type engine struct {
	e           *authz.Engine
	atts        []authz.Attachment
	epScoped    bool
	identityKey bool // some condition reads g:UserName, g:UserId or g:DomainName
}

// identityKeys are the condition keys a token request has that the log does not carry.
var identityKeys = map[string]bool{"g:username": true, "g:userid": true, "g:domainname": true}

// New prepares the engines of the candidates.
func New(ctx context.Context, cat *actions.Catalog, cands Candidates, opts Options) (*Replayer, error) {
	if cat == nil {
		return nil, errors.New("replay: nil catalog")
	}
	if opts.Project == "" {
		opts.Project = "ae-ad-1"
	}
	rt, err := authz.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	r := &Replayer{cat: cat, opts: opts, cands: cands, rt: rt, engines: map[string]*engine{}, report: newReport(), usage: map[string]*usage{}}
	if cands.Principals == nil {
		if r.engines[""], err = r.build(ctx, cands.Set); err != nil {
			return nil, err
		}
	}
	for name, atts := range cands.Principals {
		if r.engines[name], err = r.build(ctx, atts); err != nil {
			return nil, fmt.Errorf("principal %s: %w", name, err)
		}
	}
	return r, nil
}

func (r *Replayer) build(ctx context.Context, atts []authz.Attachment) (*engine, error) {
	e, err := r.rt.New(ctx, r.cat, atts, authz.Options{AbsentNegated: r.opts.AbsentNegated, Lenient: r.opts.Lenient})
	if err != nil {
		return nil, err
	}
	x := &engine{e: e, atts: atts, epScoped: e.EnterpriseProjectScoped()}
	for _, a := range atts {
		if a.Document == nil {
			continue
		}
		for _, s := range a.Document.Statements {
			for _, c := range s.Condition {
				x.identityKey = x.identityKey || identityKeys[strings.ToLower(c.Key)]
			}
		}
	}
	return x, nil
}

// engineOf returns the engine deciding principal p, nil when p has no policies.
func (r *Replayer) engineOf(p string) *engine {
	if r.cands.Principals == nil {
		return r.engines[""]
	}
	return r.engines[p]
}

// Add decides one entry again. Entries that never reached the policies (identity, query,
// body failures, no API) are counted and skipped.
func (r *Replayer) Add(ctx context.Context, e *decisionlog.Entry) error {
	r.report.Summary.Requests++
	api, ok := r.cat.API(e.API)
	if !e.Decidable() || !ok {
		r.report.Summary.NotDecided++
		return nil
	}
	if len(e.Actions) == 0 {
		r.report.Summary.NoAction++
		return nil
	}
	r.report.Summary.Replayed++
	x := r.engineOf(e.Principal)
	var res result
	if x == nil {
		res = result{outcome: ImplicitDeny, denied: e.Actions, why: "the principal is not in the configuration"}
	} else {
		var err error
		if res, err = r.decide(ctx, x, api, e); err != nil {
			return fmt.Errorf("decide %s:%d: %w", e.File, e.Line, err)
		}
		r.use(e, api, x, res)
	}
	r.report.add(e, api, res)
	return nil
}

// result is one request decided again.
type result struct {
	outcome Outcome
	denied  []string
	why     string
	// matched are the statements that matched each required action, over every reading
	matched []authz.ActionDecision
}

// decide decides e with x. What the log does not say becomes readings: every
// enterprise-project fact of the request must be allowed (as the proxy decides), and a
// fact the log does not name is read as unknown, the most restrictive reading, which
// only proves an Allow; a request of an API with enterprise-project exceptions may have
// been one (the query is not logged), so both alternatives are decided and must agree.
func (r *Replayer) decide(ctx context.Context, x *engine, api *actions.API, e *decisionlog.Entry) (result, error) {
	project := e.Project
	if project == "" {
		project = r.opts.Project
		r.report.Summary.NoProject++
	}
	c := map[string][]string{
		"g:CurrentTime": {e.Time.UTC().Truncate(time.Second).Format(time.RFC3339)},
		"g:ProjectName": {project},
	}
	if e.SourceIP != "" {
		c["g:SourceIp"] = []string{e.SourceIP}
	}
	base := authz.Input{Actions: e.Actions, API: api, Project: project, Context: c}
	var res result
	var outs []alternative
	for _, alt := range alternatives(x, api, e, base) {
		var out alternative
		out.why = alt.why
		for _, rd := range alt.facts {
			d, err := x.e.Decide(ctx, rd.Input)
			if err != nil {
				return res, err
			}
			if x.identityKey && e.Auth == "token" {
				ex := rd.Input
				ex.Explain = true
				dx, err := x.e.Decide(ctx, ex)
				if err != nil {
					return res, err
				}
				if keys := identityMissing(dx.MissingKeys); len(keys) > 0 {
					return result{outcome: Undetermined, denied: e.Actions, matched: d.Actions,
						why: "the decision reads " + strings.Join(keys, ", ") + ", which the log does not carry"}, nil
				}
			}
			res.matched = append(res.matched, d.Actions...)
			out.add(d, rd.uncertain)
		}
		for _, a := range out.denied {
			if !slices.Contains(res.denied, a) {
				res.denied = append(res.denied, a)
			}
		}
		outs = append(outs, out)
	}
	res.outcome, res.why = agree(outs)
	if res.outcome == Allow {
		res.denied = nil
	}
	return res, nil
}

// reading is one enterprise-project fact of a request as an input, and why its deny may
// not hold ("" when the input is what the proxy decided with).
type reading struct {
	authz.Input
	uncertain string
}

// alt is one alternative of what the request was: its facts, all of which must allow.
type alt struct {
	facts []reading
	why   string // what the alternative assumes, "" for the plain one
}

// alternatives lists what the request may have been.
func alternatives(x *engine, api *actions.API, e *decisionlog.Entry, base authz.Input) []alt {
	if !x.epScoped || !api.EnterpriseProject {
		return []alt{{facts: []reading{{Input: base}}}}
	}
	var facts []reading
	logged := e.EPFacts()
	switch {
	case len(api.EnterpriseProjectOf) == 0:
		in := base
		in.EnterpriseProjectUnknown = true // the API never establishes one: as the proxy decides it
		facts = append(facts, reading{Input: in})
	case len(logged) == 0:
		in := base
		in.EnterpriseProjectUnknown = true
		facts = append(facts, reading{Input: in, uncertain: "the log does not say which enterprise project the request was in (its principal had no enterprise-project grant when it was logged)"})
	default:
		for _, f := range logged {
			rd := reading{Input: base}
			switch {
			case f.ID != "":
				rd.EnterpriseProjectID = f.ID
			case f.Other:
				rd.EnterpriseProjectUnknown = true
				rd.uncertain = "the request was in an enterprise project the log does not name"
			case f.Source == string(actions.EPImage):
				// The proxy looks an image up only when the decision needs it: with other
				// policies it may have established this one.
				rd.EnterpriseProjectUnknown = true
				rd.uncertain = "the image's enterprise project was not established when the request was logged"
			default:
				rd.EnterpriseProjectUnknown = true // the request names none: as the proxy decided it
			}
			facts = append(facts, rd)
		}
	}
	alts := []alt{{facts: facts}}
	if api.EPException != nil {
		ex := make([]reading, len(facts))
		no := false
		for i, rd := range facts {
			rd.APISupportsEP = &no
			ex[i] = rd
		}
		alts = append(alts, alt{facts: ex, why: "the request may have been " + api.EPException.When + " (the query is not logged)"})
	}
	return alts
}

// alternative is the decision of one alternative: Allow, a deny that holds (effect), or
// undetermined (only readings that may not hold deny).
type alternative struct {
	allow     bool
	effect    authz.Effect // the worst deny of a reading that holds
	uncertain string       // why, when only readings that may not hold deny
	denied    []string
	why       string
	started   bool
}

func (a *alternative) add(d authz.Decision, uncertain string) {
	if !a.started {
		a.allow, a.started = true, true
	}
	if d.Effect == authz.Allow {
		return
	}
	a.allow = false
	for _, x := range d.Actions {
		if x.Effect != authz.Allow && !slices.Contains(a.denied, x.Action) {
			a.denied = append(a.denied, x.Action)
		}
	}
	if uncertain != "" {
		if a.uncertain == "" {
			a.uncertain = uncertain
		}
		return
	}
	if a.effect == "" || d.Effect == authz.ExplicitDeny {
		a.effect = d.Effect
	}
}

// outcome of one alternative.
func (a alternative) outcome() (Outcome, string) {
	switch {
	case a.allow:
		return Allow, ""
	case a.effect != "":
		return Outcome(a.effect), ""
	default:
		return Undetermined, a.uncertain
	}
}

// agree combines the alternatives: one answer when they agree, Undetermined otherwise.
func agree(outs []alternative) (Outcome, string) {
	first, why := outs[0].outcome()
	for _, o := range outs[1:] {
		got, w := o.outcome()
		if got == first {
			continue
		}
		if got == Undetermined {
			return Undetermined, w
		}
		if first == Undetermined {
			return Undetermined, why
		}
		if first != Allow && got != Allow { // two denies: the more severe
			if got == ExplicitDeny {
				first = got
			}
			continue
		}
		return Undetermined, o.why
	}
	return first, why
}

func identityMissing(keys []string) []string {
	var out []string
	for _, k := range keys {
		if identityKeys[strings.ToLower(k)] {
			out = append(out, k)
		}
	}
	return out
}
