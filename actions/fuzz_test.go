package actions

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

var stdParseQuery = url.ParseQuery

// FuzzMatch: for any method, URL and body, the matcher either reports no API, or an API whose
// method is the request's and whose template really matches the canonical path, where the
// canonical path is a fixed point of CanonicalPath and holds only unreserved characters.
func FuzzMatch(f *testing.F) {
	c, err := Embedded()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"/v2/images", "/v2/images/abc/members/def", "/v2/%2e%2e/images", "//v2/images", "/v2/images%2F",
		"/v1/p/jobs/j", "/v2", "/V2", "/", "/v2/cloudimages/quickimport/action", "https://h/v2/images?x",
		"/v2/images/a%00", "/v1.1/images/detail", "/v2/images/..;/x", "/v2/images/%zz",
	} {
		f.Add("GET", s, []byte(`{"type":"DataImage"}`))
		f.Add("POST", s, []byte(`[{"op":"replace","path":"/enterprise_project_id"}]`))
	}
	f.Fuzz(func(t *testing.T, method, url string, body []byte) {
		r, err := c.Match(method, url, body)
		if !r.Matched {
			if r.API != nil || len(r.Actions) != 0 || r.Reason == "" {
				t.Fatalf("non-match with API or actions or no reason: %+v", r)
			}
			if err != nil {
				t.Fatalf("non-match with body error: %v", err)
			}
			return
		}
		if r.API.Method != method {
			t.Fatalf("%s %q matched %s %s", method, url, r.API.Method, r.API.Path)
		}
		if q, qerr := ParseQuery(r.Query); qerr != nil || q.Encode() != r.Query || len(q) != len(r.QueryParams) {
			t.Fatalf("forwarded query %q is not the canonical form of the authorized one %+v: %v", r.Query, r.QueryParams, qerr)
		}
		canon, cerr := CanonicalPath(r.Path)
		if cerr != nil || canon != r.Path {
			t.Fatalf("canonical path %q is not a fixed point: %q %v", r.Path, canon, cerr)
		}
		for i := 0; i < len(r.Path); i++ {
			if r.Path[i] != '/' && !unreserved(r.Path[i]) {
				t.Fatalf("canonical path %q holds %q", r.Path, r.Path[i])
			}
		}
		if strings.Contains(r.Path, "//") || strings.Contains(r.Path, "/./") || strings.Contains(r.Path, "/../") {
			t.Fatalf("canonical path %q has empty or dot segments", r.Path)
		}
		if !templateMatches(r.API.Path, r.Path, r.Params) {
			t.Fatalf("template %s does not match %s with %v", r.API.Path, r.Path, r.Params)
		}
		facts, ferr := r.EnterpriseProjectFacts(body)
		if ferr == nil {
			for _, f := range facts {
				if !slices.Contains(r.API.EnterpriseProjectOf, f.Source) {
					t.Fatalf("fact from %s, which %s does not list", f.Source, r.API.ID)
				}
				if f.Established() == (f.Why != "") || f.Source == EPImage && (f.Established() || f.ImageID == "") {
					t.Fatalf("inconsistent fact %+v", f)
				}
			}
		}
		if err != nil {
			if !r.API.NeedsBody() {
				t.Fatalf("body error for an API that ignores bodies: %v", err)
			}
			return
		}
		for _, a := range r.API.Actions {
			if !contains(r.Actions, a) {
				t.Fatalf("unconditional action %s missing from %v", a, r.Actions)
			}
		}
		if r.API.NeedsBody() && len(r.Actions) == 0 && len(r.API.Actions) == 0 {
			t.Fatalf("body-dependent API %s resolved to no action", r.API.ID)
		}
	})
}

// templateMatches re-checks a match independently of the compiled template: substitute the
// parameters into the template text and compare with the canonical path.
func templateMatches(tmpl, path string, params Params) bool {
	out := tmpl
	for _, p := range params {
		if p.Value == "" || strings.Contains(p.Value, "/") {
			return false
		}
		out = strings.Replace(out, "{"+p.Name+"}", p.Value, 1)
	}
	return !strings.Contains(out, "{") && out == path
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b/", "/%41", "/a%2fb", "/..", "/a//b", "/%", "/a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := CanonicalPath(raw)
		if err != nil {
			return
		}
		q, err := CanonicalPath(p)
		if err != nil || q != p {
			t.Fatalf("%q -> %q -> %q (%v)", raw, p, q, err)
		}
		if strings.Contains(p, "%") {
			t.Fatalf("canonical %q still percent-encoded", p)
		}
	})
}

// FuzzQuery: a query ParseQuery accepts has unique keys, its canonical encoding is a fixed
// point (parsing it gives the same parameters, encoding again the same text), and Go's own
// query parser — standing in for the server behind the proxy — decodes the encoding to
// exactly the authorized parameters. A refused query never quotes its input.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"limit=5&visibility=private", "enterprise%5Fproject%5Fid=ep", "a=1;b=2", "a=%zz", "a+b=c", "=x",
		"x=a+b", "k", "&&", "a=1&A=2", "t=gte%3A2021-01-01T00%3A00%3A00%2B08%3A00", "n=%C3%A9", "a=%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			if len(raw) >= 8 && strings.Contains(err.Error(), raw) {
				t.Fatalf("error quotes the query: %v", err)
			}
			return
		}
		enc := q.Encode()
		if q.encodes(raw) != (enc == raw) || !q.encodes(enc) {
			t.Fatalf("encodes disagrees with Encode on %q (canonical %q)", raw, enc)
		}
		q2, err := ParseQuery(enc)
		if err != nil {
			t.Fatalf("canonical form %q refused: %v", enc, err)
		}
		if len(q2) != len(q) {
			t.Fatalf("canonical form %q parses to %d parameters, want %d", enc, len(q2), len(q))
		}
		for i := range q {
			if q[i] != q2[i] {
				t.Fatalf("canonical form %q changes parameter %d: %+v → %+v", enc, i+1, q[i], q2[i])
			}
		}
		if q2.Encode() != enc {
			t.Fatalf("encoding is not a fixed point: %q → %q", enc, q2.Encode())
		}
		std, err := stdParseQuery(enc)
		if err != nil {
			t.Fatalf("Go's parser refuses the canonical form %q: %v", enc, err)
		}
		if len(std) != len(q) {
			t.Fatalf("Go's parser sees %d keys in %q, want %d", len(std), enc, len(q))
		}
		for _, p := range q {
			if vs := std[p.Key]; len(vs) != 1 || vs[0] != p.Value {
				t.Fatalf("Go's parser reads %q=%q as %q", p.Key, p.Value, vs)
			}
		}
	})
}
