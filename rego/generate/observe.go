package generate

import (
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/decisionlog"
)

// Counts say what became of a principal's requests in the window.
type Counts struct {
	// Requests counts the principal's decision lines.
	Requests int `json:"requests"`
	// Granted counts the requests whose actions are granted: Accepted plus Denied.
	Granted int `json:"granted"`
	// Accepted counts requests IMS accepted (forwarded, 2xx).
	Accepted int `json:"accepted"`
	// Denied counts requests enforce mode refused, granted because of IncludeDenied.
	Denied int `json:"denied_included"`
	// DeniedSkipped counts requests enforce mode refused, not granted (no IncludeDenied).
	DeniedSkipped int `json:"denied_skipped"`
	// NotAccepted counts forwarded requests IMS refused (non-2xx) or did not answer.
	NotAccepted int `json:"not_accepted"`
	// NotDecided counts requests refused before the policies decided (identity, query,
	// body): they say nothing about the permissions needed.
	NotDecided int `json:"not_decided"`
	// NoAction counts accepted requests of APIs that need no IAM action.
	NoAction int `json:"no_action"`
	// UnknownAPI counts requests whose API or actions this catalog does not know.
	UnknownAPI int `json:"unknown_api"`
}

// APIUse is one API a principal used.
type APIUse struct {
	ID      string `json:"id"`
	Section string `json:"section"`
	Title   string `json:"title"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	// Requests counts the requests granted from; FromDenied those among them that
	// enforce mode had refused (IncludeDenied).
	Requests   int       `json:"requests"`
	FromDenied int       `json:"from_denied,omitempty"`
	First      time.Time `json:"first_seen"`
	Last       time.Time `json:"last_seen"`
	// Actions are the actions the requests required, body-dependent ones included.
	Actions []string `json:"actions"`
	// Statuses counts IMS's answers ("200") and enforce's refusals ("denied").
	Statuses map[string]int `json:"statuses"`

	api      *actions.API
	variants []variant
}

// usage is what one principal did.
type usage struct {
	principal string
	counts    Counts
	apis      map[string]*APIUse
	first     time.Time
	last      time.Time
	projects  map[string]int
	noProject int
	sources   map[netip.Addr]int
	noSource  int
	// enterprise projects: the ids of the granted requests, and why some request cannot
	// be granted through an enterprise project (empty: every one can)
	eps     map[string]int
	epWhy   map[string]int
	unknown map[string]int // API id → requests naming actions the catalog does not list
}

// Observer collects decision-log entries per principal. It is not safe for concurrent use.
type Observer struct {
	cat           *actions.Catalog
	vars          []variant
	includeDenied bool
	byPrincipal   map[string]*usage
}

// NewObserver returns an Observer; includeDenied also grants what enforce mode denied.
func NewObserver(cat *actions.Catalog, includeDenied bool) *Observer {
	return &Observer{cat: cat, vars: variants(cat), includeDenied: includeDenied, byPrincipal: map[string]*usage{}}
}

// Principals returns the identified principals seen, sorted.
func (o *Observer) Principals() []string {
	var out []string
	for p := range o.byPrincipal {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Add takes one entry into account. Entries of unidentified callers are ignored.
func (o *Observer) Add(e *decisionlog.Entry) {
	if e.Principal == "" {
		return
	}
	u := o.byPrincipal[e.Principal]
	if u == nil {
		u = &usage{principal: e.Principal, apis: map[string]*APIUse{}, projects: map[string]int{}, sources: map[netip.Addr]int{},
			eps: map[string]int{}, epWhy: map[string]int{}, unknown: map[string]int{}}
		o.byPrincipal[e.Principal] = u
	}
	u.counts.Requests++
	if !e.Decidable() {
		u.counts.NotDecided++
		return
	}
	denied := false
	switch {
	case e.Accepted():
	case e.DeniedByPolicy() && !e.Forwarded && e.Enforced:
		if !o.includeDenied {
			u.counts.DeniedSkipped++
			return
		}
		denied = true
	default:
		u.counts.NotAccepted++
		return
	}
	api, ok := o.cat.API(e.API)
	if !ok || !knownActions(api, e.Actions) {
		u.counts.UnknownAPI++
		u.unknown[e.API]++
		return
	}
	if len(api.AllActions()) == 0 {
		u.counts.NoAction++
		return
	}
	u.counts.Granted++
	if denied {
		u.counts.Denied++
	} else {
		u.counts.Accepted++
	}
	a := u.apis[api.ID]
	if a == nil {
		a = &APIUse{ID: api.ID, Section: api.Section, Title: api.Title, Method: api.Method, Path: api.Path,
			Statuses: map[string]int{}, api: api, First: e.Time, Last: e.Time}
		u.apis[api.ID] = a
	}
	a.Requests++
	if denied {
		a.FromDenied++
		a.Statuses["denied"]++
	} else {
		a.Statuses[strconv.Itoa(e.UpstreamStatus)]++
	}
	a.First, a.Last = minTime(a.First, e.Time), maxTime(a.Last, e.Time)
	u.first, u.last = minTime(u.first, e.Time), maxTime(u.last, e.Time)
	for _, act := range append(append([]string(nil), api.Actions...), e.Actions...) {
		if !containsFold(a.Actions, act) {
			a.Actions = append(a.Actions, act)
		}
	}
	for _, v := range variantsOf(o.vars, api, e.Actions) {
		if !slices.ContainsFunc(a.variants, func(x variant) bool { return x.cond == v.cond }) {
			a.variants = append(a.variants, v)
		}
	}
	if e.Project != "" {
		u.projects[e.Project]++
	} else {
		u.noProject++
	}
	if ip, err := netip.ParseAddr(e.SourceIP); err == nil {
		u.sources[ip.Unmap()]++
	} else {
		u.noSource++
	}
	u.observeEP(api, e)
}

// observeEP records whether the request could be granted through an enterprise project:
// an API that honours enterprise-project grants for every request, decided in
// enterprise projects the log names.
func (u *usage) observeEP(api *actions.API, e *decisionlog.Entry) {
	switch {
	case !api.EnterpriseProject:
		u.epWhy[api.Section+" ignores enterprise-project grants"]++
		return
	case len(api.EnterpriseProjectOf) == 0:
		u.epWhy[api.Section+" never establishes an enterprise project (only IAM-project grants allow it)"]++
		return
	case api.EPException != nil:
		u.epWhy[api.Section+" honours only IAM-project grants for some requests ("+api.EPException.When+")"]++
		return
	}
	facts := e.EPFacts()
	if len(facts) == 0 {
		u.epWhy["the log names no enterprise project for some requests (their principal had no enterprise-project grant when they were logged)"]++
		return
	}
	for _, f := range facts {
		switch {
		case f.ID != "":
			u.eps[f.ID]++
		case f.Other:
			u.epWhy["some requests were in enterprise projects the log does not name (no attachment of the principal named them)"]++
			return
		default:
			u.epWhy["the enterprise project of some requests was not established"]++
			return
		}
	}
}

// knownActions reports whether every logged action is one the API may require.
func knownActions(api *actions.API, logged []string) bool {
	all := api.AllActions()
	for _, a := range logged {
		if !containsFold(all, a) {
			return false
		}
	}
	return true
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sortedAPIs returns the APIs used, in section order.
func (u *usage) sortedAPIs() []*APIUse {
	out := make([]*APIUse, 0, len(u.apis))
	for _, a := range u.apis {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return sectionLess(out[i].Section, out[j].Section) })
	return out
}

// sectionLess orders "5.1.10" after "5.1.9".
func sectionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errx := strconv.Atoi(as[i])
		y, erry := strconv.Atoi(bs[i])
		if errx != nil || erry != nil {
			if as[i] != bs[i] {
				return as[i] < bs[i]
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}
