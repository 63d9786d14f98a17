package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Reason says why a request matched no API.
type Reason string

// The no-API reasons.
const (
	ReasonInvalidURL       Reason = "invalid_url"        // not a path or http(s) URL
	ReasonInvalidPath      Reason = "invalid_path"       // not one canonical path (see CanonicalPath)
	ReasonUnknownPath      Reason = "unknown_path"       // canonical, but no API has this path
	ReasonMethodNotAllowed Reason = "method_not_allowed" // an API has this path, not with this method
	ReasonInvalidQuery     Reason = "invalid_query"      // the query string is ambiguous or malformed (see ParseQuery)
)

// Param is one path parameter of a matched API.
type Param struct {
	Name  string
	Value string
}

// Params are the path parameters of a matched API in template order.
type Params []Param

// Get returns the value of the named parameter, or "".
func (p Params) Get(name string) string {
	for _, x := range p {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}

// MarshalJSON renders the parameters as a JSON object in template order.
func (p Params) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(x.Name)
		v, _ := json.Marshal(x.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Result is the outcome of routing (and resolving) a request.
type Result struct {
	// Matched is true when exactly one API matched.
	Matched bool
	// API is the matched API (nil when !Matched).
	API *API
	// Path is the canonical path: what is authorized and what must be forwarded.
	Path string
	// Query is the canonical encoding of QueryParams (Query.Encode): what is forwarded.
	Query string
	// QueryParams is the decoded query: what is authorized. Routing ignores it, but a query
	// that ParseQuery refuses makes the request match nothing (ReasonInvalidQuery).
	QueryParams Query
	// Params are the path parameters.
	Params Params
	// Actions are the actions this request requires (unconditional plus resolved
	// conditional). Filled by Match or Resolve; read-only.
	Actions []string
	// Dependencies are the dependent actions for this request. Read-only.
	Dependencies []string
	// Reason and Detail explain a non-match.
	Reason Reason
	Detail string
}

// Route finds the API for a method and URL without looking at a body. For an API whose
// actions depend on the body (API.NeedsBody), call Resolve with the body before using
// Actions; otherwise Actions already holds the API's actions.
func (c *Catalog) Route(method, rawURL string) Result {
	rawPath, rawQuery, err := SplitURL(rawURL)
	if err != nil {
		return Result{Reason: ReasonInvalidURL, Detail: err.Error()}
	}
	path, err := CanonicalPath(rawPath)
	if err != nil {
		return Result{Reason: ReasonInvalidPath, Detail: err.Error()}
	}
	params, err := ParseQuery(rawQuery)
	if err != nil {
		return Result{Path: path, Reason: ReasonInvalidQuery, Detail: err.Error()}
	}
	query := rawQuery // already canonical, as most clients send it
	if !params.encodes(rawQuery) {
		query = params.Encode()
	}
	var buf [8]string
	segs, ok := splitSegments(path, buf[:0], c.maxSegs)
	if !ok {
		return Result{Path: path, Query: query, Reason: ReasonUnknownPath, Detail: fmt.Sprintf("no IMS API has the path %s", path)}
	}
	for _, a := range c.byMethod[method] {
		if a.tmpl.match(segs) {
			r := Result{Matched: true, API: a, Path: path, Query: query, QueryParams: params, Params: a.tmpl.params(segs)}
			if !a.NeedsBody() {
				r.Actions, r.Dependencies = a.Actions, a.Dependencies
			}
			return r
		}
	}
	var allowed []string
	for m, apis := range c.byMethod {
		for _, a := range apis {
			if a.tmpl.match(segs) {
				allowed = append(allowed, m)
			}
		}
	}
	if len(allowed) > 0 {
		sort.Strings(allowed)
		return Result{Path: path, Query: query, Reason: ReasonMethodNotAllowed,
			Detail: fmt.Sprintf("no IMS API answers %s %s (allowed: %s)", printableMethod(method), path, strings.Join(allowed, ", "))}
	}
	return Result{Path: path, Query: query, Reason: ReasonUnknownPath, Detail: fmt.Sprintf("no IMS API has the path %s", path)}
}

// Resolve fills r.Actions and r.Dependencies for a matched API whose actions depend on the
// request body. It is a no-op for other APIs. A body that is larger than the catalog's limit,
// empty, not valid JSON, or ambiguous for a rule is an error (*BodyError): the request
// must then be denied.
func (c *Catalog) Resolve(r *Result, body []byte) error {
	if !r.Matched || !r.API.NeedsBody() {
		return nil
	}
	acts, deps, err := c.requirements(r.API, body)
	if err != nil {
		return err
	}
	r.Actions, r.Dependencies = acts, deps
	return nil
}

// Match routes method and rawURL and resolves conditional actions from body. A non-match
// is a Result with Matched false and a Reason, not an error; the error is for bodies that
// cannot be resolved (*BodyError).
func (c *Catalog) Match(method, rawURL string, body []byte) (Result, error) {
	r := c.Route(method, rawURL)
	if err := c.Resolve(&r, body); err != nil {
		return r, err
	}
	return r, nil
}

// splitSegments splits a canonical path into segments, appending to dst; ok is false when
// there are more than limit segments.
func splitSegments(path string, dst []string, limit int) ([]string, bool) {
	if path == "/" {
		return dst, true
	}
	rest := path[1:]
	for {
		if len(dst) == limit {
			return dst, false
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return append(dst, rest), true
		}
		dst = append(dst, rest[:i])
		rest = rest[i+1:]
	}
}

func (t *template) match(segs []string) bool {
	if len(segs) != len(t.segs) {
		return false
	}
	for i := range t.segs {
		if !t.segs[i].accepts(segs[i]) {
			return false
		}
	}
	return true
}

func (t *template) params(segs []string) Params {
	n := 0
	for i := range t.segs {
		if t.segs[i].param != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	p := make(Params, 0, n)
	for i := range t.segs {
		if t.segs[i].param != "" {
			p = append(p, Param{Name: t.segs[i].param, Value: segs[i]})
		}
	}
	return p
}

func printableMethod(m string) string {
	if len(m) > 16 || strings.ContainsFunc(m, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return fmt.Sprintf("%q", truncate(m))
	}
	return m
}
