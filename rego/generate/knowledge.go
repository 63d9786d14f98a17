package generate

import (
	"slices"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

// globalServices are the services IAM grants in the global service project (spec 7.2);
// rego/lint/knowledge.rego holds the same list for E-SCOPE-MIX, and the lint-clean tests
// hold the two together.
var globalServices = map[string]bool{"obs": true, "iam": true}

// supportingActions read or modify the image record alongside an API's own operation
// (rego/lint/ims.rego supporting_actions): an API's primary actions are the others.
var supportingActions = map[string]bool{"ims:images:get": true, "ims:images:update": true}

// service returns the service segment of an action, lower case.
func service(action string) string {
	s, _, _ := strings.Cut(action, ":")
	return strings.ToLower(s)
}

// isGlobal reports whether an action belongs to a global service.
func isGlobal(action string) bool { return globalServices[service(action)] }

// variant is one set of actions an API can require: its base actions, or the base
// actions plus one conditional action, with the dependent actions of that set.
type variant struct {
	api   *actions.API
	cond  string   // the conditional action, "" for the base variant
	keys  []string // the actions that select the variant (primary actions, or cond)
	needs []string
	deps  []string
}

// name describes the variant: "5.1.4 quick_import_cloudimage (with ims:dataImages:create)".
func (v variant) name() string {
	s := v.api.Section + " " + v.api.ID
	if v.cond != "" {
		s += " (with " + v.cond + ")"
	}
	return s
}

// primary returns an API's primary actions: its required actions minus the supporting
// ones, or all of them when every one is supporting.
func primary(api *actions.API) []string {
	var p []string
	for _, a := range api.Actions {
		if !supportingActions[strings.ToLower(a)] {
			p = append(p, a)
		}
	}
	if len(p) == 0 {
		return api.Actions
	}
	return p
}

// variants lists every variant of every API of the catalog.
func variants(cat *actions.Catalog) []variant {
	var out []variant
	for _, api := range cat.APIs() {
		if len(api.Actions) > 0 {
			out = append(out, variant{api: api, keys: primary(api), needs: api.Actions, deps: api.Dependencies})
		}
		for _, c := range api.Conditional {
			needs := append(append([]string(nil), api.Actions...), c.Action)
			deps := append(append([]string(nil), api.Dependencies...), c.Dependencies...)
			out = append(out, variant{api: api, cond: c.Action, keys: []string{c.Action}, needs: needs, deps: deps})
		}
	}
	return out
}

// variantOf returns the variant a request of api with the logged actions used: the base
// variant plus the conditional actions it required.
func variantsOf(all []variant, api *actions.API, logged []string) []variant {
	var out []variant
	for _, v := range all {
		if v.api != api {
			continue
		}
		if v.cond == "" || containsFold(logged, v.cond) {
			out = append(out, v)
		}
	}
	return out
}

// known returns every action name the catalog knows (required, conditional and
// dependent), in their documented spelling, sorted and without duplicates.
func known(cat *actions.Catalog) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	for _, api := range cat.APIs() {
		for _, a := range api.AllActions() {
			add(a)
		}
		for _, a := range api.Dependencies {
			add(a)
		}
		for _, c := range api.Conditional {
			for _, a := range c.Dependencies {
				add(a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// matches reports whether the action pattern p matches the name a (both as written; the
// comparison is case-insensitive), segment by segment: a wildcard never crosses ':'.
func matches(p, a string) bool {
	ps := strings.Split(strings.ToLower(p), ":")
	as := strings.Split(strings.ToLower(a), ":")
	if len(ps) != len(as) {
		return false
	}
	for i := range ps {
		if !policy.GlobMatch(ps[i], as[i]) {
			return false
		}
	}
	return true
}

// covered reports whether some pattern of grants matches a.
func covered(grants []string, a string) bool {
	for _, g := range grants {
		if matches(g, a) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
