package authz

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// decode turns the Rego result object into a Decision without a JSON round trip. It also
// returns whether the decision depended on the request context (some statement with a
// Condition or Resource was checked) and which context keys those conditions read.
func (e *Engine) decode(t *ast.Term, acts []string) (Decision, bool, []string, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return Decision{}, false, nil, fmt.Errorf("result is %T, not an object", t.Value)
	}
	var d Decision
	dec, err := str(obj, "decision")
	if err != nil {
		return d, false, nil, err
	}
	switch Effect(dec) {
	case Allow, ExplicitDeny, ImplicitDeny:
		d.Effect = Effect(dec)
	default:
		return d, false, nil, fmt.Errorf("unknown decision %q", dec)
	}
	dependent := false
	var keys []string
	if ks, ok := obj.Get(ast.StringTerm("context_keys")).Value.(ast.Set); ok {
		ks.Foreach(func(x *ast.Term) {
			if k, ok := x.Value.(ast.String); ok {
				keys = append(keys, string(k))
			}
		})
		sort.Strings(keys)
	} else {
		return d, false, nil, fmt.Errorf("context_keys is not a set")
	}
	per, ok := obj.Get(ast.StringTerm("actions")).Value.(ast.Object)
	if !ok {
		return d, false, nil, fmt.Errorf("actions is not an object")
	}
	d.Actions = make([]ActionDecision, 0, len(acts))
	seen := map[string]bool{}
	for _, a := range acts {
		lower := strings.ToLower(a)
		if seen[lower] {
			continue
		}
		seen[lower] = true
		at := per.Get(ast.StringTerm(lower))
		if at == nil {
			return d, false, nil, fmt.Errorf("no decision for action %s", a)
		}
		ao, ok := at.Value.(ast.Object)
		if !ok {
			return d, false, nil, fmt.Errorf("decision for %s is not an object", a)
		}
		ad := ActionDecision{Action: a, Matched: []StatementRef{}}
		es, ok := termString(ao.Get(ast.StringTerm("effect")))
		if !ok {
			return d, false, nil, fmt.Errorf("no effect for action %s", a)
		}
		ad.Effect = Effect(es)
		if nc, err := num(ao.Get(ast.StringTerm("ncond"))); err != nil {
			return d, false, nil, fmt.Errorf("ncond of %s: %v", a, err)
		} else if nc > 0 {
			dependent = true
		}
		for _, part := range []struct{ key, effect string }{{"allow", "Allow"}, {"deny", "Deny"}} {
			groups, ok := termArray(ao.Get(ast.StringTerm(part.key)))
			if !ok {
				return d, false, nil, fmt.Errorf("%s of %s is not an array", part.key, a)
			}
			var gerr error
			groups.Foreach(func(g *ast.Term) {
				if gerr == nil {
					gerr = e.appendRefs(&ad, g, part.effect)
				}
			})
			if gerr != nil {
				return d, false, nil, gerr
			}
		}
		if err := e.appendRefs(&ad, ao.Get(ast.StringTerm("cond")), ""); err != nil {
			return d, false, nil, err
		}
		if ct := ao.Get(ast.StringTerm("checked")); ct != nil {
			tmp := ActionDecision{Action: a}
			if err := e.appendRefs(&tmp, ct, ""); err != nil {
				return d, false, nil, err
			}
			ad.Conditional = tmp.Matched
		}
		sort.Slice(ad.Matched, func(i, j int) bool {
			x, y := ad.Matched[i], ad.Matched[j]
			return x.Attachment < y.Attachment || x.Attachment == y.Attachment && x.Statement < y.Statement
		})
		d.Actions = append(d.Actions, ad)
	}
	if s, ok := obj.Get(ast.StringTerm("skipped")).Value.(ast.Set); ok {
		s.Foreach(func(x *ast.Term) {
			arr, ok := x.Value.(*ast.Array)
			if !ok || arr.Len() != 2 {
				return
			}
			i, _ := num(arr.Elem(0))
			reason, _ := arr.Elem(1).Value.(ast.String)
			d.Skipped = append(d.Skipped, Skip{Attachment: i, Policy: e.name(i), Reason: string(reason)})
		})
		sort.Slice(d.Skipped, func(i, j int) bool { return d.Skipped[i].Attachment < d.Skipped[j].Attachment })
	}
	if s, ok := obj.Get(ast.StringTerm("missing_keys")).Value.(ast.Set); ok {
		s.Foreach(func(x *ast.Term) {
			if k, ok := x.Value.(ast.String); ok {
				d.MissingKeys = append(d.MissingKeys, string(k))
			}
		})
		sort.Strings(d.MissingKeys)
	}
	return d, dependent, keys, nil
}

// appendRefs adds matched statements: [attachment, statement] with the given effect, or
// [attachment, statement, effect] when effect is "".
func (e *Engine) appendRefs(ad *ActionDecision, t *ast.Term, effect string) error {
	arr, ok := termArray(t)
	if !ok {
		return fmt.Errorf("matches of %s are not an array", ad.Action)
	}
	var err error
	arr.Foreach(func(m *ast.Term) {
		ma, ok := termArray(m)
		want := 2
		if effect == "" {
			want = 3
		}
		if !ok || ma.Len() != want {
			err = fmt.Errorf("malformed match %v", m)
			return
		}
		i, ierr := num(ma.Elem(0))
		j, jerr := num(ma.Elem(1))
		eff := effect
		if effect == "" {
			eff, ok = termString(ma.Elem(2))
		}
		if ierr != nil || jerr != nil || !ok {
			err = fmt.Errorf("malformed match %v", m)
			return
		}
		ad.Matched = append(ad.Matched, StatementRef{Attachment: i, Policy: e.name(i), Statement: j, Effect: eff})
	})
	return err
}

func termArray(t *ast.Term) (*ast.Array, bool) {
	if t == nil {
		return nil, false
	}
	a, ok := t.Value.(*ast.Array)
	return a, ok
}

func termString(t *ast.Term) (string, bool) {
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

func (e *Engine) name(i int) string {
	if i >= 0 && i < len(e.atts) {
		return e.atts[i].Name
	}
	return ""
}

func str(o ast.Object, key string) (string, error) {
	t := o.Get(ast.StringTerm(key))
	if t == nil {
		return "", fmt.Errorf("%s missing", key)
	}
	s, ok := t.Value.(ast.String)
	if !ok {
		return "", fmt.Errorf("%s is not a string", key)
	}
	return string(s), nil
}

func num(t *ast.Term) (int, error) {
	if t == nil {
		return 0, fmt.Errorf("missing number")
	}
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", t)
	}
	i, ok := n.Int()
	if !ok {
		return 0, fmt.Errorf("%v is not an integer", t)
	}
	return i, nil
}
