package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/policy"
)

// decodeFindings turns the findings set of one evaluation into Findings (without
// positions), rendering the placeholders of the findings marked "template": true (their
// message and fix are constant templates; rules.rego). Other findings' text is final: it
// may hold user values, which must never be read as a template.
func (l *Linter) decodeFindings(t *ast.Term, f *policy.File) ([]Finding, error) {
	set, ok := t.Value.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("%w: findings is %T, not a set", ErrEvaluation, t.Value)
	}
	out := make([]Finding, 0, set.Len())
	var err error
	set.Foreach(func(x *ast.Term) {
		obj, ok := x.Value.(ast.Object)
		if !ok {
			err = fmt.Errorf("%w: finding %v is not an object", ErrEvaluation, x)
			return
		}
		fd := Finding{File: f.Name}
		fd.Code, _ = termString(obj.Get(l.k("code")))
		fd.Pointer, _ = termString(obj.Get(l.k("pointer")))
		fd.Message, _ = termString(obj.Get(l.k("message")))
		fd.Fix, _ = termString(obj.Get(l.k("fix")))
		if fd.Code == "" || fd.Message == "" {
			err = fmt.Errorf("%w: finding %v lacks a code or a message", ErrEvaluation, x)
			return
		}
		if tmpl := obj.Get(l.k("template")); tmpl != nil && tmpl.Value.Compare(ast.Boolean(true)) == 0 {
			p := &placeholderArgs{l: l, obj: obj, file: f, ptr: fd.Pointer}
			fd.Message, fd.Fix = p.render(fd.Message), p.render(fd.Fix)
		}
		fd.Severity = l.severity(fd.Code, policy.SeverityError)
		out = append(out, fd)
	})
	return out, err
}

// placeholderArgs renders the placeholders of a built-in message template: {value}, the
// string the finding's pointer designates, {operation}, and the lists the finding carries
// in "apis", "apis_other" and "actions" (see rules.rego). Substituted text is written out,
// never scanned again.
type placeholderArgs struct {
	l     *Linter
	obj   ast.Object
	file  *policy.File
	ptr   string
	lists map[string][]string // the lists read so far, by key (message and fix share them)
}

// render replaces every known {name} in tmpl; unknown braces are kept as they are.
func (p *placeholderArgs) render(tmpl string) string {
	if strings.IndexByte(tmpl, '{') < 0 {
		return tmpl
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 128)
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+1 : i+j]
		if v, ok := p.value(name); ok {
			b.WriteString(v)
		} else {
			b.WriteString(tmpl[i : i+j+1])
		}
		tmpl = tmpl[i+j+1:]
	}
}

func (p *placeholderArgs) value(name string) (string, bool) {
	list := func(key string) []string {
		if l, ok := p.lists[key]; ok {
			return l
		}
		if p.lists == nil {
			p.lists = map[string][]string{}
		}
		l := termStrings(p.obj.Get(p.l.k(key)))
		p.lists[key] = l
		return l
	}
	switch name {
	case "value":
		return p.pointed(), true
	case "apis":
		return p.l.cat.apiText(list("apis"), true), true
	case "sections":
		return p.l.cat.apiText(list("apis"), false), true
	case "ep_sections":
		return p.l.cat.epText(list("apis")), true
	case "families":
		return p.l.cat.familyText(list("apis")), true
	case "apis_other":
		return p.l.cat.apiText(list("apis_other"), true), true
	case "families_other":
		return p.l.cat.familyText(list("apis_other")), true
	case "operation":
		s, _ := termString(p.obj.Get(p.l.k("operation")))
		return s, true
	case "actions":
		acts := list("actions") // sorted in place: every use wants them sorted
		sort.Strings(acts)
		return strings.Join(acts, ", "), true
	}
	return "", false
}

// pointed is the string at the finding's pointer ("" when it is not a string).
func (p *placeholderArgs) pointed() string {
	if d := documentAt(p.file, p.ptr); d != nil {
		if n := d.Find(strings.TrimPrefix(p.ptr, d.Pointer)); n != nil && n.Kind == policy.KindString {
			return n.Str
		}
		return ""
	}
	if n := p.file.Root.Find(p.ptr); n != nil && n.Kind == policy.KindString {
		return n.Str
	}
	return ""
}

// documentAt returns the root of the policy_document string's tree that ptr points into,
// nil when it points elsewhere.
func documentAt(f *policy.File, ptr string) *policy.Node {
	for _, d := range f.Documents {
		if d.WrapperKind == policy.WrapperPolicyDocument && d.Root != nil && strings.HasPrefix(ptr, d.Root.Pointer) {
			return d.Root
		}
	}
	return nil
}

// termStrings returns the strings of a set or array term.
func termStrings(t *ast.Term) []string {
	if t == nil {
		return nil
	}
	var out []string
	switch v := t.Value.(type) {
	case ast.Set:
		out = make([]string, 0, v.Len())
	case *ast.Array:
		out = make([]string, 0, v.Len())
	}
	add := func(x *ast.Term) {
		if s, ok := termString(x); ok {
			out = append(out, s)
		}
	}
	switch v := t.Value.(type) {
	case ast.Set:
		v.Foreach(add)
	case *ast.Array:
		v.Foreach(add)
	}
	return out
}
