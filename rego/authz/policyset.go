package authz

import (
	"errors"
	"fmt"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// ErrInvalidPolicy is wrapped by the errors New returns for documents IAM would reject or
// the engine cannot evaluate (unless Options.Lenient).
var ErrInvalidPolicy = errors.New("policy cannot be evaluated")

// ErrInvalidScope is wrapped by errors about attachment scopes.
var ErrInvalidScope = errors.New("invalid attachment scope")

// setBuilder turns attachments into the policy set: the data document authz.rego
// evaluates. ("Policy set" here; the proxy's "digest" is a SHA-256 of files.)
type setBuilder struct {
	lenient bool
	errs    []error
	notes   []string
	// typed holds, per attachment, the statements as the compiler reads them: the same
	// statements, in the same array positions, as the policy set.
	typed [][]typedStmt
	// predOpts builds the condition predicates of typed statements.
	predOpts policy.PredicateOptions
}

// typedStmt is one statement of the policy set as the compiled engine evaluates it.
type typedStmt struct {
	pos       int  // array position in the attachment's statements (the policy set's j)
	index     int  // statement index in the document
	deny      bool //
	actions   []string
	resources [][]string // [service, region, account, type, path] glob patterns, escaped
	conds     []typedCond
}

// typedCond is one condition: its predicate when the policy set marks it valid; an
// invalid one is evaluated fail-safe (false in an Allow, true in a Deny).
type typedCond struct {
	valid bool
	pred  policy.Predicate
	err   error // the predicate could not be built although the policy set finds it valid
	// sig identifies the condition among those of a policy set: operator, key (lower
	// case) and values; equal sigs are the same predicate.
	sig string
	key int // the number of pred.Key in a compiled program (program.keys)
	id  int // the number of sig in a compiled program (program.preds)
}

func (d *setBuilder) problem(att int, name string, stmt int, format string, args ...any) {
	where := fmt.Sprintf("attachment %d (%s)", att, name)
	if stmt >= 0 {
		where += fmt.Sprintf(" statement %d", stmt)
	}
	msg := fmt.Sprintf(format, args...)
	if d.lenient {
		d.notes = append(d.notes, where+": "+msg+" (lenient: evaluated fail-safe)")
		return
	}
	d.errs = append(d.errs, fmt.Errorf("%w: %s: %s", ErrInvalidPolicy, where, msg))
}

func (d *setBuilder) attachments(atts []Attachment) []any {
	out := make([]any, 0, len(atts))
	for i, a := range atts {
		scope, err := scopeData(a.Scope)
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("attachment %d (%s): %w", i, a.Name, err))
		}
		stmts := []any{}
		var typed []typedStmt
		doc := a.Document
		switch {
		case doc == nil || doc.Root == nil:
			d.problem(i, a.Name, -1, "no policy document")
		case doc.Family == policy.FamilyPolicy || doc.Family == policy.FamilyRole:
			for _, st := range doc.Statements {
				if s, ts, ok := d.statement(i, a.Name, doc.Family, st); ok {
					ts.pos = len(stmts)
					stmts = append(stmts, s)
					typed = append(typed, ts)
				}
			}
		case doc.Family == policy.FamilyAgency:
			d.notes = append(d.notes, fmt.Sprintf("attachment %d (%s): agency policy (iam:agencies:assume) grants no IMS action; not evaluated", i, a.Name))
		case doc.Family == policy.FamilyIdentity:
			d.problem(i, a.Name, -1, "Version %q (%s) is not evaluated; only 1.1 policies and 1.0 roles are: check identity policies with imsguard lint, and leave them out to decide the others (--lenient applies only their Deny statements)", doc.Version, doc.Family)
			stmts, typed = d.denyOnly(i, a.Name, doc)
		default:
			d.problem(i, a.Name, -1, "Version %q (%s) is not evaluated; only 1.1 policies and 1.0 roles are (--lenient applies only its Deny statements)", doc.Version, doc.Family)
			stmts, typed = d.denyOnly(i, a.Name, doc)
		}
		out = append(out, map[string]any{"name": a.Name, "scope": scope, "statements": stmts})
		d.typed = append(d.typed, typed)
	}
	return out
}

// denyOnly reads, fail-safe, the Deny statements of a document the engine cannot evaluate
// (lenient mode only: otherwise the document is an error): a Deny it states keeps denying,
// an Allow grants nothing.
func (d *setBuilder) denyOnly(att int, name string, doc *policy.Document) ([]any, []typedStmt) {
	if !d.lenient {
		return []any{}, nil
	}
	stmts := []any{}
	var typed []typedStmt
	for _, st := range doc.Statements {
		if !strings.EqualFold(st.Effect, "deny") {
			continue
		}
		if s, ts, ok := d.statement(att, name, policy.FamilyPolicy, st); ok {
			ts.pos = len(stmts)
			stmts = append(stmts, s)
			typed = append(typed, ts)
		}
	}
	return stmts, typed
}

func scopeData(s Scope) (map[string]any, error) {
	set := func(list []string) map[string]any {
		m := map[string]any{}
		for _, v := range list {
			m[v] = true
		}
		return m
	}
	out := map[string]any{"kind": string(s.Kind), "projects": set(s.Projects), "enterprise_projects": set(s.EnterpriseProjects)}
	switch s.Kind {
	case ScopeAllProjects, ScopeGlobal:
	case ScopeProject:
		if len(s.Projects) == 0 {
			return out, fmt.Errorf("%w: scope project needs at least one project", ErrInvalidScope)
		}
	case ScopeEnterpriseProject:
		if len(s.EnterpriseProjects) == 0 {
			return out, fmt.Errorf("%w: scope enterprise_project needs at least one enterprise project id", ErrInvalidScope)
		}
	default:
		return out, fmt.Errorf("%w: unknown scope %q (use all_projects, project, global or enterprise_project)", ErrInvalidScope, s.Kind)
	}
	return out, nil
}

func (d *setBuilder) statement(att int, name string, fam policy.Family, st policy.Statement) (map[string]any, typedStmt, bool) {
	var effect string
	ts := typedStmt{index: st.Index}
	switch strings.ToLower(st.Effect) {
	case "allow":
		effect = "Allow"
	case "deny":
		effect = "Deny"
		ts.deny = true
	default:
		d.problem(att, name, st.Index, "Effect %q is neither Allow nor Deny; statement ignored", st.Effect)
		return nil, ts, false
	}
	var patterns []any
	for _, a := range st.Actions {
		p, err := policy.NormalizeAction(a, fam)
		if err != nil {
			d.problem(att, name, st.Index, "action %q: %v", a, err)
			continue
		}
		patterns = append(patterns, p)
	}
	if len(st.NotActions) > 0 {
		d.problem(att, name, st.Index, "NotAction is not part of 1.1 policies")
		if effect == "Deny" {
			patterns = append(patterns, "*:*:*") // fail safe: a NotAction Deny denies everything
		}
	}
	if len(patterns) == 0 {
		return nil, ts, false
	}
	for _, p := range patterns {
		ts.actions = append(ts.actions, p.(string))
	}
	var resources []any
	for _, r := range st.Resources {
		if r == "*" {
			resources, ts.resources = nil, nil
			break
		}
		parts := strings.SplitN(r, ":", 5)
		if len(parts) != 5 {
			d.problem(att, name, st.Index, "resource %q is not service:region:account:type:path", r)
			continue
		}
		rp := []string{strings.ToLower(escapeGlob(parts[0])), escapeGlob(parts[1]), escapeGlob(parts[2]), strings.ToLower(escapeGlob(parts[3])), escapeGlob(parts[4])}
		ts.resources = append(ts.resources, rp)
		resources = append(resources, []any{rp[0], rp[1], rp[2], rp[3], rp[4]})
	}
	conds := make([]any, 0, len(st.Condition))
	for _, c := range st.Condition {
		m := d.condition(att, name, st.Index, c)
		conds = append(conds, m)
		tc := typedCond{valid: m["valid"] == true}
		if tc.valid {
			tc.pred, tc.err = policy.NewPredicate(c, d.predOpts)
			tc.sig = fmt.Sprintf("%q %q %q", c.Operator, strings.ToLower(c.Key), c.Values)
		}
		ts.conds = append(ts.conds, tc)
	}
	return map[string]any{
		"index": st.Index, "effect": effect, "actions": patterns, "resources": nonNilAny(resources),
		"conditions": conds, "has_conditions": len(conds) > 0,
	}, ts, true
}

func nonNilAny(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

// escapeGlob quotes the glob meta characters OPA's glob.match knows beyond '*' and '?'.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `[]{}\!`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`[]{}\!`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// condition prepares one (operator, key) pair; invalid ones are marked valid=false.
func (d *setBuilder) condition(att int, name string, stmt int, c policy.CondEntry) map[string]any {
	op := policy.ParseOperator(c.Operator)
	out := map[string]any{
		"key": strings.ToLower(c.Key), "if_exists": op.IfExists, "qual": string(op.Qualifier),
		"fn": op.Operator.Fn, "neg": op.Operator.Negated, "valid": false, "values": []any{},
	}
	if op.Problem != "" {
		d.problem(att, name, stmt, "condition %s: %s", c.Operator, op.Problem)
		out["fn"] = "invalid"
		return out
	}
	vals := make([]any, 0, len(c.Values))
	for _, v := range c.Values {
		x, err := conditionValue(op.Operator, v)
		if err != nil {
			d.problem(att, name, stmt, "condition %s %s: value %q: %v", c.Operator, c.Key, v, err)
			return out
		}
		vals = append(vals, x)
	}
	if op.Operator.Type != policy.TypeNull && len(vals) == 0 {
		d.problem(att, name, stmt, "condition %s %s has no values", c.Operator, c.Key)
		return out
	}
	if op.Operator.Fn == "null" && len(vals) != 1 {
		d.problem(att, name, stmt, "condition Null %s needs exactly one value, \"true\" or \"false\"", c.Key)
		return out
	}
	out["values"] = vals
	out["valid"] = true
	return out
}

// conditionValue parses a policy value for its operator (spec §5.6).
func conditionValue(op policy.Operator, v string) (any, error) {
	switch op.Type {
	case policy.TypeNumber:
		return policy.ParseNumberValue(v)
	case policy.TypeDate:
		t, err := policy.ParseDateValue(v)
		if err != nil {
			return nil, err
		}
		return t.UnixNano(), nil
	case policy.TypeBool:
		return policy.ParseBoolValue(v)
	case policy.TypeIP:
		pfx, err := policy.ParseIPValue(v)
		if err != nil {
			return nil, err
		}
		return pfx.String(), nil
	case policy.TypeNull:
		l := strings.ToLower(v)
		if op.Fn == "null" && l != "true" && l != "false" {
			return nil, fmt.Errorf("Null takes \"true\" or \"false\"")
		}
		return l, nil
	}
	switch op.Fn {
	case "eq", "match":
		if op.Fn == "match" {
			return escapeGlob(v), nil
		}
		return v, nil
	default:
		return strings.ToLower(v), nil
	}
}
