package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

func catalog(t testing.TB) *actions.Catalog {
	t.Helper()
	c, err := actions.Embedded()
	require.NoError(t, err)
	return c
}

// doc parses one policy document from JSON text.
func doc(t testing.TB, name, text string) *policy.Document {
	t.Helper()
	f := policy.Parse(name, []byte(text))
	require.Empty(t, f.Problems, "fixture %s", name)
	require.Len(t, f.Documents, 1)
	return f.Documents[0]
}

func allProjects(t testing.TB, name, text string) Attachment {
	return Attachment{Name: name, Document: doc(t, name, text), Scope: Scope{Kind: ScopeAllProjects}}
}

func engine(t testing.TB, atts ...Attachment) *Engine {
	t.Helper()
	e, err := New(context.Background(), catalog(t), atts, Options{})
	require.NoError(t, err)
	return e
}

const (
	readOnly = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:get*","ims:*:list*"]}]}`
	noShare  = `{"Version":"1.1","Statement":[{"Effect":"Deny","Action":["ims:images:share"]}]}`
	full     = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]}]}`
	uploader = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:get","ims:images:update"]}]}`
	dataImg  = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:dataImages:create"]}]}`
)

func TestDecideEndToEnd(t *testing.T) {
	img := "/v2/images/7f2d3c1e-5b6a-4c8d-9e0f-123456789abc"
	cases := []struct {
		name   string
		atts   []Attachment
		in     Input
		want   Effect
		detail func(t *testing.T, d Decision)
	}{
		{"read-only lists", []Attachment{allProjects(t, "ro", readOnly)}, Input{Method: "GET", URL: "/v2/images", Project: "ae-ad-1"}, Allow, func(t *testing.T, d Decision) {
			require.Len(t, d.Actions, 1)
			assert.Equal(t, "ims:images:list", d.Actions[0].Action)
			assert.Equal(t, []StatementRef{{Attachment: 0, Policy: "ro", Statement: 0, Effect: "Allow"}}, d.Actions[0].Matched)
			assert.Equal(t, "glance_list_images", d.API.ID)
		}},
		{"read-only cannot delete", []Attachment{allProjects(t, "ro", readOnly)}, Input{Method: "DELETE", URL: img, Project: "ae-ad-1"}, ImplicitDeny, nil},
		{"native share needs get and share; deny wins", []Attachment{allProjects(t, "full", full), allProjects(t, "noshare", noShare)}, Input{Method: "POST", URL: img + "/members", Body: []byte(`{"member":"x"}`), Project: "ae-ad-1"}, ExplicitDeny, func(t *testing.T, d Decision) {
			require.Len(t, d.Actions, 2)
			assert.Equal(t, Allow, d.Actions[0].Effect)
			assert.Equal(t, ExplicitDeny, d.Actions[1].Effect)
			assert.Len(t, d.Actions[1].Matched, 2)
		}},
		{"upload half-enabled", []Attachment{allProjects(t, "u", uploader)}, Input{Method: "PUT", URL: img + "/file", Project: "ae-ad-1"}, ImplicitDeny, func(t *testing.T, d Decision) {
			assert.Equal(t, []Effect{Allow, Allow, ImplicitDeny}, effects(d))
		}},
		{"quick import of a data image", []Attachment{allProjects(t, "d", dataImg)}, Input{Method: "POST", URL: "/v2/cloudimages/quickimport/action", Body: []byte(`{"type":"DataImage"}`), Project: "ae-ad-1"}, Allow, nil},
		{"quick import defaulting to ECS", []Attachment{allProjects(t, "d", dataImg)}, Input{Method: "POST", URL: "/v2/cloudimages/quickimport/action", Body: []byte(`{"name":"x"}`), Project: "ae-ad-1"}, ImplicitDeny, nil},
		{"direct action", []Attachment{allProjects(t, "ro", readOnly)}, Input{Action: "ims:quotas:get", Project: "ae-ad-1"}, Allow, nil},
		{"non-IMS action", []Attachment{allProjects(t, "ro", readOnly)}, Input{Action: "ecs:servers:list", Project: "ae-ad-1"}, ImplicitDeny, nil},
		{"schema needs no action", nil, Input{Method: "GET", URL: "/v2/schemas/image", Project: "ae-ad-1"}, Allow, func(t *testing.T, d Decision) {
			assert.Empty(t, d.Actions)
			assert.Contains(t, d.Notes[0], "no IAM action")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := engine(t, tc.atts...)
			d, err := e.Decide(context.Background(), tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.Effect)
			if tc.detail != nil {
				tc.detail(t, d)
			}
		})
	}
}

func effects(d Decision) []Effect {
	var out []Effect
	for _, a := range d.Actions {
		out = append(out, a.Effect)
	}
	return out
}

func TestDecideScopes(t *testing.T) {
	d := doc(t, "ro", readOnly)
	atts := []Attachment{
		{Name: "dev", Document: d, Scope: Scope{Kind: ScopeProject, Projects: []string{"ae-ad-1_dev"}}},
		{Name: "ep", Document: d, Scope: Scope{Kind: ScopeEnterpriseProject, EnterpriseProjects: []string{"ep-1"}}},
	}
	e := engine(t, atts...)
	cases := []struct {
		name string
		in   Input
		want Effect
		skip []int
	}{
		{"project grant", Input{Method: "GET", URL: "/v2/images", Project: "ae-ad-1_dev"}, Allow, []int{1}},
		{"other project", Input{Method: "GET", URL: "/v2/images", Project: "ae-ad-1"}, ImplicitDeny, []int{0, 1}},
		{"EP grant on an EP API", Input{Method: "GET", URL: "/v2/cloudimages", Project: "ae-ad-1", EnterpriseProjectID: "ep-1"}, Allow, []int{0}},
		{"EP grant on a non-EP API", Input{Method: "GET", URL: "/v2/images", Project: "ae-ad-1", EnterpriseProjectID: "ep-1"}, ImplicitDeny, []int{0, 1}},
		{"EP grant, shared image query", Input{Method: "GET", URL: "/v2/cloudimages?__imagetype=shared", Project: "ae-ad-1", EnterpriseProjectID: "ep-1"}, ImplicitDeny, []int{0, 1}},
		{"EP grant, other EP", Input{Method: "GET", URL: "/v2/cloudimages", Project: "ae-ad-1", EnterpriseProjectID: "ep-2"}, ImplicitDeny, []int{0, 1}},
		{"EP grant with an action only is not honoured", Input{Action: "ims:images:list", Project: "ae-ad-1", EnterpriseProjectID: "ep-1"}, ImplicitDeny, []int{0, 1}},
		{"EP support stated explicitly", Input{Action: "ims:images:list", Project: "ae-ad-1", EnterpriseProjectID: "ep-1", APISupportsEP: ptr(true)}, Allow, []int{0}},
		{"EP not established", Input{Method: "GET", URL: "/v2/cloudimages", Project: "ae-ad-1", EnterpriseProjectUnknown: true}, ImplicitDeny, []int{0, 1}},
		{"EP not established, id claimed", Input{Method: "GET", URL: "/v2/cloudimages", Project: "ae-ad-1", EnterpriseProjectID: "ep-1", EnterpriseProjectUnknown: true}, ImplicitDeny, []int{0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Explain = true
			d, err := e.Decide(context.Background(), tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.Effect)
			var skipped []int
			for _, s := range d.Skipped {
				skipped = append(skipped, s.Attachment)
				assert.NotEmpty(t, s.Reason)
			}
			assert.Equal(t, tc.skip, skipped)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestDecideUnknownEnterpriseProject: when the proxy cannot establish a request's enterprise
// project, enterprise-project grants cannot allow it and every enterprise-project Deny
// applies; made-up enterprise project ids share one cache entry.
func TestDecideUnknownEnterpriseProject(t *testing.T) {
	atts := []Attachment{
		{Name: "ro", Document: doc(t, "ro", readOnly), Scope: Scope{Kind: ScopeAllProjects}},
		{Name: "dev", Document: doc(t, "full", full), Scope: Scope{Kind: ScopeEnterpriseProject, EnterpriseProjects: []string{"ep-dev"}}},
		{Name: "fin", Document: doc(t, "deny", `{"Version":"1.1","Statement":[{"Effect":"Deny","Action":["ims:images:get"]}]}`), Scope: Scope{Kind: ScopeEnterpriseProject, EnterpriseProjects: []string{"ep-fin"}}},
	}
	e := engine(t, atts...)
	require.True(t, e.EnterpriseProjectScoped())
	require.False(t, engine(t, atts[0]).EnterpriseProjectScoped())
	get := func(ep string, unknown bool, method, url string) Effect {
		t.Helper()
		d, err := e.Decide(context.Background(), Input{Method: method, URL: url, Project: "ae-ad-1", EnterpriseProjectID: ep, EnterpriseProjectUnknown: unknown})
		require.NoError(t, err)
		return d.Effect
	}
	img := "/v2/images/7f2d3c1e-5b6a-4c8d-9e0f-123456789abc"
	assert.Equal(t, Allow, get("ep-dev", false, "DELETE", img))
	assert.Equal(t, ImplicitDeny, get("ep-dev", true, "DELETE", img), "a claimed id is ignored while unknown")
	assert.Equal(t, ExplicitDeny, get("ep-fin", false, "GET", img))
	assert.Equal(t, Allow, get("ep-dev", false, "GET", img))
	assert.Equal(t, ExplicitDeny, get("", true, "GET", img), "the image may be in ep-fin")
	assert.Equal(t, Allow, get("", false, "GET", img), "names none: enterprise-project grants are ignored (offline)")

	before := e.cache.Len()
	for i := range 200 {
		assert.Equal(t, ImplicitDeny, get(fmt.Sprintf("made-up-%d", i), false, "DELETE", img))
	}
	assert.LessOrEqual(t, e.cache.Len(), before+1, "made-up enterprise project ids share one cache entry")
}

func TestDecideConditions(t *testing.T) {
	e := engine(t,
		allProjects(t, "cond", `{"Version":"1.1","Statement":[
			{"Effect":"Allow","Action":["ims:images:list"],"Condition":{"StringEquals":{"g:UserName":["alice"]},"IpAddress":{"g:SourceIp":["10.0.0.0/8"]}}},
			{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"DateLessThan":{"g:CurrentTime":["2030-01-01T00:00:00Z"]},"Bool":{"g:MFAPresent":["true"]}}},
			{"Effect":"Deny","Action":["ims:images:get"],"Condition":{"StringStartWith":{"g:ProjectName":["ae-ad-1_prod"]}}},
			{"Effect":"Allow","Action":["ims:quotas:get"],"Condition":{"NumberLessThan":{"g:MFAAge":["900"]}}}
		]}`))
	ctx := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}
	cases := []struct {
		name    string
		action  string
		context map[string][]string
		want    Effect
		missing []string
	}{
		{"user and ip match", "ims:images:list", ctx("g:UserName", "alice", "g:SourceIp", "10.1.2.3"), Allow, nil},
		{"key names are case-insensitive", "ims:images:list", ctx("g:username", "alice", "G:SOURCEIP", "10.1.2.3"), Allow, nil},
		{"wrong user", "ims:images:list", ctx("g:UserName", "bob", "g:SourceIp", "10.1.2.3"), ImplicitDeny, nil},
		{"outside network", "ims:images:list", ctx("g:UserName", "alice", "g:SourceIp", "192.0.2.1"), ImplicitDeny, nil},
		{"missing keys", "ims:images:list", ctx("g:UserName", "alice"), ImplicitDeny, []string{"g:sourceip"}},
		{"time and mfa", "ims:images:get", ctx("g:CurrentTime", "2026-11-27T00:00:00Z", "g:MFAPresent", "True"), Allow, []string{"g:projectname"}},
		{"expired", "ims:images:get", ctx("g:CurrentTime", "2031-01-01T00:00:00Z", "g:MFAPresent", "true", "g:ProjectName", "ae-ad-1"), ImplicitDeny, nil},
		{"prod denied", "ims:images:get", ctx("g:CurrentTime", "2026-11-27T00:00:00Z", "g:MFAPresent", "true", "g:ProjectName", "AE-AD-1_prod_x"), ExplicitDeny, nil},
		{"mfa age", "ims:quotas:get", ctx("g:MFAAge", "300"), Allow, nil},
		{"mfa age unparsable", "ims:quotas:get", ctx("g:MFAAge", "soon"), ImplicitDeny, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), Input{Action: tc.action, Project: "ae-ad-1", Context: tc.context, Explain: true})
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.Effect)
			assert.Equal(t, tc.missing, d.MissingKeys)
			require.Len(t, d.Actions, 1)
			assert.NotEmpty(t, d.Actions[0].Conditional, "explain lists the conditional statements checked")
			// without Explain the decision goes through the cache: twice the same answer
			for range 2 {
				d2, err := e.Decide(context.Background(), Input{Action: tc.action, Project: "ae-ad-1", Context: tc.context})
				require.NoError(t, err)
				assert.Equal(t, tc.want, d2.Effect)
				assert.Equal(t, d.Actions[0].Matched, d2.Actions[0].Matched)
			}
		})
	}
}

// TestDecideCacheKeysOnConditionTruth: cached decisions are keyed on whether each checked
// condition held, not on the values: any request whose conditions all say the same reuses
// the decision — time-bound ones included — and one whose truth differs never does.
func TestDecideCacheKeysOnConditionTruth(t *testing.T) {
	e := engine(t, allProjects(t, "cond", `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:list"],"Condition":{"StringEquals":{"g:UserName":["alice"]}}},
		{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"DateLessThan":{"g:CurrentTime":["2030-01-01T00:00:00Z"]}}}
	]}`))
	decide := func(action string, kv ...string) Decision {
		ctx := map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			ctx[kv[i]] = []string{kv[i+1]}
		}
		d, err := e.Decide(context.Background(), Input{Action: action, Project: "p", Context: ctx})
		require.NoError(t, err)
		return d
	}
	steps := []struct {
		action string
		kv     []string
		want   Effect
		cached bool
	}{
		{"ims:images:list", []string{"g:UserName", "alice", "g:SourceIp", "10.0.0.1"}, Allow, false},
		{"ims:images:list", []string{"g:UserName", "alice", "g:SourceIp", "10.9.9.9"}, Allow, true}, // SourceIp is not read
		{"ims:images:list", []string{"g:UserName", "bob"}, ImplicitDeny, false},
		{"ims:images:list", []string{"g:username", "bob"}, ImplicitDeny, true},
		{"ims:images:list", []string{"g:UserName", "carol"}, ImplicitDeny, true}, // another value, the same truth
		{"ims:images:list", []string{"g:UserName", "alice"}, Allow, true},
		{"ims:images:list", nil, ImplicitDeny, true}, // absent: StringEquals is false, as for bob
		{"ims:images:get", []string{"g:CurrentTime", "2029-01-01T00:00:00Z"}, Allow, false},
		{"ims:images:get", []string{"g:CurrentTime", "2029-06-01T00:00:01Z"}, Allow, true}, // time moves on, still before
		{"ims:images:get", []string{"g:CurrentTime", "2031-01-01T00:00:00Z"}, ImplicitDeny, false},
		{"ims:images:get", []string{"g:CurrentTime", "2032-01-01T00:00:00Z"}, ImplicitDeny, true},
	}
	for i, s := range steps {
		d := decide(s.action, s.kv...)
		assert.Equal(t, s.want, d.Effect, "step %d", i)
		assert.Equal(t, s.cached, d.Cached, "step %d cached", i)
	}
}

// TestWarmFillsTheCache: with Options.Warm the first decision of a catalog API in a warmed
// project is already a cache hit, and it equals the cold decision.
func TestWarmFillsTheCache(t *testing.T) {
	atts := []Attachment{allProjects(t, "ro", readOnly), allProjects(t, "ns", noShare)}
	warm, err := New(context.Background(), catalog(t), atts, Options{Warm: []string{"ae-ad-1"}})
	require.NoError(t, err)
	cold := engine(t, atts...)
	for _, in := range []Input{
		{Method: "GET", URL: "/v2/images", Project: "ae-ad-1"},
		{Method: "POST", URL: "/v2/images/x/members", Body: []byte(`{}`), Project: "ae-ad-1"},
		{Method: "POST", URL: "/v2/cloudimages/quickimport/action", Body: []byte(`{"type":"DataImage"}`), Project: "ae-ad-1"},
	} {
		dw, err := warm.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.True(t, dw.Cached, in.URL)
		dc, err := cold.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.False(t, dc.Cached, in.URL)
		assert.Equal(t, dc.Effect, dw.Effect, in.URL)
		assert.Equal(t, dc.Actions, dw.Actions, in.URL)
	}
	d, err := warm.Decide(context.Background(), Input{Method: "GET", URL: "/v2/images", Project: "other"})
	require.NoError(t, err)
	assert.False(t, d.Cached, "projects that were not warmed are evaluated")
}

func TestDecideCache(t *testing.T) {
	e := engine(t, allProjects(t, "ro", readOnly))
	in := Input{Method: "GET", URL: "/v2/images", Project: "ae-ad-1"}
	d1, err := e.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.False(t, d1.Cached)
	d2, err := e.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.True(t, d2.Cached)
	assert.Equal(t, d1.Effect, d2.Effect)
	assert.Equal(t, d1.Actions, d2.Actions)
	assert.Equal(t, "glance_list_images", d2.API.ID)
	// a different project is a different key
	d3, err := e.Decide(context.Background(), Input{Method: "GET", URL: "/v2/images", Project: "other"})
	require.NoError(t, err)
	assert.False(t, d3.Cached)
	off, err := New(context.Background(), catalog(t), []Attachment{allProjects(t, "ro", readOnly)}, Options{CacheSize: -1})
	require.NoError(t, err)
	for range 2 {
		d, err := off.Decide(context.Background(), in)
		require.NoError(t, err)
		assert.False(t, d.Cached)
	}
}

func TestDecideFailsClosed(t *testing.T) {
	e := engine(t, allProjects(t, "full", full))
	cases := []struct {
		name string
		in   Input
		want error
	}{
		{"unknown route", Input{Method: "GET", URL: "/v2/widgets"}, ErrBadInput},
		{"path trick", Input{Method: "GET", URL: "/v2/images/%2e%2e"}, ErrBadInput},
		{"unreadable body", Input{Method: "POST", URL: "/v2/cloudimages/quickimport/action", Body: []byte("{")}, actions.ErrBodyInvalid},
		{"nothing asked", Input{}, ErrBadInput},
		{"two things asked", Input{Action: "ims:images:get", Method: "GET", URL: "/v2/images"}, ErrBadInput},
		{"wildcard action", Input{Action: "ims:*:get"}, ErrBadInput},
		{"malformed action", Input{Action: "ims:images"}, ErrBadInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), tc.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, ImplicitDeny, d.Effect)
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d, err := e.Decide(ctx, Input{Action: "ims:images:delete", Project: "p"})
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrEvaluation)
		assert.Equal(t, ImplicitDeny, d.Effect)
	})
}

func TestNewRejectsInvalidPolicies(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"bad effect", `{"Version":"1.1","Statement":[{"Effect":"Permit","Action":["ims:images:get"]}]}`, "Effect"},
		{"two-segment action", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images"]}]}`, "three segments"},
		{"unknown operator", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"StringFoo":{"g:UserName":["a"]}}}]}`, "unknown operator"},
		{"bad number", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"NumberEquals":{"g:MFAAge":["ten"]}}}]}`, "not a decimal number"},
		{"bad date", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"DateLessThan":{"g:CurrentTime":["tomorrow"]}}}]}`, "RFC 3339"},
		{"bad ip", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"IpAddress":{"g:SourceIp":["10.0.0.300"]}}}]}`, "IP address"},
		{"identity policy", `{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:get"]}]}`, "not evaluated"},
		{"NotAction", `{"Version":"1.1","Statement":[{"Effect":"Deny","NotAction":["ims:images:get"]}]}`, "NotAction"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), catalog(t), []Attachment{allProjects(t, "p.json", tc.doc)}, Options{})
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidPolicy)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "p.json")
		})
	}
	t.Run("scope", func(t *testing.T) {
		_, err := New(context.Background(), catalog(t), []Attachment{{Name: "p", Document: doc(t, "p", readOnly), Scope: Scope{Kind: ScopeProject}}}, Options{})
		assert.ErrorIs(t, err, ErrInvalidScope)
		_, err = New(context.Background(), catalog(t), []Attachment{{Name: "p", Document: doc(t, "p", readOnly), Scope: Scope{Kind: "region"}}}, Options{})
		assert.ErrorIs(t, err, ErrInvalidScope)
	})
}

// TestLenientIsFailSafe: in lenient mode an unevaluable Deny still denies and an
// unevaluable Allow never allows.
func TestLenientIsFailSafe(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, catalog(t), []Attachment{allProjects(t, "p", `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:*:*"]},
		{"Effect":"Deny","Action":["ims:images:delete"],"Condition":{"StringFoo":{"g:UserName":["x"]}}},
		{"Effect":"Allow","Action":["ims:images:share"],"Condition":{"NumberEquals":{"g:MFAAge":["ten"]}}},
		{"Effect":"Deny","NotAction":["ims:images:list"]}
	]}`)}, Options{Lenient: true})
	require.NoError(t, err)
	assert.NotEmpty(t, e.Notes())
	for action, want := range map[string]Effect{"ims:images:delete": ExplicitDeny, "ims:images:list": ExplicitDeny} {
		d, err := e.Decide(ctx, Input{Action: action, Project: "p", Context: map[string][]string{"g:UserName": {"y"}}})
		require.NoError(t, err)
		assert.Equal(t, want, d.Effect, action)
	}
}

func TestRolesAndDepends(t *testing.T) {
	role := `{"role":{"display_name":"IMS Administrator","policy":{"Version":"1.0","Statement":[{"Effect":"Allow","Action":["ims:*","ECS:*:list","evs::get"]}],"Depends":[{"catalog":"OBS","display_name":"Tenant Administrator"}]}}}`
	e := engine(t, allProjects(t, "ims-admin", role))
	for action, want := range map[string]Effect{"ims:images:delete": Allow, "ecs:servers:list": Allow, "evs:volumes:get": Allow, "evs:volumes:delete": ImplicitDeny} {
		d, err := e.Decide(context.Background(), Input{Action: action, Project: "ae-ad-1"})
		require.NoError(t, err)
		assert.Equal(t, want, d.Effect, action)
		if want == Allow {
			require.Len(t, d.Notes, 1)
			assert.Contains(t, d.Notes[0], "I-DEPENDS-MISSING")
		}
	}
	tenant := `{"role":{"display_name":"Tenant Administrator","policy":{"Version":"1.0","Statement":[{"Effect":"Allow","Action":["obs:*:*"]}]}}}`
	e = engine(t, allProjects(t, "ims-admin", role), allProjects(t, "tenant", tenant))
	d, err := e.Decide(context.Background(), Input{Action: "ims:images:delete", Project: "ae-ad-1"})
	require.NoError(t, err)
	assert.Equal(t, Allow, d.Effect)
	assert.Empty(t, d.Notes)
}

// TestRuntimeServesManyEngines: one compiled Runtime backs engines with different policy
// sets (as on reload); each answers from its own set.
func TestRuntimeServesManyEngines(t *testing.T) {
	rt, err := Prepare(context.Background())
	require.NoError(t, err)
	ro, err := rt.New(context.Background(), catalog(t), []Attachment{allProjects(t, "ro", readOnly)}, Options{})
	require.NoError(t, err)
	fa, err := rt.New(context.Background(), catalog(t), []Attachment{allProjects(t, "full", full)}, Options{})
	require.NoError(t, err)
	in := Input{Action: "ims:images:delete", Project: "p"}
	d1, err := ro.Decide(context.Background(), in)
	require.NoError(t, err)
	d2, err := fa.Decide(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, ImplicitDeny, d1.Effect)
	assert.Equal(t, Allow, d2.Effect)
}

func TestDecideConcurrent(t *testing.T) {
	e := engine(t, allProjects(t, "ro", readOnly), allProjects(t, "ns", noShare))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				url := fmt.Sprintf("/v2/images/img-%d-%d", g, i%7)
				d, err := e.Decide(context.Background(), Input{Method: "GET", URL: url, Project: "ae-ad-1"})
				if err != nil || d.Effect != Allow {
					errs <- fmt.Errorf("%s: %v %v", url, d.Effect, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestEscapeGlob(t *testing.T) {
	assert.True(t, errors.Is(fmt.Errorf("%w", ErrInvalidPolicy), ErrInvalidPolicy))
	assert.False(t, strings.Contains(escapeGlob("a[b]"), "[b]"))
}

// TestResourceWildcardsSpanDots: a Resource's '*' matches any characters, dots included
// (OPA's glob.match would stop at '.' with an empty delimiter list), in both evaluators.
func TestResourceWildcardsSpanDots(t *testing.T) {
	e := engine(t, allProjects(t, "obs", `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["obs:object:*"]},
		{"Effect":"Deny","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:audit-logs/*"]}]}`))
	for _, tc := range []struct {
		resource string
		want     Effect
	}{
		{"obs:ae-ad-1:acct:object:audit-logs/report.pdf", ExplicitDeny},
		{"obs:ae-ad-1:acct:object:audit-logs/2026/11/app.v2.log", ExplicitDeny},
		{"obs:ae-ad-1:acct:object:other/report.pdf", Allow},
	} {
		for _, explain := range []bool{false, true} {
			d, err := e.Decide(context.Background(), Input{Action: "obs:object:GetObject", Project: "ae-ad-1", Resource: tc.resource, Explain: explain})
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.Effect, "%s (explain %v)", tc.resource, explain)
		}
	}
}

// TestLenientIdentityPolicyKeepsItsDenies: a 5.0 identity policy, which the engine does
// not evaluate, is skipped fail-safe in lenient mode: its Allow statements grant nothing,
// its Deny statements still deny.
func TestLenientIdentityPolicyKeepsItsDenies(t *testing.T) {
	identity := doc(t, "id.json", `{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["ims:images:create"]},{"Effect":"Deny","Action":["ims:images:delete"]}]}`)
	atts := []Attachment{allProjects(t, "full", full), {Name: "id.json", Document: identity, Scope: Scope{Kind: ScopeAllProjects}}}
	_, err := New(context.Background(), catalog(t), atts, Options{})
	require.ErrorIs(t, err, ErrInvalidPolicy, "not lenient: refused")
	e, err := New(context.Background(), catalog(t), atts, Options{Lenient: true})
	require.NoError(t, err)
	for _, tc := range []struct {
		action string
		want   Effect
	}{{"ims:images:delete", ExplicitDeny}, {"ims:images:get", Allow}} {
		for _, explain := range []bool{false, true} {
			d, err := e.Decide(context.Background(), Input{Action: tc.action, Project: "ae-ad-1", Explain: explain})
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.Effect, "%s explain=%v", tc.action, explain)
		}
	}
	only := []Attachment{{Name: "id.json", Document: identity, Scope: Scope{Kind: ScopeAllProjects}}}
	e, err = New(context.Background(), catalog(t), only, Options{Lenient: true})
	require.NoError(t, err)
	d, err := e.Decide(context.Background(), Input{Action: "ims:images:create", Project: "ae-ad-1"})
	require.NoError(t, err)
	assert.Equal(t, ImplicitDeny, d.Effect, "its Allow grants nothing")
}
