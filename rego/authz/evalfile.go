package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

type rawEvalFile struct {
	Attachments []rawAttachment `json:"attachments"`
	Request     rawRequest      `json:"request"`
}

type rawAttachment struct {
	Name   string          `json:"name"`
	Policy json.RawMessage `json:"policy"`
	Scope  json.RawMessage `json:"scope"`
}

type rawScope struct {
	Kind               string   `json:"kind"`
	Projects           []string `json:"projects"`
	EnterpriseProjects []string `json:"enterpriseProjects"`
}

type rawRequest struct {
	Action                       string                     `json:"action"`
	Method                       string                     `json:"method"`
	URL                          string                     `json:"url"`
	Body                         json.RawMessage            `json:"body"`
	Project                      string                     `json:"project"`
	EnterpriseProjectID          string                     `json:"enterpriseProjectId"`
	APISupportsEnterpriseProject *bool                      `json:"apiSupportsEnterpriseProject"`
	Context                      map[string]json.RawMessage `json:"context"`
}

// LoadEvalFile reads an eval input file: {"attachments": [{"policy": <document or path
// relative to the file>, "scope": {"kind": ..., "projects": [...],
// "enterpriseProjects": [...]} or "all_projects"}], "request": {"action" | "method" + "url"
// (+ "body"), "project", "enterpriseProjectId", "context": {key: [values] | value}}}.
// Unknown fields are errors. Policy documents with JSON problems are errors.
func LoadEvalFile(path string) (*EvalFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read eval input: %w", err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrEvalFile, path, fmt.Sprintf(format, args...))
	}
	var raw rawEvalFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fail("%v (expected {\"attachments\": [...], \"request\": {...}})", err)
	}
	if dec.More() {
		return nil, fail("more than one JSON value")
	}
	out := &EvalFile{}
	for i, ra := range raw.Attachments {
		att, err := loadAttachment(path, i, ra)
		if err != nil {
			return nil, fail("attachments[%d]: %v", i, err)
		}
		out.Attachments = append(out.Attachments, att)
	}
	in, err := raw.Request.input()
	if err != nil {
		return nil, fail("request: %v", err)
	}
	out.Input = in
	return out, nil
}

func loadAttachment(file string, i int, ra rawAttachment) (Attachment, error) {
	var att Attachment
	scope, err := parseScope(ra.Scope)
	if err != nil {
		return att, err
	}
	att.Scope = scope
	if len(ra.Policy) == 0 {
		return att, errors.New("missing \"policy\" (a policy document, or a path relative to the input file)")
	}
	var name string
	var doc []byte
	var rel string
	if json.Unmarshal(ra.Policy, &rel) == nil {
		p := rel
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return att, fmt.Errorf("policy: %w", err)
		}
		name, doc = p, b
	} else {
		name, doc = fmt.Sprintf("%s#/attachments/%d/policy", file, i), ra.Policy
	}
	d, err := SingleDocument(policy.Parse(name, doc))
	if err != nil {
		return att, err
	}
	att.Document = d
	att.Name = name
	if ra.Name != "" {
		att.Name = ra.Name
	}
	return att, nil
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

func parseScope(raw json.RawMessage) (Scope, error) {
	if len(raw) == 0 {
		return Scope{Kind: ScopeAllProjects}, nil
	}
	var kind string
	if json.Unmarshal(raw, &kind) == nil {
		return Scope{Kind: ScopeKind(kind)}, nil
	}
	var rs rawScope
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		return Scope{}, fmt.Errorf("scope: %v (expected {\"kind\": \"project\", \"projects\": [...]})", err)
	}
	return Scope{Kind: ScopeKind(rs.Kind), Projects: rs.Projects, EnterpriseProjects: rs.EnterpriseProjects}, nil
}

func (r rawRequest) input() (Input, error) {
	in := Input{
		Action: r.Action, Method: strings.ToUpper(r.Method), URL: r.URL,
		Project: r.Project, EnterpriseProjectID: r.EnterpriseProjectID,
		APISupportsEP: r.APISupportsEnterpriseProject, Explain: true,
	}
	if len(r.Body) > 0 {
		var s string
		if json.Unmarshal(r.Body, &s) == nil {
			in.Body = []byte(s)
		} else {
			in.Body = r.Body
		}
	}
	if (in.Action == "") == (in.Method == "") {
		return in, errors.New("give either \"action\" or \"method\" and \"url\"")
	}
	if in.Method != "" && in.URL == "" {
		return in, errors.New("\"method\" needs \"url\"")
	}
	ctx, err := parseContext(r.Context)
	if err != nil {
		return in, err
	}
	in.Context = ctx
	return in, nil
}

func parseContext(raw map[string]json.RawMessage) (map[string][]string, error) {
	out := map[string][]string{}
	for k, v := range raw {
		var list []string
		if json.Unmarshal(v, &list) == nil {
			out[k] = list
			continue
		}
		var one string
		if json.Unmarshal(v, &one) == nil {
			out[k] = []string{one}
			continue
		}
		return nil, fmt.Errorf("context %q: values must be a string or an array of strings", k)
	}
	return out, nil
}
