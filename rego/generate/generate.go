package generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/lint"
)

// Options configure Generate. The zero value collapses exactly, suggests no condition and
// lints with the strict limits.
type Options struct {
	// Collapse is CollapseExact ("" too) or CollapseService.
	Collapse string
	// SuggestConditions adds an IpAddress condition on g:SourceIp with the observed
	// addresses aggregated to CIDR4 (IPv4) and CIDR6 (IPv6) prefixes (0: 24 and 64).
	SuggestConditions bool
	CIDR4, CIDR6      int
	// Profile is the lint limit profile the policies must fit ("" is strict).
	Profile string
	// Limits, when set, replaces the profile's limits (the linter still checks its own).
	Limits *lint.Limits
	// Linter lints the result (required): it must use Profile.
	Linter *lint.Linter
	// Today decides the expiry of suppressions (zero: now).
	Today time.Time
}

// ErrBadOption is wrapped by errors about Options.
var ErrBadOption = errors.New("invalid generate option")

// ErrNotClean is returned when a generated policy does not lint clean: a bug, never the
// workload's fault.
var ErrNotClean = errors.New("generated policy does not lint clean")

// Policy is one generated policy file.
type Policy struct {
	// File is the file name (relative to the output folder).
	File string `json:"file"`
	// Scope is where to attach it.
	Scope authz.Scope `json:"scope"`
	// Statements and Size (minified characters, as lint counts) measure it.
	Statements int `json:"statements"`
	Size       int `json:"size"`
	// Document is the policy as written.
	Document json.RawMessage `json:"document"`
}

// Suppression is a [[lint.suppress]] entry generate writes for a finding that stays.
type Suppression struct {
	Code    string `json:"code"`
	File    string `json:"file"`
	Pointer string `json:"pointer"`
	Reason  string `json:"reason"`
}

// Condition is the suggested condition.
type Condition struct {
	Operator string   `json:"operator"`
	Key      string   `json:"key"`
	Values   []string `json:"values"`
	// Addresses counts the distinct source addresses observed.
	Addresses int `json:"addresses"`
	// Widened says what the limit on values per key merged.
	Widened []string `json:"widened,omitempty"`
}

// Result is the policies of one principal with their report.
type Result struct {
	Principal string `json:"principal"`
	// Stem names the files: <stem>.json, <stem>-global.json, <stem>.report.md.
	Stem string `json:"stem"`
	// First and Last bound the requests granted from.
	First time.Time `json:"first_seen"`
	Last  time.Time `json:"last_seen"`
	// Counts say what became of the principal's requests.
	Counts Counts `json:"counts"`
	// APIs are the APIs used, in section order.
	APIs []*APIUse `json:"apis"`
	// Policies are the files written (none when nothing needs granting).
	Policies []Policy `json:"policies"`
	// Grants are every Action element of every policy, with why.
	Grants []Grant `json:"grants"`
	// Widenings are grants beyond the needs: asked for (--collapse service) or forced
	// by a limit.
	Widenings []Widening `json:"widenings"`
	// Condition is the suggested IpAddress condition, when asked for.
	Condition *Condition `json:"condition,omitempty"`
	// Suppressions are the lint findings that stay, with why; LintInfos the info
	// findings ("file:line:col: CODE: message").
	Suppressions []Suppression `json:"suppressions"`
	LintInfos    []string      `json:"lint_infos"`
	// Notes say what else the reader should know (scope choices, skipped requests).
	Notes []string `json:"notes"`
}

// Generate writes the policies of principal from what the observer saw.
func Generate(ctx context.Context, cat *actions.Catalog, o *Observer, principal string, opts Options) (*Result, error) {
	switch opts.Collapse {
	case "", CollapseExact, CollapseService:
	default:
		return nil, fmt.Errorf("%w: collapse %q (use %s or %s)", ErrBadOption, opts.Collapse, CollapseExact, CollapseService)
	}
	if opts.Linter == nil {
		return nil, fmt.Errorf("%w: no linter", ErrBadOption)
	}
	lim, err := lint.LimitProfile(opts.Profile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOption, err)
	}
	if opts.Limits != nil {
		lim = *opts.Limits
	}
	if opts.CIDR4 == 0 {
		opts.CIDR4 = 24
	}
	if opts.CIDR6 == 0 {
		opts.CIDR6 = 64
	}
	if opts.CIDR4 < 0 || opts.CIDR4 > 32 || opts.CIDR6 < 0 || opts.CIDR6 > 128 {
		return nil, fmt.Errorf("%w: CIDR prefix lengths %d (IPv4, 0..32) and %d (IPv6, 0..128)", ErrBadOption, opts.CIDR4, opts.CIDR6)
	}
	if opts.Today.IsZero() {
		opts.Today = time.Now()
	}
	u := o.byPrincipal[principal]
	if u == nil {
		return nil, fmt.Errorf("no decision line of principal %q in the logs", principal)
	}
	r := &Result{Principal: principal, Stem: Stem(principal), First: u.first, Last: u.last, Counts: u.counts, APIs: u.sortedAPIs()}
	r.notesOnCounts(u)
	n := u.need()
	if len(n.order) == 0 {
		r.Notes = append(r.Notes, "nothing to grant: no request of this principal needed an IAM action and was accepted by IMS")
		return r, nil
	}
	c := collapser{known: known(cat), vars: o.vars}
	project, global := n.split()
	if opts.Collapse == CollapseService {
		var w []Widening
		project, w = c.service(project)
		r.Widenings = append(r.Widenings, w...)
		global, w = c.service(global)
		r.Widenings = append(r.Widenings, w...)
	} else {
		project, global = c.exact(project), c.exact(global)
	}
	var cond *condition
	if opts.SuggestConditions {
		cond = r.suggest(u, opts, lim)
	}
	scope := r.scope(u, cat)
	for _, part := range []struct {
		grants []*Grant
		file   string
		scope  authz.Scope
		cond   *condition
	}{
		{project, r.Stem + ".json", scope, cond},
		{global, r.Stem + "-global.json", authz.Scope{Kind: authz.ScopeGlobal}, nil},
	} {
		if len(part.grants) == 0 {
			continue
		}
		d, gs, data, size, w, err := c.layout(part.grants, part.cond, lim)
		if err != nil {
			return nil, fmt.Errorf("principal %s: %s: %w", principal, part.file, err)
		}
		r.Widenings = append(r.Widenings, w...)
		r.Policies = append(r.Policies, Policy{File: part.file, Scope: part.scope, Statements: len(d.Statement), Size: size, Document: data})
		for _, g := range gs {
			g.Policy = part.file
			sort.Strings(g.Actions)
			r.Grants = append(r.Grants, *g)
		}
	}
	if len(global) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s grants global services (%s): attach it to the global service project; one policy may not mix them with project-level services (E-SCOPE-MIX)",
			r.Stem+"-global.json", strings.Join(servicesOf(global), ", ")))
	}
	if err := r.check(ctx, opts, u, c); err != nil {
		return nil, err
	}
	return r, nil
}

// notesOnCounts explains the requests that were not granted from.
func (r *Result) notesOnCounts(u *usage) {
	c := u.counts
	if c.NotAccepted > 0 {
		r.Notes = append(r.Notes, plural(c.NotAccepted, "request")+" forwarded but not accepted by IMS (an error status, or no answer): not granted")
	}
	if c.DeniedSkipped > 0 {
		r.Notes = append(r.Notes, plural(c.DeniedSkipped, "request")+" refused by enforce mode: not granted (--include-denied grants them)")
	}
	if c.Denied > 0 {
		r.Notes = append(r.Notes, plural(c.Denied, "request")+" refused by enforce mode granted (--include-denied): IMS never saw them, so whether they would succeed is not known")
	}
	if c.NotDecided > 0 {
		r.Notes = append(r.Notes, plural(c.NotDecided, "request")+" refused before the policies decided (identity, query or body): they need no grant")
	}
	if c.UnknownAPI > 0 {
		var ids []string
		for id := range u.unknown {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		r.Notes = append(r.Notes, fmt.Sprintf("%s of APIs or actions this catalog does not know (%s): not granted; is the log from another imsguard version?", plural(c.UnknownAPI, "request"), strings.Join(ids, ", ")))
	}
}

// scope chooses where the project-level policy is attached: the enterprise projects
// observed when every request could be granted there, else the projects observed.
func (r *Result) scope(u *usage, cat *actions.Catalog) authz.Scope {
	if len(u.epWhy) == 0 && len(u.eps) > 0 {
		sc := authz.Scope{Kind: authz.ScopeEnterpriseProject, EnterpriseProjects: sortedKeys(u.eps)}
		r.Notes = append(r.Notes, "attached to the enterprise projects observed ("+strings.Join(sc.EnterpriseProjects, ", ")+"): every request granted from was decided in one of them")
		for _, a := range u.apis {
			for _, s := range a.api.EnterpriseProjectOf {
				if s == actions.EPImage {
					r.Notes = append(r.Notes, "single-image calls are authorized through an enterprise project only when the proxy can look the image up ([enterprise_project_lookup])")
					return sc
				}
			}
		}
		return sc
	}
	if len(u.eps) > 0 {
		r.Notes = append(r.Notes, "not attached to enterprise projects: "+strings.Join(sortedKeys(u.epWhy), "; "))
	}
	if u.noProject > 0 || len(u.projects) == 0 {
		r.Notes = append(r.Notes, plural(u.noProject, "request")+" logged without a project (a log written before the proxy logged it): attached to all projects")
		return authz.Scope{Kind: authz.ScopeAllProjects}
	}
	return authz.Scope{Kind: authz.ScopeProject, Projects: sortedKeys(u.projects)}
}

// suggest builds the IpAddress condition from the observed source addresses.
func (r *Result) suggest(u *usage, opts Options, lim lint.Limits) *condition {
	if u.noSource > 0 || len(u.sources) == 0 {
		r.Notes = append(r.Notes, plural(u.noSource, "request")+" logged without a source address: no IpAddress condition suggested")
		return nil
	}
	addrs := make([]netip.Addr, 0, len(u.sources))
	for a := range u.sources {
		addrs = append(addrs, a)
	}
	ps, widened := aggregate(addrs, opts.CIDR4, opts.CIDR6, lim.Values)
	c := &condition{prefixes: ps}
	r.Condition = &Condition{Operator: "IpAddress", Key: "g:SourceIp", Addresses: len(addrs), Widened: widened}
	for _, p := range ps {
		r.Condition.Values = append(r.Condition.Values, p.String())
	}
	if len(widened) > 0 {
		r.Widenings = append(r.Widenings, Widening{Grant: "IpAddress g:SourceIp", Adds: widened,
			Why: fmt.Sprintf("the limit of %d values per condition key", lim.Values)})
	}
	r.Notes = append(r.Notes, "the IpAddress condition covers the IMS actions only: IMS calls the dependent actions of other services on the caller's behalf, from its own addresses")
	return c
}

func servicesOf(gs []*Grant) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range gs {
		if s := service(g.Action); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var stemRe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Stem is the file-name stem of a principal's policies: the name with every run of other
// characters than letters, digits, '.', '_' and '-' replaced by '_'.
func Stem(principal string) string {
	s := strings.Trim(stemRe.ReplaceAllString(principal, "_"), ".")
	if s == "" {
		s = "principal"
	}
	return s
}
