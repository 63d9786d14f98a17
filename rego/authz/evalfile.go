package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// ErrEvalFile is wrapped by errors about an `imsguard eval --input` file.
var ErrEvalFile = errors.New("invalid eval input")

// EvalFile is a decision request in the spec's §7.1 shape, as read from a file.
type EvalFile struct {
	Attachments []Attachment
	Input       Input
}

// LoadEvalFile reads an eval input file (at most policy.MaxFileSize bytes) and parses it
// with ParseEvalFile.
func LoadEvalFile(path string) (*EvalFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read eval input: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, policy.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read eval input: %w", err)
	}
	if len(data) > policy.MaxFileSize {
		return nil, fmt.Errorf("read eval input %s: %w", path, policy.ErrTooLarge)
	}
	return ParseEvalFile(path, data)
}

// ParseEvalFile parses an eval input file named path:
//
//	{"attachments": [{"name": label, "policy": <document> | "path relative to the file",
//	                  "scope": "all_projects" | {"kind": ..., "projects": [...],
//	                                             "enterpriseProjects": [...]}}],
//	 "request": {"action": A | "method": M, "url": U (, "body": string or JSON),
//	             "project", "enterpriseProjectId", "apiSupportsEnterpriseProject",
//	             "resource": "service:region:account:type:path",
//	             "context": {key: [values] | value}}}
//
// It uses the positioned parser of policy documents: a UTF-8 byte-order mark is skipped,
// and a syntax error, a duplicate key, an unknown field, a value of the wrong type or a
// malformed action, resource or scope is an *EvalFileError with its line:column. Inline
// policies keep the input file's positions; JSON problems of referenced policy files are
// errors too.
func ParseEvalFile(path string, data []byte) (*EvalFile, error) {
	root, probs := policy.ParseJSON(data)
	for _, p := range probs {
		if p.Severity == policy.SeverityError {
			return nil, &EvalFileError{File: path, Pos: p.Pos, Pointer: p.Pointer, Code: p.Code, Message: p.Message}
		}
	}
	r := &evalReader{path: path, data: data}
	return r.file(root)
}

func (r *evalReader) file(root *policy.Node) (*EvalFile, error) {
	f, err := r.fields(root, `{"attachments": [...], "request": {...}}`, "attachments", "request")
	if err != nil {
		return nil, err
	}
	out := &EvalFile{}
	if a := f["attachments"]; a != nil {
		if a.Kind != policy.KindArray {
			return nil, r.fail(a, nil, `must be an array, found %s; write "attachments": [{"policy": "policy.json", "scope": "all_projects"}]`, kindText(a))
		}
		for _, it := range a.Items {
			att, err := r.attachment(it)
			if err != nil {
				return nil, err
			}
			out.Attachments = append(out.Attachments, att)
		}
	}
	req := f["request"]
	if req == nil {
		return nil, r.fail(root, nil, `has no "request"; add "request": {"action": "ims:images:list", "project": "ae-ad-1"}`)
	}
	if out.Input, err = r.request(req); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *evalReader) attachment(n *policy.Node) (Attachment, error) {
	var att Attachment
	f, err := r.fields(n, `{"policy": "policy.json", "scope": "all_projects"}`, "name", "policy", "scope")
	if err != nil {
		return att, err
	}
	if att.Scope, err = r.scope(f["scope"]); err != nil {
		return att, err
	}
	pn := f["policy"]
	var name string
	switch {
	case pn == nil:
		return att, r.fail(n, nil, `has no "policy": give a policy document, or the path of a policy file relative to the input file`)
	case pn.Kind == policy.KindString:
		p := pn.Str
		if p == "" {
			return att, r.fail(pn, nil, "is empty; give the path of a policy file relative to the input file, or the document itself")
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(r.path), p)
		}
		files, err := policy.Load([]string{p}, nil)
		if err != nil {
			return att, r.fail(pn, err, "%v (paths are relative to the input file)", err)
		}
		if len(files) != 1 {
			return att, r.fail(pn, nil, "%s holds %d policy files; attach them one by one", p, len(files))
		}
		if att.Document, err = SingleDocument(files[0]); err != nil {
			return att, r.fail(pn, err, "%v", err)
		}
		name = p
	case pn.Kind == policy.KindObject:
		name = r.path + "#" + pn.Pointer
		docs, probs := policy.DocumentsIn(name, r.data, pn)
		for _, p := range probs {
			if p.Severity == policy.SeverityError {
				return att, &EvalFileError{File: r.path, Pos: p.Pos, Pointer: p.Pointer, Code: p.Code, Message: subject(pn.Pointer) + p.Message}
			}
		}
		if len(docs) != 1 {
			return att, r.fail(pn, nil, "holds %d policy documents; attach them one by one", len(docs))
		}
		att.Document = docs[0]
	default:
		return att, r.fail(pn, nil, "must be a policy document (an object) or the path of a policy file relative to the input file (a string), found %s", kindText(pn))
	}
	att.Name = name
	if label, err := r.str(f, "name", "readers"); err != nil {
		return att, err
	} else if label != "" {
		att.Name = label
	}
	return att, nil
}

// scope reads an attachment's scope: absent means all projects.
func (r *evalReader) scope(n *policy.Node) (Scope, error) {
	var s Scope
	switch {
	case n == nil:
		return Scope{Kind: ScopeAllProjects}, nil
	case n.Kind == policy.KindString:
		s.Kind = ScopeKind(n.Str)
	case n.Kind == policy.KindObject:
		f, err := r.fields(n, `{"kind": "project", "projects": ["ae-ad-1"]}`, "kind", "projects", "enterpriseProjects")
		if err != nil {
			return s, err
		}
		if f["kind"] == nil {
			return s, r.fail(n, nil, `has no "kind" (all_projects, project, global or enterprise_project)`)
		}
		kind, err := r.str(f, "kind", "project")
		if err != nil {
			return s, err
		}
		s.Kind = ScopeKind(kind)
		if s.Projects, err = r.strList(f, "projects", "ae-ad-1"); err != nil {
			return s, err
		}
		if s.EnterpriseProjects, err = r.strList(f, "enterpriseProjects", "ep-1"); err != nil {
			return s, err
		}
	default:
		return s, r.fail(n, nil, `must be a scope kind such as "all_projects" or an object such as {"kind": "project", "projects": ["ae-ad-1"]}, found %s`, kindText(n))
	}
	if _, err := scopeData(s); err != nil {
		return s, r.fail(n, err, "%v", err)
	}
	return s, nil
}

// requestFields are the members of "request", in the order messages list them.
var requestFields = []string{"action", "method", "url", "body", "project", "enterpriseProjectId",
	"apiSupportsEnterpriseProject", "resource", "context"}

func (r *evalReader) request(n *policy.Node) (Input, error) {
	in := Input{Explain: true}
	f, err := r.fields(n, `{"action": "ims:images:list", "project": "ae-ad-1"}`, requestFields...)
	if err != nil {
		return in, err
	}
	for _, s := range []struct {
		key, example string
		dst          *string
	}{
		{"action", "ims:images:list", &in.Action}, {"method", "GET", &in.Method}, {"url", "/v2/images", &in.URL},
		{"project", "ae-ad-1", &in.Project}, {"enterpriseProjectId", "ep-1", &in.EnterpriseProjectID},
		{"resource", exampleResource, &in.Resource},
	} {
		if *s.dst, err = r.str(f, s.key, s.example); err != nil {
			return in, err
		}
	}
	in.Method = strings.ToUpper(in.Method)
	if b := f["apiSupportsEnterpriseProject"]; b != nil {
		if b.Kind != policy.KindBool {
			return in, r.fail(b, nil, "must be true or false, found %s", kindText(b))
		}
		in.APISupportsEP = &b.Bool
	}
	if b := f["body"]; b != nil {
		if in.Body, err = r.body(b); err != nil {
			return in, err
		}
	}
	switch {
	case (in.Action == "") == (in.Method == ""):
		return in, r.fail(n, nil, `give either "action" (e.g. "ims:images:list") or "method" and "url" (e.g. "GET", "/v2/images")`)
	case in.Method != "" && in.URL == "":
		return in, r.fail(f["method"], nil, `"method" needs "url", e.g. "url": "/v2/images"`)
	case in.Action != "" && (f["url"] != nil || f["body"] != nil):
		extra := f["url"]
		if extra == nil {
			extra = f["body"]
		}
		return in, r.fail(extra, nil, `"url" and "body" describe an HTTP request and need "method" instead of "action"; drop them, or replace "action" with "method"`)
	}
	if a := in.Action; a != "" && (strings.Count(a, ":") != 2 || strings.ContainsAny(a, "*? \t")) {
		return in, r.fail(f["action"], ErrBadInput, "%q is not an action: write service:resource:operation without wildcards, e.g. ims:images:list", a)
	}
	if f["resource"] != nil {
		if msg := resourceProblem(in.Resource); msg != "" {
			return in, r.fail(f["resource"], ErrBadInput, "%s", msg)
		}
	}
	if in.Context, err = r.context(f["context"]); err != nil {
		return in, err
	}
	return in, nil
}

// body is a string (the body's text) or any JSON value (its text as written).
func (r *evalReader) body(n *policy.Node) ([]byte, error) {
	if n.Kind == policy.KindString {
		return []byte(n.Str), nil
	}
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(r.data[n.Pos.Offset:])).Decode(&raw); err != nil {
		return nil, r.fail(n, err, "cannot be read: %v", err) // the parser accepted it: not expected
	}
	return raw, nil
}

// context reads the condition keys: each a string or an array of strings.
func (r *evalReader) context(n *policy.Node) (map[string][]string, error) {
	out := map[string][]string{}
	if n == nil {
		return out, nil
	}
	if n.Kind != policy.KindObject {
		return nil, r.fail(n, nil, `must be an object of condition keys, found %s; write "context": {"g:UserName": ["alice"]}`, kindText(n))
	}
	for _, m := range n.Members {
		v := m.Value
		switch v.Kind {
		case policy.KindString:
			out[m.Key] = []string{v.Str}
		case policy.KindArray:
			vals := make([]string, 0, len(v.Items))
			for _, it := range v.Items {
				if it.Kind != policy.KindString {
					return nil, r.fail(it, nil, "condition values are strings, found %s; write %q", kindText(it), literal(it))
				}
				vals = append(vals, it.Str)
			}
			out[m.Key] = vals
		default:
			return nil, r.fail(v, nil, "must be a string or an array of strings, found %s; write %q: [%q]", kindText(v), m.Key, literal(v))
		}
	}
	return out, nil
}

// SingleDocument returns the one policy document of a file, or an error naming the first
// JSON problem or saying how many documents there are.
func SingleDocument(f *policy.File) (*policy.Document, error) {
	for _, p := range f.Problems {
		if p.Severity == policy.SeverityError {
			return nil, fmt.Errorf("%s:%s: %s (%s)", f.Name, p.Pos, p.Message, p.Code)
		}
	}
	if len(f.Documents) != 1 {
		return nil, fmt.Errorf("%s holds %d policy documents; attach them one by one", f.Name, len(f.Documents))
	}
	return f.Documents[0], nil
}
