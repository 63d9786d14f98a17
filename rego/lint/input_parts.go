package lint

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/policy"
)

// resources adds a Resource or NotResource value to the input: array elements (a single
// string counts as one) go to input.resources, the URIs of an agency Resource object to
// input.agency_uris.
func (b *inputBuilder) resources(stmt int, n *policy.Node, field string) {
	if n == nil {
		return
	}
	switch n.Kind {
	case policy.KindObject:
		b.fact("agency")
		uri := n.Get("uri")
		if uri == nil {
			return
		}
		list := uri.Items
		if uri.Kind == policy.KindString {
			list = []*policy.Node{uri}
		}
		b.raise("agency_uris", len(list))
		for j, u := range list {
			b.uris = append(b.uris, b.uri(stmt, j, u))
		}
	case policy.KindString:
		b.raise("resources", 1)
		b.res = append(b.res, b.resource(stmt, 0, n, field))
	case policy.KindArray:
		b.raise("resources", len(n.Items))
		for j, it := range n.Items {
			b.res = append(b.res, b.resource(stmt, j, it, field))
		}
	}
}

// resource is {statement, index, field, pointer, kind, m: {value, length, segments,
// service_lower, region, account, type_lower, bad_chars}}.
func (b *inputBuilder) resource(stmt, j int, n *policy.Node, field string) *ast.Term {
	l := b.l
	items := []([2]*ast.Term){
		l.it("statement", tNum(stmt)), l.it("index", tNum(j)), l.it("field", l.k(field)),
		l.it("pointer", tStr(n.Pointer)), l.it("kind", l.kind(n.Kind)),
	}
	if n.Kind != policy.KindString {
		return ast.ObjectTerm(items...)
	}
	v := n.Str
	length := utf8.RuneCountInString(v)
	b.raise("resource_length", length)
	parts := strings.SplitN(v, ":", 5)
	seg := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	m := ast.ObjectTerm(
		l.it("value", tStr(v)), l.it("length", tNum(length)), l.it("segments", tNum(len(parts))),
		l.it("service_lower", tStr(strings.ToLower(seg(0)))), l.it("region", tStr(seg(1))), l.it("account", tStr(seg(2))),
		l.it("type_lower", tStr(strings.ToLower(seg(3)))), l.it("bad_chars", tStr(outside(v, resourceAlphabet, 0))),
	)
	return ast.ObjectTerm(append(items, l.it("m", m))...)
}

// uri is {statement, index, pointer, kind, value, length, blank} of an agency URI.
func (b *inputBuilder) uri(stmt, j int, n *policy.Node) *ast.Term {
	l := b.l
	items := []([2]*ast.Term){l.it("statement", tNum(stmt)), l.it("index", tNum(j)), l.it("pointer", tStr(n.Pointer)), l.it("kind", l.kind(n.Kind))}
	if n.Kind == policy.KindString {
		blank := strings.IndexFunc(n.Str, unicode.IsSpace) >= 0
		items = append(items, l.it("value", tStr(n.Str)), l.it("length", tNum(utf8.RuneCountInString(n.Str))), l.it("blank", tBool(blank)))
	}
	return ast.ObjectTerm(items...)
}

// conditions adds a Condition object to the input: one input.condition_operators entry per operator
// member and one input.condition_keys entry per (operator, key) pair.
func (b *inputBuilder) conditions(stmt int, c *policy.Node) {
	if c.Kind != policy.KindObject {
		b.fact("cond_value_type")
		return
	}
	pairs := 0
	l := b.l
	if len(c.Members) == 0 {
		b.fact("cond_empty")
	}
	for k, m := range c.Members {
		opIndex := len(b.ops)
		v := m.Value
		b.operatorFacts(m.Key)
		if v.Kind != policy.KindObject {
			b.fact("cond_value_type")
		}
		opM := l.operatorInfo(m.Key)
		b.ops = append(b.ops, ast.ObjectTerm(
			l.it("statement", tNum(stmt)), l.it("index", tNum(k)), l.it("pointer", tStr(v.Pointer)), l.it("kind", l.kind(v.Kind)),
			l.it("count", tNum(len(v.Members)+len(v.Items))), l.it("m", opM),
		))
		if v.Kind != policy.KindObject {
			continue
		}
		pairs += len(v.Members)
		for _, km := range v.Members {
			b.keys = append(b.keys, b.condKey(opIndex, opM, km))
		}
	}
	b.raise("conditions", pairs)
}

// operatorInfo splits an operator name as written (memoized) into an optional qualifier
// (before the first ':'), the base name and an optional "IfExists" suffix (in any letter
// case): {name, qualifier, qualifier_lower, has_qualifier, base, base_lower, suffix,
// suggestion, catalog}; catalog is the base's input.operator_catalog entry, absent when
// the base is not a known operator.
func (l *Linter) operatorInfo(written string) *ast.Term {
	return l.opMemo.get(written, func() *ast.Term {
		name, qual := written, ""
		hasQual := false
		if q, rest, ok := strings.Cut(name, ":"); ok {
			qual, name, hasQual = q, rest, true
		}
		base, suffix := name, ""
		const ie = "IfExists"
		if len(name) > len(ie) && strings.EqualFold(name[len(name)-len(ie):], ie) && !l.opLower[strings.ToLower(name)] {
			base, suffix = name[:len(name)-len(ie)], name[len(name)-len(ie):]
		}
		suggestion := ""
		if !l.opLower[strings.ToLower(base)] {
			suggestion = policy.Nearest(base, l.opNames)
		}
		items := []([2]*ast.Term){
			l.it("name", tStr(written)), l.it("qualifier", tStr(qual)), l.it("qualifier_lower", tStr(strings.ToLower(qual))),
			l.it("has_qualifier", tBool(hasQual)), l.it("base", tStr(base)), l.it("base_lower", tStr(strings.ToLower(base))),
			l.it("suffix", tStr(suffix)), l.it("suggestion", tStr(suggestion)),
		}
		if op := l.opObj.Get(tStr(strings.ToLower(base))); op != nil {
			items = append(items, l.it("catalog", op))
		}
		return ast.ObjectTerm(items...)
	})
}

// condKey is {op, opm, key, key_lower, type, pointer, kind, count, values}: op indexes
// input.condition_operators and opm is that operator's m; type is the key's type
// (key_type in knowledge.rego, "unknown" for keys no table lists); values are
// {pointer, kind, m} with m the value's measurements (valueFacts). Facts: cond_key_unknown,
// cond_key_type (the operator compares another type), cond_value_unparsed (a value fails
// the parse the operator requires).
func (b *inputBuilder) condKey(op int, opm *ast.Term, m policy.Member) *ast.Term {
	l := b.l
	v := m.Value
	lower := strings.ToLower(m.Key)
	kt := l.keyType(b.doc.Family, lower)
	fn, opType := l.operatorOf(opm)
	if kt == "unknown" {
		b.fact("cond_key_unknown")
	} else if opType != "" && opType != string(policy.TypeNull) && kt != opType {
		b.fact("cond_key_type")
	}
	parse := l.valueType[fn]
	var vals []*ast.Term
	switch v.Kind {
	case policy.KindString:
		b.fact("cond_value_type")
		vals = []*ast.Term{b.condValue(v, parse)}
	case policy.KindArray:
		vals = make([]*ast.Term, len(v.Items))
		for i, it := range v.Items {
			vals[i] = b.condValue(it, parse)
		}
	default:
		b.fact("cond_value_type")
	}
	if len(vals) == 0 {
		b.fact("cond_empty")
	}
	b.raise("values", len(vals))
	return ast.ObjectTerm(
		l.it("op", tNum(op)), l.it("opm", opm), l.it("key", tStr(m.Key)), l.it("key_lower", tStr(lower)),
		l.it("type", l.k(kt)), l.it("pointer", tStr(v.Pointer)), l.it("kind", l.kind(v.Kind)), l.it("count", tNum(len(vals))),
		l.it("values", ast.ArrayTerm(vals...)),
	)
}

// condValue describes one condition value; parse is the parse the operator requires
// (value_type in condition.rego, "" for none): a string value that fails it records
// the fact cond_value_unparsed.
func (b *inputBuilder) condValue(n *policy.Node, parse string) *ast.Term {
	l := b.l
	if n.Kind != policy.KindString {
		b.fact("cond_value_type")
		return ast.ObjectTerm(l.it("pointer", tStr(n.Pointer)), l.it("kind", l.kind(n.Kind)))
	}
	vm := l.valueFacts(n.Str)
	for _, f := range vm.facts {
		b.fact(f)
	}
	if parse != "" && !vm.parses.is(parse) {
		b.fact("cond_value_unparsed")
	}
	b.raise("value_length", vm.length)
	return ast.ObjectTerm(l.it("pointer", tStr(n.Pointer)), l.it("kind", l.kind(n.Kind)), l.it("m", vm.term))
}

// operatorFacts records the facts an operator name contributes: a spelling that is not
// one of the catalogue's canonical operator names (with optional qualifier and IfExists),
// an IfExists suffix, a qualifier, and the null checks (IsNull, IsNotNull, IsNullOrEmpty, Null).
func (b *inputBuilder) operatorFacts(written string) {
	name := written
	if q, rest, ok := strings.Cut(name, ":"); ok {
		b.fact("cond_qualifier")
		if q != "ForAllValues" && q != "ForAnyValue" {
			b.fact("cond_operator_spelling")
		}
		name = rest
	}
	base := name
	if trimmed, ok := strings.CutSuffix(name, "IfExists"); ok && !b.l.opLower[strings.ToLower(name)] {
		b.fact("cond_if_exists")
		base = trimmed
	} else if len(name) > 8 && strings.EqualFold(name[len(name)-8:], "IfExists") {
		b.fact("cond_operator_spelling")
		b.fact("cond_if_exists")
		base = name[:len(name)-8]
	}
	op, ok := b.l.opCanon[base]
	if !ok {
		b.fact("cond_operator_spelling")
		op, ok = b.l.opByLower[strings.ToLower(base)]
	}
	if ok && op.Type == policy.TypeNull && op.Fn != "null" {
		b.fact("cond_null_check")
	}
	if ok && op.Fn == "null" {
		b.fact("cond_null")
	}
}

// operatorOf returns the fn and type of the catalogue entry an operator measurement
// (operatorInfo) carries, "" for unknown operators: exactly what the rules read as
// k.opm.catalog.
func (l *Linter) operatorOf(opm *ast.Term) (fn, typ string) {
	o, ok := opm.Value.(ast.Object)
	if !ok {
		return "", ""
	}
	c := o.Get(l.k("catalog"))
	if c == nil {
		return "", ""
	}
	co, ok := c.Value.(ast.Object)
	if !ok {
		return "", ""
	}
	fn, _ = termString(co.Get(l.k("fn")))
	typ, _ = termString(co.Get(l.k("type")))
	return fn, typ
}

// valueMeasure is what the linter derives from one condition value.
type valueMeasure struct {
	term   *ast.Term // input.condition_keys[_].values[_].m
	facts  []string
	length int
	parses valueParses
}

// valueFacts measures a condition value (memoized): the m term {value, length, control,
// charset, glob, parses: {number, date, boolean, ip}} and the facts it contributes.
func (l *Linter) valueFacts(v string) valueMeasure {
	return l.valueMemo.get(v, func() valueMeasure {
		p := parseValue(v)
		vm := valueMeasure{length: utf8.RuneCountInString(v), parses: p}
		control, charset, glob := hasControl(v), outside(v, valueAlphabet, 0), strings.ContainsAny(v, "*?")
		if control {
			vm.facts = append(vm.facts, "cond_value_control")
		}
		if charset != "" {
			vm.facts = append(vm.facts, "cond_value_charset")
		}
		if glob {
			vm.facts = append(vm.facts, "cond_value_glob")
		}
		if v == "" {
			vm.facts = append(vm.facts, "cond_empty")
		}
		vm.term = ast.ObjectTerm(
			l.it("value", tStr(v)), l.it("length", tNum(vm.length)), l.it("control", tBool(control)),
			l.it("charset", tStr(charset)), l.it("glob", tBool(glob)),
			l.it("parses", ast.ObjectTerm(l.it("number", tBool(p.number)), l.it("date", tBool(p.date)), l.it("boolean", tBool(p.boolean)), l.it("ip", tBool(p.ip)))),
		)
		return vm
	})
}

// wrapper is {kind, pointer, node_kind, members: {key: field}} for role wrappers
// ({"role": ...} and roles[i]); members is empty for the other kinds. custom adds value,
// the wrapper as plain JSON.
func (b *inputBuilder) wrapper(d *policy.Document, custom bool) *ast.Term {
	l := b.l
	if d.WrapperKind == policy.WrapperNone && !custom {
		return l.noWrapper
	}
	ptr := ""
	if d.Wrapper != nil {
		ptr = d.Wrapper.Pointer
	} else if d.Root != nil && d.WrapperKind == policy.WrapperPolicyDocument {
		ptr = d.Root.Pointer
	}
	members := make([][2]*ast.Term, 0, 8)
	kind := l.k("missing")
	if w := d.Wrapper; w != nil {
		kind = l.kind(w.Kind)
		for _, m := range w.Members {
			members = append(members, [2]*ast.Term{l.k(m.Key), b.field(m.Value, true)})
		}
		if d.WrapperKind == policy.WrapperRole {
			b.roleFacts(w)
		}
	}
	items := []([2]*ast.Term){l.it("kind", tStr(d.WrapperKind)), l.it("pointer", tStr(ptr)), l.it("node_kind", kind), l.it("members", ast.ObjectTerm(members...))}
	if custom {
		items = append(items, l.it("value", plainTerm(d.Wrapper)))
	}
	return ast.ObjectTerm(items...)
}

// roleFacts records which members of a {"role": ...} wrapper differ from the documented
// request form (spec 9.1): role_response when it has members only responses carry (id,
// links, domain_id, created_time), role_request otherwise, and role_<member>_irregular for a display_name that
// is missing, not a string, blank, longer than 64 characters or holding control
// characters or < >, a type that is not "AX" or "XA", a description that is not a string,
// and role_reserved for catalog, flag or name.
func (b *inputBuilder) roleFacts(w *policy.Node) {
	response := false
	for _, k := range []string{"id", "links", "domain_id", "created_time"} {
		response = response || w.Get(k) != nil
	}
	if response {
		b.fact("role_response")
	} else {
		b.fact("role_request")
	}
	if n := w.Get("display_name"); n == nil || n.Kind != policy.KindString || strings.TrimSpace(n.Str) == "" ||
		utf8.RuneCountInString(n.Str) > 64 || strings.ContainsAny(n.Str, "<>\x7f") || hasControl(n.Str) {
		b.fact("role_display_name_irregular")
	}
	if n := w.Get("type"); n == nil || n.Kind != policy.KindString || (n.Str != "AX" && n.Str != "XA") {
		b.fact("role_type_irregular")
	}
	if n := w.Get("description"); n == nil || n.Kind != policy.KindString {
		b.fact("role_description_irregular")
	}
	if w.Get("policy") == nil || w.Get("policy").Kind != policy.KindObject {
		b.fact("role_policy_irregular")
	}
	for _, k := range []string{"catalog", "flag", "name"} {
		if w.Get(k) != nil {
			b.fact("role_reserved")
		}
	}
}

// depends is the Depends field with its entries: {kind, pointer, count, entries:
// [{pointer, kind, catalog, display_name}]}, or the missing term.
func (b *inputBuilder) depends(root *policy.Node) *ast.Term {
	l := b.l
	n := root.Get("Depends")
	if n == nil {
		return l.missing
	}
	b.fact("depends")
	entries := make([]*ast.Term, len(n.Items))
	for i, e := range n.Items {
		cat, name := "", ""
		if c := e.Get("catalog"); c != nil && c.Kind == policy.KindString {
			cat = c.Str
		}
		if dn := e.Get("display_name"); dn != nil && dn.Kind == policy.KindString {
			name = dn.Str
		}
		entries[i] = ast.ObjectTerm(l.it("pointer", tStr(e.Pointer)), l.it("kind", l.kind(e.Kind)), l.it("catalog", tStr(cat)), l.it("display_name", tStr(name)))
	}
	return ast.ObjectTerm(l.it("kind", l.kind(n.Kind)), l.it("pointer", tStr(n.Pointer)), l.it("count", tNum(len(n.Items)+len(n.Members))), l.it("entries", ast.ArrayTerm(entries...)))
}

// plainTerm converts a parsed node to the Rego value of its JSON (duplicate keys: the last
// one wins), null for nil.
func plainTerm(n *policy.Node) *ast.Term {
	if n == nil {
		return ast.NullTerm()
	}
	switch n.Kind {
	case policy.KindBool:
		return ast.BooleanTerm(n.Bool)
	case policy.KindNumber:
		return ast.NumberTerm(json.Number(n.Str))
	case policy.KindString:
		return ast.StringTerm(n.Str)
	case policy.KindArray:
		items := make([]*ast.Term, len(n.Items))
		for i, it := range n.Items {
			items[i] = plainTerm(it)
		}
		return ast.ArrayTerm(items...)
	case policy.KindObject:
		obj := ast.NewObject()
		for _, m := range n.Members {
			obj.Insert(ast.StringTerm(m.Key), plainTerm(m.Value))
		}
		return ast.NewTerm(obj)
	default:
		return ast.NullTerm()
	}
}
