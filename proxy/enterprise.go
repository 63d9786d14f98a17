package proxy

import (
	"context"
	"net/http"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
)

// epFacts are the enterprise projects a request was decided in, for the decision log and
// the denial message.
type epFacts struct {
	facts  []actions.EPFact
	scoped map[string]bool // the principal's enterprise projects: the only ids ever logged
	err    error           // why a lookup failed, for the log (no secret in it)
}

// unestablished says why enterprise-project grants could not count, "" when every fact
// was established.
func (f epFacts) unestablished() string {
	var why []string
	for _, x := range f.facts {
		if !x.Established() && x.Why != "" {
			why = append(why, x.Why)
		}
	}
	return strings.Join(why, "; ")
}

// logValues renders the facts as "source=id": ids no attachment names are "other" (they
// came from the request and are not configuration), unknown ones "?".
func (f epFacts) logValues() []string {
	if len(f.facts) == 0 {
		return nil
	}
	out := make([]string, len(f.facts))
	for i, x := range f.facts {
		v := "?"
		switch {
		case !x.Established():
		case f.scoped[x.ID]:
			v = x.ID
		default:
			v = "other"
		}
		out[i] = string(x.Source) + "=" + v
	}
	return out
}

// decideInScope decides a request for principal p, establishing the enterprise project
// where it can change the decision: an API that honours enterprise-project grants, and a
// principal holding some. Only facts count (the catalog's enterprise_project_of: the list
// filter, the body of a create, the looked-up image), never what a client merely claims;
// every fact must be allowed. An unestablished one lets no enterprise-project grant allow
// the request and applies every enterprise-project Deny. Images are looked up only when
// the decision without their enterprise project is not already an Allow (which no
// enterprise project could turn into a deny).
func decideInScope(ctx context.Context, s *Snapshot, p *Principal, res *actions.Result, in authz.Input, bb *bodyBuffer) (authz.Decision, epFacts, *denial, error) {
	if !res.API.EnterpriseProject || len(p.scopedEPs) == 0 {
		d, err := decideLimited(ctx, s, p, in)
		return d, epFacts{}, nil, err
	}
	var body []byte
	if res.API.EPNeedsBody() {
		b, d := bb.get()
		if d != nil {
			return authz.Decision{}, epFacts{}, d, nil
		}
		body = b
	}
	facts, err := res.EnterpriseProjectFacts(body)
	if err != nil {
		return authz.Decision{}, epFacts{}, &denial{status: http.StatusBadRequest, reason: reasonBody,
			msg: "the enterprise project of the request cannot be read from its body: " + err.Error(), err: err}, nil
	}
	ef := epFacts{facts: facts, scoped: p.scopedEPs}
	dec, err := decideFacts(ctx, s, p, in, facts)
	if err != nil || dec.Effect == authz.Allow {
		return dec, ef, nil, err
	}
	looked := false
	for i, f := range facts {
		if f.Source != actions.EPImage {
			continue
		}
		if s.eps == nil {
			facts[i].Why = "the image's enterprise project is not established ([enterprise_project_lookup] is not configured)"
			continue
		}
		ep, lerr := s.eps.lookup(ctx, f.ImageID)
		if lerr != nil {
			facts[i].Why = "the image's enterprise project could not be looked up"
			ef.err = lerr
			continue
		}
		facts[i].ID, facts[i].Why = ep.id, ep.why
		looked = looked || ep.id != ""
	}
	if looked {
		dec, err = decideFacts(ctx, s, p, in, facts)
	}
	return dec, ef, nil, err
}

// decideFacts decides in for p once per fact (no fact: once with the enterprise project
// unknown) and returns the most restrictive decision.
func decideFacts(ctx context.Context, s *Snapshot, p *Principal, in authz.Input, facts []actions.EPFact) (authz.Decision, error) {
	if len(facts) == 0 {
		in.EnterpriseProjectUnknown = true
		return decideLimited(ctx, s, p, in)
	}
	var worst authz.Decision
	cached := true
	for i, f := range facts {
		x := in
		if f.Established() {
			x.EnterpriseProjectID = f.ID
		} else {
			x.EnterpriseProjectUnknown = true
		}
		d, err := decideLimited(ctx, s, p, x)
		if err != nil {
			return d, err
		}
		cached = cached && d.Cached
		if i == 0 || severity(d.Effect) > severity(worst.Effect) {
			worst = d
		}
	}
	worst.Cached = cached
	return worst, nil
}

// severity orders effects: Allow < ImplicitDeny < ExplicitDeny; anything else is the most
// severe (fail closed).
func severity(e authz.Effect) int {
	switch e {
	case authz.Allow:
		return 0
	case authz.ImplicitDeny:
		return 1
	case authz.ExplicitDeny:
		return 2
	}
	return 3
}
