package generate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/imsguard/imsguard/rego/lint"
)

// document is a 1.1 policy as written: member order Version, Statement; Effect, Action,
// Condition.
type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// condition is the suggested IpAddress condition on g:SourceIp.
type condition struct {
	prefixes []netip.Prefix
}

func (c *condition) json() map[string]map[string][]string {
	vals := make([]string, len(c.prefixes))
	for i, p := range c.prefixes {
		vals[i] = p.String()
	}
	return map[string]map[string][]string{"IpAddress": {"g:SourceIp": vals}}
}

// statements lays grants out: with a condition, the IMS actions under it and the dependent
// actions of other services without it (IMS calls those on the caller's behalf, not from
// the caller's address); each list in statements of at most maxActions actions.
func statements(gs []*Grant, cond *condition, maxActions int) []statement {
	var ims, other []string
	for _, g := range gs {
		if cond != nil && service(g.Action) != "ims" {
			other = append(other, g.Action)
		} else {
			ims = append(ims, g.Action)
		}
	}
	var out []statement
	add := func(acts []string, c map[string]map[string][]string) {
		for len(acts) > 0 {
			n := len(acts)
			if maxActions > 0 && n > maxActions {
				n = maxActions
			}
			out = append(out, statement{Effect: "Allow", Action: acts[:n:n], Condition: c})
			acts = acts[n:]
		}
	}
	if cond != nil && len(ims) > 0 {
		add(ims, cond.json())
	} else {
		add(ims, nil)
	}
	add(other, nil)
	return out
}

// encode returns the document as written (indented) and its minified size in characters
// (how lint counts E-POLICY-SIZE by default).
func encode(d document) ([]byte, int, error) {
	var min bytes.Buffer
	enc := json.NewEncoder(&min)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, 0, err
	}
	size := utf8.RuneCount(bytes.TrimSpace(min.Bytes()))
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(min.Bytes()), "", "  "); err != nil {
		return nil, 0, err
	}
	out.WriteByte('\n')
	return out.Bytes(), size, nil
}

// fits reports why a document breaks a limit ("" when it fits).
func fits(d document, size int, lim lint.Limits) string {
	if lim.Statements > 0 && len(d.Statement) > lim.Statements {
		return fmt.Sprintf("the limit of %d statements per policy", lim.Statements)
	}
	if lim.PolicySize > 0 && size > lim.PolicySize {
		return fmt.Sprintf("the limit of %d characters per policy", lim.PolicySize)
	}
	return ""
}

// layout builds a policy from grants within the limits, widening when it must: first each
// IMS resource type to its wildcard, then each service to its wildcard. Every forced
// widening is returned.
func (c collapser) layout(gs []*Grant, cond *condition, lim lint.Limits) (document, []*Grant, []byte, int, []Widening, error) {
	var wides []Widening
	for step := 0; ; step++ {
		d := document{Version: "1.1", Statement: statements(gs, cond, lim.Actions)}
		data, size, err := encode(d)
		if err != nil {
			return d, nil, nil, 0, nil, err
		}
		why := fits(d, size, lim)
		if why == "" {
			return d, gs, data, size, wides, nil
		}
		switch step {
		case 0:
			var w []Widening
			gs, w = c.resourceWildcards(gs)
			for i := range w {
				w[i].Why = why
			}
			wides = append(wides, w...)
		case 1:
			var w []Widening
			gs, w = c.service(gs)
			for i := range w {
				w[i].Why = why
			}
			wides = append(wides, w...)
		default:
			return d, nil, nil, 0, nil, fmt.Errorf("the policy breaks %s even with one wildcard per service", why)
		}
	}
}

// resourceWildcards replaces the IMS actions of each resource type by ims:<type>:* and
// reports the catalog actions that adds.
func (c collapser) resourceWildcards(gs []*Grant) ([]*Grant, []Widening) {
	by := map[string][]*Grant{}
	var order []string
	var out []*Grant
	for _, g := range gs {
		if service(g.Action) != "ims" || strings.Count(g.Action, ":") != 2 {
			out = append(out, g)
			continue
		}
		parts := strings.SplitN(strings.ToLower(g.Action), ":", 3)
		r := parts[0] + ":" + parts[1] + ":"
		if parts[1] == "*" {
			out = append(out, g)
			continue
		}
		if by[r] == nil {
			order = append(order, r)
		}
		by[r] = append(by[r], g)
	}
	var ims []*Grant
	var wides []Widening
	for _, r := range order {
		w := r + "*"
		if len(by[r]) == 1 && strings.EqualFold(by[r][0].Action, w) {
			ims = append(ims, by[r][0])
			continue
		}
		ims = append(ims, mergeGrants(w, by[r]))
		var adds []string
		for _, a := range c.imsActions(r) {
			if !coveredBy(by[r], a) {
				adds = append(adds, a)
			}
		}
		if len(adds) > 0 {
			wides = append(wides, Widening{Grant: w, Adds: adds})
		}
	}
	return append(ims, out...), wides
}
