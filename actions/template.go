package actions

import (
	"fmt"
	"regexp"
	"strings"
)

// template is a compiled path template: literal segments and {param} segments.
type template struct {
	segs []tseg
}

type tseg struct {
	literal string         // when param == ""
	param   string         // parameter name
	re      *regexp.Regexp // optional constraint (anchored)
}

var paramNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func compileTemplate(path string, patterns map[string]string) (template, error) {
	if !strings.HasPrefix(path, "/") {
		return template{}, fmt.Errorf("template %q must start with /", path)
	}
	var t template
	used := map[string]bool{}
	if path != "/" {
		if strings.HasSuffix(path, "/") {
			return template{}, fmt.Errorf("template %q must not end with /", path)
		}
		for _, s := range strings.Split(path[1:], "/") {
			switch {
			case s == "":
				return template{}, fmt.Errorf("template %q has an empty segment", path)
			case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
				name := s[1 : len(s)-1]
				if !paramNameRe.MatchString(name) {
					return template{}, fmt.Errorf("template %q: parameter name %q must be snake_case", path, name)
				}
				if used[name] {
					return template{}, fmt.Errorf("template %q: parameter %q appears twice", path, name)
				}
				used[name] = true
				seg := tseg{param: name}
				if p, ok := patterns[name]; ok {
					re, err := regexp.Compile(`^(?:` + p + `)$`)
					if err != nil {
						return template{}, fmt.Errorf("params.%s: invalid regex %q: %v", name, p, err)
					}
					seg.re = re
				}
				t.segs = append(t.segs, seg)
			default:
				for i := 0; i < len(s); i++ {
					if !unreserved(s[i]) {
						return template{}, fmt.Errorf("template %q: literal segment %q may hold only letters, digits and -._~", path, s)
					}
				}
				if s == "." || s == ".." {
					return template{}, fmt.Errorf("template %q: dot segment", path)
				}
				t.segs = append(t.segs, tseg{literal: s})
			}
		}
	}
	for name := range patterns {
		if !used[name] {
			return template{}, fmt.Errorf("params.%s: no {%s} in template %q", name, name, path)
		}
	}
	return t, nil
}

// accepts reports whether the segment value s fits the template segment.
// paramNames lists the template's parameter names in order.
func (t template) paramNames() []string {
	var out []string
	for _, s := range t.segs {
		if s.param != "" {
			out = append(out, s.param)
		}
	}
	return out
}

func (s *tseg) accepts(v string) bool {
	if s.param == "" {
		return s.literal == v
	}
	if s.re != nil {
		return s.re.MatchString(v)
	}
	return v != "" // canonical segments are non-empty unreserved strings already
}

// overlap reports whether two templates could match the same canonical path, with an example.
// A parameter with a regex constraint overlaps a literal only if the literal satisfies it;
// two parameters always overlap (their languages share at least "v1"-like strings or any
// non-empty string).
func overlap(a, b template) (string, bool) {
	if len(a.segs) != len(b.segs) {
		return "", false
	}
	ex := make([]string, len(a.segs))
	for i := range a.segs {
		x, y := &a.segs[i], &b.segs[i]
		switch {
		case x.param == "" && y.param == "":
			if x.literal != y.literal {
				return "", false
			}
			ex[i] = x.literal
		case x.param == "":
			if !y.accepts(x.literal) {
				return "", false
			}
			ex[i] = x.literal
		case y.param == "":
			if !x.accepts(y.literal) {
				return "", false
			}
			ex[i] = y.literal
		default:
			ex[i] = "{" + x.param + "}"
		}
	}
	return "/" + strings.Join(ex, "/"), true
}

// unreserved reports whether c is an RFC 3986 unreserved character.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
