package authz

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// decode turns the reference's result object into a Decision without a JSON round trip.
func (e *Engine) decode(t *ast.Term, acts []string) (Decision, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return Decision{}, fmt.Errorf("result is %T, not an object", t.Value)
	}
	var d Decision
	dec, err := str(obj, "decision")
	if err != nil {
		return d, err
	}
	switch Effect(dec) {
	case Allow, ExplicitDeny, ImplicitDeny:
		d.Effect = Effect(dec)
	default:
		return d, fmt.Errorf("unknown decision %q", dec)
	}
	per, ok := obj.Get(ast.StringTerm("actions")).Value.(ast.Object)
	if !ok {
		return d, fmt.Errorf("actions is not an object")
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
			return d, fmt.Errorf("no decision for action %s", a)
		}
		ao, ok := at.Value.(ast.Object)
		if !ok {
			return d, fmt.Errorf("decision for %s is not an object", a)
		}
		ad := ActionDecision{Action: a, Matched: []StatementRef{}}
		es, ok := termString(ao.Get(ast.StringTerm("effect")))
		if !ok {
			return d, fmt.Errorf("no effect for action %s", a)
		}
		ad.Effect = Effect(es)
		for _, part := range []struct{ key, effect string }{{"allow", "Allow"}, {"deny", "Deny"}} {
			groups, ok := termArray(ao.Get(ast.StringTerm(part.key)))
			if !ok {
				return d, fmt.Errorf("%s of %s is not an array", part.key, a)
			}
			var gerr error
			groups.Foreach(func(g *ast.Term) {
				if gerr == nil {
					gerr = e.appendRefs(&ad, g, part.effect)
				}
			})
			if gerr != nil {
				return d, gerr
			}
		}
		if err := e.appendRefs(&ad, ao.Get(ast.StringTerm("cond")), ""); err != nil {
			return d, err
		}
		if ct := ao.Get(ast.StringTerm("checked")); ct != nil {
			tmp := ActionDecision{Action: a}
			if err := e.appendRefs(&tmp, ct, ""); err != nil {
				return d, err
			}
			ad.Conditional = tmp.Matched
		}
		ad.Matched = sortRefs(ad.Matched)
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
	return d, nil
}

// sortRefs orders matched statements by attachment and statement and drops repeats (a
// statement of an attachment scoped to several enterprise projects is found once per
// enterprise project when the request's is unknown).
func sortRefs(refs []StatementRef) []StatementRef {
	slices.SortFunc(refs, func(x, y StatementRef) int {
		if c := cmp.Compare(x.Attachment, y.Attachment); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Statement, y.Statement); c != 0 {
			return c
		}
		return strings.Compare(x.Effect, y.Effect)
	})
	out := refs[:0]
	for i, r := range refs {
		if i == 0 || r != refs[i-1] {
			out = append(out, r)
		}
	}
	return out
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
