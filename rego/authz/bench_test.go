package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/opa"
)

// benchAttachments builds 8 policies × 8 statements: a realistic mix of exact actions,
// wildcards, non-IMS services, and (when conditional) conditions on most statements.
func benchAttachments(b testing.TB, conditional bool) []Attachment {
	b.Helper()
	acts := []string{"ims:images:list", "ims:images:get", "ims:images:update", "ims:*:get*", "ecs:servers:list", "obs:object:*", "ims:images:share", "ims:quotas:get"}
	var atts []Attachment
	for p := range 8 {
		var stmts []string
		for s := range 8 {
			effect := "Allow"
			if s == 7 && p%2 == 1 {
				effect = "Deny"
			}
			cond := ""
			switch {
			case conditional && s%2 == 0:
				cond = `,"Condition":{"StringEquals":{"g:UserName":["alice","bob"]},"IpAddress":{"g:SourceIp":["10.0.0.0/8"]}}`
			case conditional && s%4 == 1:
				// A time window and a network: what least-privilege grants look like.
				cond = `,"Condition":{"DateGreaterThan":{"g:CurrentTime":["2026-01-01T00:00:00Z"]},"DateLessThan":{"g:CurrentTime":["2027-01-01T00:00:00Z"]},"IpAddress":{"g:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`
			}
			action := acts[(p+s)%len(acts)]
			if effect == "Deny" {
				action = "ims:images:delete"
			}
			stmts = append(stmts, fmt.Sprintf(`{"Effect":%q,"Action":[%q,"vpc:ports:get"]%s}`, effect, action, cond))
		}
		text := `{"Version":"1.1","Statement":[` + strings.Join(stmts, ",") + `]}`
		f := policy.Parse(fmt.Sprintf("p%d.json", p), []byte(text))
		if len(f.Problems) > 0 || len(f.Documents) != 1 {
			b.Fatalf("fixture: %v", f.Problems)
		}
		atts = append(atts, Attachment{Name: f.Name, Document: f.Documents[0], Scope: Scope{Kind: ScopeAllProjects}})
	}
	return atts
}

// percentiles runs fn n times and reports p50/p99 in ns as benchmark metrics.
func percentiles(b *testing.B, fn func()) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		fn()
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	}
}

// trivialQuery is the baselines' query, input.x == 1 prepared, and its parsed input.
func trivialQuery(b *testing.B) (rego.PreparedEvalQuery, ast.Value) {
	q, err := rego.New(rego.Query("input.x == 1")).PrepareForEval(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return q, ast.NewObject(ast.Item(ast.StringTerm("x"), ast.IntNumberTerm(1)))
}

// BenchmarkTrivialRego is the baseline: the cost of evaluating a trivial prepared query.
func BenchmarkTrivialRego(b *testing.B) {
	ctx := context.Background()
	q, in := trivialQuery(b)
	percentiles(b, func() {
		if _, err := q.Eval(ctx, rego.EvalParsedInput(in)); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkTrivialEvalShort is the same trivial query evaluated the way the engine
// evaluates its generated Rego (opa.EvalShortTerm: no goroutine per evaluation to watch
// the context, the result as a term): what an evaluation costs the engine before any of
// its own work.
func BenchmarkTrivialEvalShort(b *testing.B) {
	ctx := context.Background()
	q, in := trivialQuery(b)
	percentiles(b, func() {
		if _, err := opa.EvalShortTerm(ctx, q, in); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkDecide: route match + input build + Rego evaluation with 8×8 statements.
// The -miss cases turn the decision cache off and send a new g:UserName, g:SourceIp and
// g:CurrentTime on every request, so every decision is evaluated.
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	cat, err := actions.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	reqs := []Input{
		{Method: "GET", URL: "/v2/images/7f2d3c1e-5b6a-4c8d-9e0f-123456789abc", Project: "ae-ad-1"},
		{Method: "GET", URL: "/v2/cloudimages?__imagetype=private", Project: "ae-ad-1"},
		{Method: "PUT", URL: "/v2/images/7f2d3c1e-5b6a-4c8d-9e0f-123456789abc/file", Project: "ae-ad-1"},
		{Method: "DELETE", URL: "/v2/images/7f2d3c1e-5b6a-4c8d-9e0f-123456789abc", Project: "ae-ad-1"},
	}
	// The condition keys come as the proxy sends them: in Input.Globals.
	globals := func(user, ip, now string) *Globals {
		g := &Globals{}
		g.Set(GlobalUserName, user)
		g.Set(GlobalSourceIP, ip)
		g.Set(GlobalCurrentTime, now)
		return g
	}
	fixed := globals("alice", "10.2.3.4", "2026-11-27T02:00:00Z")
	for _, tc := range []struct {
		name        string
		conditional bool
		cache       int
		varyContext bool // a new g:UserName on every request: every decision is a cache miss
	}{
		{"cached", false, 0, false},
		{"uncached", false, -1, false},
		{"conditions-cached", true, 0, false},
		{"conditions-uncached", true, 0, true},
		{"conditions-miss", true, -1, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := New(ctx, cat, benchAttachments(b, tc.conditional), Options{CacheSize: tc.cache})
			if err != nil {
				b.Fatal(err)
			}
			// The varied contexts are built before the clock starts: the benchmark times
			// the decision, not the fixture.
			var varied []*Globals
			if tc.varyContext {
				varied = make([]*Globals, b.N)
				for i := range varied {
					varied[i] = globals(fmt.Sprintf("user-%d", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
						time.Date(2026, 11, 27, 0, 0, i, 0, time.UTC).Format(time.RFC3339))
				}
			}
			i := 0
			percentiles(b, func() {
				in := reqs[i%len(reqs)]
				in.Globals = fixed
				if varied != nil {
					in.Globals = varied[i]
				}
				i++
				if _, err := e.Decide(ctx, in); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
