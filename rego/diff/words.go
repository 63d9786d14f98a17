package diff

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// conditionChanges compares the conditions of an edited statement key by key.
func conditionChanges(o, n *stmt) []ConditionChange {
	okeys, oby := policy.ByKey(o.conds)
	nkeys, nby := policy.ByKey(n.conds)
	keys := map[string]bool{}
	for _, k := range append(okeys, nkeys...) {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []ConditionChange
	for _, k := range sorted {
		op, np := oby[k], nby[k]
		cc := ConditionChange{Key: writtenKey(k, op, np), Old: predWords(op), New: predWords(np)}
		more, fewer := "the Allow grants more", "the Allow grants less"
		if n.effect == "Deny" {
			more, fewer = "the Deny denies more", "the Deny denies less"
		}
		switch {
		case len(op) == 0:
			cc.Change = "condition added: matches fewer requests; " + fewer
		case len(np) == 0:
			cc.Change = "condition removed: matches every request; " + more
		default:
			notWider, cex := impliesKey(np, op)
			notNarrower, _ := impliesKey(op, np)
			switch {
			case notWider == policy.True && notNarrower == policy.True:
				continue // the same requests pass
			case notWider == policy.True:
				cc.Change = "matches fewer requests; " + fewer
			case notNarrower == policy.True:
				cc.Change = "matches more requests, widened by " + widenedBy(op, np) + "; " + more
			case notWider == policy.False:
				cc.Change = "changed: matches requests it did not, e.g. " + valuesText(cc.Key, cex)
			default:
				cc.Change = "changed; not provably narrower"
			}
		}
		out = append(out, cc)
	}
	return out
}

// impliesKey decides whether values satisfying all of ps satisfy all of qs (one key);
// False comes with a counterexample.
func impliesKey(ps, qs []policy.Predicate) (policy.Truth, []string) {
	result := policy.True
	for _, q := range qs {
		t, w := policy.Implies(ps, q)
		if t == policy.False {
			return t, w
		}
		if t == policy.Unknown {
			result = policy.Unknown
		}
	}
	return result, nil
}

// widenedBy says what a condition that got wider lets through now.
func widenedBy(op, np []policy.Predicate) string {
	var parts []string
	if len(op) == 1 && len(np) == 1 {
		o, n := op[0], np[0]
		if n.Absent && !o.Absent {
			parts = append(parts, "the key absent")
		}
		if d, ok := n.Set.Minus(o.Set); ok && !d.IsEmpty() && o.All == n.All {
			switch {
			case n.Set.IsUniverse():
				parts = append(parts, "everything outside "+o.Set.Describe())
			case n.Set.Domain() == policy.DomainIP && n.Set.Describe() == "0.0.0.0/0":
				parts = append(parts, "every IPv4 address outside "+o.Set.Describe())
			default:
				parts = append(parts, d.Describe())
			}
		} else if o.All != n.All {
			parts = append(parts, "how several values are read ("+qualWords(o)+" → "+qualWords(n)+")")
		}
	}
	if len(parts) == 0 {
		return "values the old condition rejected"
	}
	return strings.Join(parts, " and ")
}

func qualWords(p policy.Predicate) string {
	if p.All {
		return "every value"
	}
	return "some value"
}

func writtenKey(k string, lists ...[]policy.Predicate) string {
	for _, l := range lists {
		for _, p := range l {
			return p.Written
		}
	}
	return k
}

func predWords(ps []policy.Predicate) string {
	if len(ps) == 0 {
		return "(none)"
	}
	w := make([]string, len(ps))
	for i, p := range ps {
		w[i] = p.String()
	}
	return strings.Join(w, " and ")
}

func valuesText(key string, vals []string) string {
	if vals == nil {
		return key + " absent"
	}
	return key + "=" + strings.Join(vals, ",")
}

// reason writes why a change has its kind, for the text output and annotations.
func reason(c Change, o, n *stmt) string {
	var b strings.Builder
	switch c.Kind {
	case KindWiden:
		b.WriteString("widens access")
	case KindUnproven:
		b.WriteString("changed, not provably narrower")
	case KindNarrow:
		b.WriteString("narrows access")
	default:
		b.WriteString("no change in access")
	}
	var detail []string
	if o != nil && n != nil && o.effect != n.effect {
		detail = append(detail, "Effect "+o.effect+" → "+n.effect)
	}
	if c.What == "removed" && o.effect == "Deny" {
		detail = append(detail, "a Deny removed")
	}
	var wider []string
	for _, a := range c.Actions {
		if a.Kind.Widens() {
			wider = append(wider, patternWords(a.Action))
		}
	}
	if len(wider) > 0 {
		detail = append(detail, "on "+strings.Join(wider, ", "))
	}
	if c.Scope != "" {
		detail = append(detail, "scope "+c.Scope)
	}
	for _, cc := range c.Conditions {
		detail = append(detail, cc.Key+": "+cc.Change)
	}
	if c.Example != nil {
		detail = append(detail, "e.g. "+c.Example.String())
	}
	if len(detail) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(detail, "; "))
	}
	return b.String()
}

// patternWords names an action pattern, saying what a wildcard covers.
func patternWords(p string) string {
	segs := strings.Split(p, ":")
	switch {
	case p == "*:*:*":
		return p + " (every action of every service)"
	case segs[1] == "*" && segs[2] == "*":
		return fmt.Sprintf("%s (every %s action)", p, segs[0])
	case segs[2] == "*":
		return fmt.Sprintf("%s (every %s %s action)", p, segs[0], segs[1])
	}
	return p
}

// String writes the request and its two decisions.
func (e Example) String() string {
	return e.Request.String() + ": " + string(e.Old) + " → " + string(e.New)
}

// String writes the request in words: action, project, enterprise project, context.
func (r Request) String() string {
	var b strings.Builder
	b.WriteString(r.Action)
	b.WriteString(" in project ")
	b.WriteString(strconv.Quote(r.Project))
	if r.EnterpriseProject != "" {
		b.WriteString(", enterprise project ")
		b.WriteString(strconv.Quote(r.EnterpriseProject))
	}
	keys := make([]string, 0, len(r.Context))
	for k := range r.Context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		b.WriteString(", no condition keys")
	}
	for i, k := range keys {
		if i == 0 {
			b.WriteString(", ")
		} else {
			b.WriteString(" ")
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strings.Join(r.Context[k], ","))
	}
	return b.String()
}
