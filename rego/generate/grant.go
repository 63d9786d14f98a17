package generate

import (
	"fmt"
	"sort"
	"strings"
)

// Collapse modes.
const (
	// CollapseExact writes a wildcard only where it grants nothing more than the actions
	// it replaces: ims:images:* when every catalog action under it is granted (the
	// default).
	CollapseExact = "exact"
	// CollapseService writes one wildcard per service (ims:*:*, ecs:*:*): shorter, wider;
	// every widening is reported.
	CollapseService = "service"
)

// Grant is one Action element of a generated policy and why it is there.
type Grant struct {
	// Action is the element as written (an action or a wildcard).
	Action string `json:"action"`
	// Policy is the file it is granted in.
	Policy string `json:"policy"`
	// Actions are the granted actions the element stands for, when it is a wildcard.
	Actions []string `json:"actions,omitempty"`
	// Why says which APIs need it: "required by 5.1.1 list_cloudimages (12 requests)",
	// "dependent action of 5.1.4 quick_import_cloudimage".
	Why []string `json:"why"`
}

// Widening is something granted beyond what the requests needed, and why.
type Widening struct {
	Grant string `json:"grant"`
	// Adds lists what it grants that was not needed ("every ecs action" for a service
	// wildcard of a service the catalog does not list).
	Adds []string `json:"adds"`
	Why  string   `json:"why"`
}

// needed is the set of actions a principal's requests need, with reasons, keyed by the
// lower-case action.
type needed struct {
	order []string // lower-case keys in insertion order
	by    map[string]*Grant
}

func (n *needed) add(action, why string) {
	k := strings.ToLower(action)
	g := n.by[k]
	if g == nil {
		g = &Grant{Action: action}
		n.by[k] = g
		n.order = append(n.order, k)
	}
	for _, w := range g.Why {
		if w == why {
			return
		}
	}
	g.Why = append(g.Why, why)
}

// need lists the actions the used APIs require and their dependent actions.
func (u *usage) need() *needed {
	n := &needed{by: map[string]*Grant{}}
	for _, a := range u.sortedAPIs() {
		why := fmt.Sprintf("required by %s %s (%s)", a.Section, a.ID, plural(a.Requests, "request"))
		for _, act := range a.Actions {
			n.add(act, why)
		}
	}
	for _, a := range u.sortedAPIs() {
		for _, v := range a.variants {
			for _, d := range v.deps {
				n.add(d, "dependent action of "+v.name())
			}
		}
	}
	return n
}

// split returns the grants of project-level services and of global services, each with
// the lower-case keys in a stable order (IMS first, then by name).
func (n *needed) split() (project, global []*Grant) {
	keys := append([]string(nil), n.order...)
	sort.SliceStable(keys, func(i, j int) bool {
		si, sj := service(keys[i]), service(keys[j])
		if (si == "ims") != (sj == "ims") {
			return si == "ims"
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		g := *n.by[k]
		if isGlobal(g.Action) {
			global = append(global, &g)
		} else {
			project = append(project, &g)
		}
	}
	return project, global
}

// collapser turns grants into Action elements.
type collapser struct {
	known []string  // every action the catalog knows, documented spelling
	vars  []variant // every API variant of the catalog
}

// imsActions returns the concrete IMS actions of the catalog under prefix ("ims:images:"
// or "ims:").
func (c collapser) imsActions(prefix string) []string {
	var out []string
	for _, a := range c.known {
		if strings.HasPrefix(strings.ToLower(a), prefix) && !strings.ContainsAny(a, "*?") {
			out = append(out, a)
		}
	}
	return out
}

// exact replaces the IMS actions of a resource type (then of the whole service) by a
// wildcard when every catalog action it matches is granted: nothing widens.
func (c collapser) exact(gs []*Grant) []*Grant {
	byRes := map[string][]*Grant{}
	var resOrder []string
	for _, g := range gs {
		if service(g.Action) != "ims" || strings.ContainsAny(g.Action, "*?") {
			continue
		}
		parts := strings.SplitN(strings.ToLower(g.Action), ":", 3)
		r := parts[0] + ":" + parts[1] + ":"
		if byRes[r] == nil {
			resOrder = append(resOrder, r)
		}
		byRes[r] = append(byRes[r], g)
	}
	sort.Strings(resOrder)
	all := true
	var merged []*Grant
	for _, r := range resOrder {
		cat := c.imsActions(r)
		full := len(byRes[r]) == len(cat)
		all = all && full
		if full && len(cat) > 1 {
			merged = append(merged, mergeGrants(strings.TrimSuffix(r, ":")+":*", byRes[r]))
		} else {
			merged = append(merged, byRes[r]...)
		}
	}
	if len(resOrder) > 0 && all && len(resOrder) == len(resources(c.imsActions("ims:"))) {
		var members []*Grant
		for _, r := range resOrder {
			members = append(members, byRes[r]...)
		}
		merged = []*Grant{mergeGrants("ims:*:*", members)}
	}
	var out []*Grant
	out = append(out, merged...)
	for _, g := range gs {
		if service(g.Action) != "ims" || strings.ContainsAny(g.Action, "*?") {
			out = append(out, g)
		}
	}
	return subsume(out)
}

// service replaces each service's grants by one wildcard and reports what that adds.
func (c collapser) service(gs []*Grant) ([]*Grant, []Widening) {
	var order []string
	by := map[string][]*Grant{}
	for _, g := range gs {
		s := service(g.Action)
		if by[s] == nil {
			order = append(order, s)
		}
		by[s] = append(by[s], g)
	}
	var out []*Grant
	var wides []Widening
	for _, s := range order {
		w := s + ":*:*"
		if len(by[s]) == 1 && strings.EqualFold(by[s][0].Action, w) {
			out = append(out, by[s][0])
			continue
		}
		out = append(out, mergeGrants(w, by[s]))
		var adds []string
		if s == "ims" {
			for _, a := range c.imsActions("ims:") {
				if !coveredBy(by[s], a) {
					adds = append(adds, a)
				}
			}
		} else {
			adds = []string{"every " + s + " action"}
		}
		if len(adds) > 0 {
			wides = append(wides, Widening{Grant: w, Adds: adds, Why: "--collapse service"})
		}
	}
	return out, wides
}

// resources returns the distinct "ims:<resource>:" prefixes of actions.
func resources(acts []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range acts {
		parts := strings.SplitN(strings.ToLower(a), ":", 3)
		r := parts[0] + ":" + parts[1] + ":"
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func coveredBy(gs []*Grant, a string) bool {
	for _, g := range gs {
		if matches(g.Action, a) {
			return true
		}
		for _, m := range g.Actions {
			if matches(m, a) {
				return true
			}
		}
	}
	return false
}

// mergeGrants makes one wildcard element of several grants.
func mergeGrants(wildcard string, gs []*Grant) *Grant {
	m := &Grant{Action: wildcard}
	for _, g := range gs {
		if len(g.Actions) > 0 {
			m.Actions = append(m.Actions, g.Actions...)
		} else {
			m.Actions = append(m.Actions, g.Action)
		}
		for _, w := range g.Why {
			if !containsFold(m.Why, w) {
				m.Why = append(m.Why, w)
			}
		}
	}
	return m
}

// subsume drops elements another element's wildcard already matches, folding their
// reasons into it.
func subsume(gs []*Grant) []*Grant {
	var out []*Grant
	for i, g := range gs {
		var by *Grant
		for j, h := range gs {
			if i != j && !strings.EqualFold(g.Action, h.Action) && matches(h.Action, g.Action) {
				by = h
				break
			}
		}
		if by == nil {
			out = append(out, g)
			continue
		}
		for _, w := range g.Why {
			if !containsFold(by.Why, w) {
				by.Why = append(by.Why, w)
			}
		}
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
