package lint

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/policy"
)

// The lint input of one document; docs/lint.md documents every field. Each element carries
// its JSON pointer from the file root and its JSON kind; a member that is absent is the
// shared object {"kind": "missing"}. The lexical measurements of a string (measure.go)
// sit in the element's "m" object, built once per distinct string and shared between
// documents. input.has holds facts about the whole document ("some action contains a
// character outside the action alphabet") and input.max the largest counts and lengths, so
// each rule can start with a guard that OPA's rule index (or one comparison) rejects
// cheaply when the rule cannot fire.

// inputBuilder builds the lint input of one document (Linter.input).
type inputBuilder struct {
	l        *Linter
	doc      *policy.Document
	ep       bool // input.ims.no_ep is wanted (see attached)
	has      smallSet
	max      []maximum
	services smallSet
	// allowed, denied and deniedAlways aggregate the expansions of the Action elements of
	// Allow statements, Deny statements, and Deny statements without Condition or Resource.
	allowed, denied, deniedAlways smallSet
	actions                       []*ast.Term
	imsElems                      [len(imsLists)][]*ast.Term // input.ims, by imsLists index
	noEPAPIs                      ast.Set                    // input.ims.no_ep_apis (nil: empty)
	res                           []*ast.Term
	uris                          []*ast.Term
	ops                           []*ast.Term
	keys                          []*ast.Term
}

// inputKeys are the object keys of the lint input; New makes one term of each.
func inputKeys() []string {
	return []string{
		"Action", "NotAction", "NotResource", "Resource", "account", "action", "action_broad", "action_chars",
		"action_irregular", "action_length", "action_segments", "action_unknown", "action_upper_service",
		"actions", "agency", "agency_uris", "allow", "bad_chars", "base", "base_lower", "blank", "boolean",
		"catalog", "charset", "condition", "condition_keys", "condition_operators", "conditional", "conditions",
		"control", "count", "date", "deny", "depends", "display_name", "document", "effect", "effect_field",
		"effect_irregular", "entries", "expands", "family", "field", "file", "glob", "has", "has_qualifier",
		"ims", "index", "ip", "key", "key_lower", "keys", "kind", "known", "length", "limits", "lower", "m",
		"max", "members", "minified", "missing", "name", "no_policy", "norm_segments", "not_action",
		"not_resource", "number", "op", "operator_catalog", "parses", "pointer", "qmark", "qualifier",
		"qualifier_lower", "raw", "region", "resource", "resource_length", "resources", "root", "segments",
		"service", "service_lower", "services", "settings", "size", "statement", "statement_extra_key",
		"statement_irregular", "statements", "suffix", "suggestion", "top_extra_key", "type_lower",
		"upper_service", "uri_kind", "value", "value_length", "values", "version", "version_irregular",
		"wildcard", "wrapper", "over", "several_services", "policy_size", "statements", "agency_uri_length",
		"cond_value_type", "opm", "allowed", "denied", "denied_always", "partial_needs", "gaps_needs", "others", "partial_apis", "api", "has_no_ep", "role_response", "role_request", "role_display_name_irregular", "role_type_irregular",
		"role_description_irregular", "role_policy_irregular", "role_reserved", "cond_null", "id", "links", "domain_id",
		"created_time", "display_name", "type", "description", "policy", "catalog", "name", "flag", "Allow", "Deny", "", "has_deps", "has_partial", "has_gaps", "deps_direct", "deps_direct_apis", "f", "Effect", "Condition", "Sid", "no_ep", "ims_partial", "ims_deps", "no_ep_apis", "ims_deps_more", "deps_more", "ims_gaps", "ims_no_ep", "partial", "deps", "gaps", "no_ep_sections", "cond_operator_spelling", "cond_if_exists", "cond_qualifier", "cond_empty",
		"cond_null_check", "cond_value_control", "cond_value_charset", "cond_value_glob",
		"fn", "unknown", "code", "message", "fix", "apis", "apis_other", "string", "cond_key_unknown", "cond_key_type", "cond_value_unparsed", "gate", "action", "document", "statement", "wrapper", "template", "operation", "set_allowed",
	}
}

// it is one object item with a cached key term.
func (l *Linter) it(key string, v *ast.Term) [2]*ast.Term {
	return [2]*ast.Term{l.k(key), v}
}

func tStr(s string) *ast.Term { return ast.StringTerm(s) }
func tNum(i int) *ast.Term    { return ast.InternedTerm(i) }
func tBool(b bool) *ast.Term  { return ast.InternedTerm(b) }

// attached is what a document is linted with beyond itself: whether it is attached on an
// enterprise project (or I-EP-UNSUPPORTED is enabled: input.ims.no_ep is built only then)
// and input.set_allowed, the names the other documents of its policy set grant where it
// applies (nil: none).
type attached struct {
	ep         bool
	setAllowed *ast.Term
}

// input builds the lint input of document d of file f linted on its own; custom adds
// input.document (the policy as plain JSON) and input.wrapper.value for user rules.
func (l *Linter) input(f *policy.File, d *policy.Document, custom bool) ast.Value {
	return l.inputAt(f, d, custom, attached{ep: l.enabled[CodeEPUnsupported]})
}

// inputAt builds the lint input of document d of file f attached as at says.
func (l *Linter) inputAt(f *policy.File, d *policy.Document, custom bool, at attached) ast.Value {
	b := &inputBuilder{l: l, doc: d, ep: at.ep}
	root := d.Root
	ptr := ""
	if root != nil {
		ptr = root.Pointer
	} else if d.Wrapper != nil {
		ptr = d.Wrapper.Pointer + "/policy"
	}
	stmts := b.statements(root)
	minified := minifiedLen(root)
	items := make([][2]*ast.Term, 0, 32)
	items = append(items,
		l.it("file", tStr(f.Name)),
		l.it("pointer", tStr(ptr)),
		l.it("family", tStr(string(d.Family))),
		l.it("version", b.field(root.Get("Version"), true)),
		l.it("root", b.root(root)),
		l.it("statement", b.field(root.Get("Statement"), false)),
		l.it("statements", stmts),
		l.it("wrapper", b.wrapper(d, custom)),
		l.it("depends", b.depends(root)),
		l.it("size", ast.ObjectTerm(l.it("minified", tNum(minified)), l.it("raw", tNum(len(f.Data))))),
		l.it("actions", ast.ArrayTerm(b.actions...)),
		l.it("resources", ast.ArrayTerm(b.res...)),
		l.it("agency_uris", ast.ArrayTerm(b.uris...)),
		l.it("condition_operators", ast.ArrayTerm(b.ops...)),
		l.it("condition_keys", ast.ArrayTerm(b.keys...)),
		l.it("catalog", l.cat.term),
		l.it("operator_catalog", l.opTerm),
		l.it("limits", l.limitsTerm),
		l.it("settings", l.settingsTerm),
	)
	svc := make([]*ast.Term, len(b.services))
	for i, s := range b.services {
		svc[i] = tStr(s)
	}
	if len(b.services) > 1 {
		b.fact("several_services")
	}
	hasItems := make([][2]*ast.Term, len(b.has))
	for i, k := range b.has {
		hasItems[i] = l.it(k, tBool(true))
	}
	size := minified
	if l.sizeRaw {
		size = len(f.Data)
	}
	b.raise("policy_size", size)
	maxItems := make([][2]*ast.Term, len(b.max))
	var overItems [][2]*ast.Term
	var over []string
	for i, m := range b.max {
		maxItems[i] = l.it(m.name, tNum(m.value))
		if lim := l.limitOf[m.name]; lim > 0 && m.value > lim {
			overItems = append(overItems, l.it(m.name, tBool(true)))
			over = append(over, m.name)
		}
	}
	setAllowed := at.setAllowed
	if setAllowed == nil {
		setAllowed = l.emptySet
	}
	items = append(items, l.it("allowed", b.set(b.allowed)), l.it("denied", b.set(b.denied)), l.it("denied_always", b.set(b.deniedAlways)),
		l.it("set_allowed", setAllowed), l.it("ims", b.imsTerm()))
	items = append(items, l.it("services", ast.SetTerm(svc...)), l.it("has", ast.ObjectTerm(hasItems...)),
		l.it("max", ast.ObjectTerm(maxItems...)), l.it("over", ast.ObjectTerm(overItems...)),
		l.it("gate", l.gates.term(l, b.has, over, l.allGates)))
	if custom {
		items = append(items, l.it("document", plainTerm(root)))
	}
	return ast.NewObject(items...)
}

// field describes one member value: {kind, pointer, count} (count = elements or members),
// plus value and length when withValue and the value is a string; the shared missing term
// when n is nil. The terms are memoized: a field is a function of what it holds, and
// "/Statement/0/Effect" = "Allow" recurs in almost every document.
func (b *inputBuilder) field(n *policy.Node, withValue bool) *ast.Term {
	l := b.l
	if n == nil {
		return l.missing
	}
	count := len(n.Items) + len(n.Members)
	key := n.Pointer + "\x00" + n.Kind.String() + "\x00" + strconv.Itoa(count)
	if withValue && n.Kind == policy.KindString {
		key += "\x00" + n.Str
	}
	return l.fieldMemo.get(key, func() *ast.Term {
		if withValue && n.Kind == policy.KindString {
			return ast.ObjectTerm(l.it("kind", l.kind(n.Kind)), l.it("pointer", tStr(n.Pointer)), l.it("count", tNum(0)),
				l.it("value", tStr(n.Str)), l.it("length", tNum(utf8.RuneCountInString(n.Str))))
		}
		return ast.ObjectTerm(l.it("kind", l.kind(n.Kind)), l.it("pointer", tStr(n.Pointer)), l.it("count", tNum(count)))
	})
}

// root is {kind, pointer, keys: [member names]} of the policy object.
func (b *inputBuilder) root(n *policy.Node) *ast.Term {
	l := b.l
	if n == nil {
		b.fact("no_policy")
		return l.missing
	}
	if v := n.Get("Version"); v == nil || v.Kind != policy.KindString || (v.Str != "1.0" && v.Str != "1.1" && v.Str != "5.0") {
		b.fact("version_irregular")
	}
	if s := n.Get("Statement"); s == nil || s.Kind != policy.KindArray || len(s.Items) == 0 {
		b.fact("statement_irregular")
	} else {
		b.raise("statements", len(s.Items))
	}
	return ast.ObjectTerm(l.it("kind", l.kind(n.Kind)), l.it("pointer", tStr(n.Pointer)), l.it("keys", b.memberKeys(n, "top_extra_key", "Version", "Statement")))
}

// memberKeys lists an object's member names and records fact when one is not in usual.
func (b *inputBuilder) memberKeys(n *policy.Node, fact string, usual ...string) *ast.Term {
	l := b.l
	var names strings.Builder
	for _, m := range n.Members {
		names.WriteString(m.Key)
		names.WriteByte(0)
	}
	keys := l.keysMemo.get(names.String(), func() *ast.Term {
		ts := make([]*ast.Term, len(n.Members))
		for i, m := range n.Members {
			ts[i] = l.k(m.Key)
		}
		return ast.ArrayTerm(ts...)
	})
	for _, m := range n.Members {
		found := false
		for _, u := range usual {
			if m.Key == u {
				found = true
				break
			}
		}
		if !found {
			b.fact(fact)
		}
	}
	return keys
}

// smallSet is an insertion-ordered set of a few strings (cheaper than a map here).
type smallSet []string

func (s *smallSet) add(x string) {
	for _, y := range *s {
		if y == x {
			return
		}
	}
	*s = append(*s, x)
}

// term returns the set as a Rego set of strings.
func (s smallSet) term() *ast.Term {
	ts := make([]*ast.Term, len(s))
	for i, x := range s {
		ts[i] = tStr(x)
	}
	return ast.SetTerm(ts...)
}

// set returns s as a Rego set, the shared empty set when s is empty.
func (b *inputBuilder) set(s smallSet) *ast.Term {
	if len(s) == 0 {
		return b.l.emptySet
	}
	return s.term()
}

// maximum is one input.max entry.
type maximum struct {
	name  string
	value int
}

// fact records an input.has fact.
func (b *inputBuilder) fact(name string) { b.has.add(name) }

// raise raises input.max[name] to v.
func (b *inputBuilder) raise(name string, v int) {
	for i := range b.max {
		if b.max[i].name == name {
			b.max[i].value = max(b.max[i].value, v)
			return
		}
	}
	b.max = append(b.max, maximum{name, v})
}

// statements builds input.statements from the Statement array and collects the actions,
// resources and conditions of every statement.
func (b *inputBuilder) statements(root *policy.Node) *ast.Term {
	arr := root.Get("Statement")
	if arr == nil || arr.Kind != policy.KindArray {
		return ast.ArrayTerm()
	}
	out := make([]*ast.Term, len(arr.Items))
	for i, n := range arr.Items {
		out[i] = b.statement(i, n)
	}
	return ast.ArrayTerm(out...)
}

func (b *inputBuilder) statement(i int, n *policy.Node) *ast.Term {
	l := b.l
	if n.Kind != policy.KindObject {
		b.fact("statement_irregular")
		return ast.ObjectTerm(l.it("index", tNum(i)), l.it("pointer", tStr(n.Pointer)), l.it("kind", l.kind(n.Kind)),
			l.it("effect", l.k("")), l.it("conditional", tBool(false)), l.it("keys", ast.ArrayTerm()))
	}
	effNode := n.Get("Effect")
	effect := ""
	if effNode != nil && effNode.Kind == policy.KindString {
		switch {
		case strings.EqualFold(effNode.Str, "allow"):
			effect = "Allow"
		case strings.EqualFold(effNode.Str, "deny"):
			effect = "Deny"
		}
	}
	if effNode == nil || effNode.Kind != policy.KindString || (effNode.Str != "Allow" && effNode.Str != "Deny") {
		b.fact("effect_irregular")
	}
	if effect != "" {
		b.fact(strings.ToLower(effect))
	}
	act, notAct := n.Get("Action"), n.Get("NotAction")
	res, notRes := n.Get("Resource"), n.Get("NotResource")
	cond := n.Get("Condition")
	conditional := cond != nil || (res != nil && res.Kind != policy.KindObject)
	if act == nil || act.Kind != policy.KindArray || len(act.Items) == 0 || notAct != nil {
		b.fact("action_irregular")
	}
	if act != nil {
		b.raise("actions", len(act.Items))
	}
	b.actionList(i, act, "Action", effect, conditional)
	b.actionList(i, notAct, "NotAction", effect, conditional)
	if res != nil || notRes != nil {
		b.fact("resource")
		b.resources(i, res, "Resource")
		b.resources(i, notRes, "NotResource")
	}
	if cond != nil {
		b.fact("condition")
		b.conditions(i, cond)
	}
	fields := make([][2]*ast.Term, 0, 4)
	for _, m := range n.Members {
		switch m.Key {
		case "Effect", "Action", "NotAction", "NotResource", "Condition", "Sid":
			fields = append(fields, l.it(m.Key, b.field(m.Value, m.Key == "Effect" || m.Key == "Sid")))
		}
	}
	if res != nil && res.Kind != policy.KindObject {
		fields = append(fields, l.it("Resource", b.field(res, false)))
	}
	if res != nil && res.Kind == policy.KindObject {
		rk := make([]*ast.Term, len(res.Members))
		for j, m := range res.Members {
			rk[j] = tStr(m.Key)
		}
		uriKind := l.k("missing")
		if u := res.Get("uri"); u != nil {
			uriKind = l.kind(u.Kind)
		}
		fields = append(fields, l.it("Resource", ast.ObjectTerm(l.it("kind", l.kind(res.Kind)), l.it("pointer", tStr(res.Pointer)), l.it("count", tNum(len(res.Members))),
			l.it("keys", ast.ArrayTerm(rk...)), l.it("uri_kind", uriKind))))
	}
	return ast.ObjectTerm(
		l.it("index", tNum(i)), l.it("pointer", tStr(n.Pointer)), l.it("kind", l.kind(n.Kind)),
		l.it("keys", b.memberKeys(n, "statement_extra_key", "Effect", "Action", "Resource", "Condition")),
		l.it("effect", l.k(effect)), l.it("conditional", tBool(conditional)), l.it("f", ast.ObjectTerm(fields...)),
	)
}
