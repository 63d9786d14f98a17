package authz

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The differential test holds the compiled engine to the reference evaluator (authz.rego):
// for generated policy sets — every scope kind, wildcards, non-IMS services, resources,
// conditions of every operator family (valid and, leniently, invalid), IfExists,
// ForAllValues/ForAnyValue, both readings of absent keys — and generated requests — catalog
// and other actions, projects, enterprise projects established, unknown or unsupported,
// condition values around the policies' boundaries, resources — both must give the same
// decision and the same matched statements for every action.

var diffActions = []string{
	"ims:images:get", "ims:images:list", "ims:images:delete", "ims:images:update", "ims:images:share",
	"ims:serverImages:create", "ims:quotas:get", "ims:images:upload", "ims:dataImages:create",
	"ecs:servers:get", "obs:object:GetObject", "kms:cmk:get", "ims:images:gettags", "iam:users:list",
}

var diffPatterns = []string{
	"ims:images:get", "ims:*:get*", "ims:*:*", "*:*:*", "ims:images:?et", "ims:images:*", "ecs:*:*",
	"obs:object:*", "ims:serverImages:create", "ims:*:list", "ims:quotas:get", "ims:images:de*", "kms:*:get",
}

var diffConds = []struct {
	op, key string
	vals    []string
}{
	{"IpAddress", "g:SourceIp", []string{"10.0.0.0/8"}},
	{"NotIpAddress", "g:SourceIp", []string{"10.0.0.0/8", "192.0.2.0/24"}},
	{"DateLessThan", "g:CurrentTime", []string{"2030-01-01T00:00:00Z"}},
	{"DateGreaterThanEquals", "g:CurrentTime", []string{"2027-01-01T00:00:00Z"}},
	{"StringEquals", "g:UserName", []string{"alice", "bob"}},
	{"StringNotEqualsIfExists", "g:UserName", []string{"mallory"}},
	{"StringEqualsIgnoreCase", "g:DomainName", []string{"ACME"}},
	{"StringLike", "g:ProjectName", []string{"dev"}},
	{"StringMatch", "g:UserName", []string{"a*"}},
	{"NumberLessThan", "g:MFAAge", []string{"900"}},
	{"Bool", "g:MFAPresent", []string{"true"}},
	{"IsNotNull", "g:MFAPresent", nil},
	{"Null", "g:UserName", []string{"true"}},
	{"ForAllValues:StringEquals", "g:TagKeys", []string{"a", "b"}},
	{"ForAnyValue:StringEquals", "g:TagKeys", []string{"a"}},
	{"ForAllValues:NotIpAddress", "g:SourceIp", []string{"192.0.2.0/24"}},
	{"DateLessThan", "g:CurrentTime", []string{"not a date"}}, // invalid: fail-safe (lenient)
	{"Bogus", "g:UserName", []string{"x"}},                    // unknown operator: fail-safe (lenient)
}

var diffContext = map[string][][]string{
	"g:SourceIp":    {{"10.1.2.3"}, {"192.0.2.7"}, {"203.0.113.1"}, {"10.0.0.1", "192.0.2.1"}},
	"g:CurrentTime": {{"2026-06-01T00:00:00Z"}, {"2028-01-01T00:00:00Z"}, {"2031-01-01T00:00:00Z"}},
	"g:UserName":    {{"alice"}, {"bob"}, {"mallory"}, {"Alice"}},
	"g:DomainName":  {{"acme"}, {"other"}},
	"g:ProjectName": {{"ae-ad-1_dev"}, {"ae-ad-1"}},
	"g:MFAAge":      {{"300"}, {"3000"}, {"soon"}},
	"g:MFAPresent":  {{"true"}, {"false"}},
	"g:TagKeys":     {{"a"}, {"a", "b"}, {"a", "c"}},
}

// diffCase builds one random policy set and the engines of both readings.
func diffCase(t testing.TB, r *rand.Rand) ([]Attachment, Options) {
	t.Helper()
	scopes := []Scope{
		{Kind: ScopeAllProjects}, {Kind: ScopeProject, Projects: []string{"p1"}}, {Kind: ScopeProject, Projects: []string{"p1", "p2"}},
		{Kind: ScopeGlobal}, {Kind: ScopeEnterpriseProject, EnterpriseProjects: []string{"e1"}},
		{Kind: ScopeEnterpriseProject, EnterpriseProjects: []string{"e1", "e2"}},
	}
	var atts []Attachment
	for a := range 1 + r.IntN(4) {
		var stmts []map[string]any
		for range 1 + r.IntN(5) {
			st := map[string]any{"Effect": []string{"Allow", "Allow", "Deny"}[r.IntN(3)]}
			var acts []string
			for range 1 + r.IntN(2) {
				acts = append(acts, diffPatterns[r.IntN(len(diffPatterns))])
			}
			st["Action"] = acts
			if r.IntN(6) == 0 {
				st["Resource"] = []string{[]string{"obs:*:*:bucket:logs", "obs:*:*:object:logs/*", "*"}[r.IntN(3)]}
			}
			if r.IntN(2) == 0 {
				cond := map[string]map[string][]string{}
				for range 1 + r.IntN(2) {
					c := diffConds[r.IntN(len(diffConds))]
					vals := c.vals
					if vals == nil {
						vals = []string{}
					}
					if cond[c.op] == nil {
						cond[c.op] = map[string][]string{}
					}
					cond[c.op][c.key] = vals
				}
				st["Condition"] = cond
			}
			stmts = append(stmts, st)
		}
		text, err := json.Marshal(map[string]any{"Version": "1.1", "Statement": stmts})
		require.NoError(t, err)
		atts = append(atts, Attachment{Name: fmt.Sprintf("a%d.json", a), Document: doc(t, fmt.Sprintf("a%d.json", a), string(text)), Scope: scopes[r.IntN(len(scopes))]})
	}
	return atts, Options{Lenient: true, AbsentNegated: r.IntN(4) == 0, CacheSize: -1}
}

// diffRequest draws one request.
func diffRequest(r *rand.Rand) Input {
	var acts []string
	for range 1 + r.IntN(2) {
		acts = append(acts, diffActions[r.IntN(len(diffActions))])
	}
	in := Input{Actions: slices.Compact(acts), Project: []string{"p1", "p2", "global", "ae-ad-1"}[r.IntN(4)], Context: map[string][]string{}}
	sup := r.IntN(3) != 0
	in.APISupportsEP = &sup
	switch r.IntN(4) {
	case 0:
		in.EnterpriseProjectID = []string{"e1", "e2", "e3"}[r.IntN(3)]
	case 1:
		in.EnterpriseProjectUnknown = true
	case 2:
		in.EnterpriseProjectID, in.EnterpriseProjectUnknown = "e1", true
	}
	for _, k := range slices.Sorted(maps.Keys(diffContext)) { // sorted: a seed replays
		vs := diffContext[k]
		if r.IntN(3) == 0 {
			continue
		}
		// A global key may come in Globals (as the proxy sends it), also in Context.
		if gi := slices.Index(GlobalKeys[:], k); gi >= 0 && r.IntN(3) == 0 {
			if in.Globals == nil {
				in.Globals = &Globals{}
			}
			v := vs[r.IntN(len(vs))]
			in.Globals.Set(gi, v[r.IntN(len(v))])
			if r.IntN(4) != 0 {
				continue
			}
		}
		// Keys match without regard to case, and spellings of one key merge.
		spelling := k
		switch r.IntN(8) {
		case 0:
			spelling = strings.ToLower(k)
		case 1:
			spelling = strings.ToUpper(k)
		case 2:
			in.Context[strings.ToUpper(k)] = vs[r.IntN(len(vs))]
		}
		in.Context[spelling] = vs[r.IntN(len(vs))]
	}
	if r.IntN(5) == 0 {
		in.Resource = []string{"obs:ae-ad-1:acct:bucket:logs", "obs:ae-ad-1:acct:object:logs/a:b", "OBS:x:y:BUCKET:logs", "obs:short", "obs:ae-ad-1:acct:object:logs/app.v2.log"}[r.IntN(5)]
	}
	return in
}

// checkDifferential decides requests with both evaluators of one policy set.
func checkDifferential(t testing.TB, seed uint64, requests int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	atts, opts := diffCase(t, r)
	e, err := propRuntime(t).New(context.Background(), catalog(t), atts, opts)
	require.NoError(t, err)
	require.NotNil(t, e.prog, "the policy set compiles: %v", e.Notes())
	for range requests {
		in := diffRequest(r)
		ctx := context.Background()
		acts, _, sup, _, err := e.resolve(in)
		require.NoError(t, err)
		want, err := e.decideReference(ctx, in, acts, sup)
		require.NoError(t, err)
		require.True(t, e.prog.covers(acts) || !e.prog.withPatterns)
		got, err := e.Decide(ctx, in) // the compiled program for catalog actions
		require.NoError(t, err)
		got.Notes, want.Notes = nil, nil
		if got.Effect != want.Effect || !sameMatches(got, want) {
			t.Fatalf("seed %d: compiled %s, reference %s\nrequest %+v\ncompiled %+v\nreference %+v\nmodule:\n%s",
				seed, got.Effect, want.Effect, in, got.Actions, want.Actions, e.prog.module)
		}
	}
}

func sameMatches(a, b Decision) bool {
	if len(a.Actions) != len(b.Actions) {
		return false
	}
	for i := range a.Actions {
		x, y := a.Actions[i], b.Actions[i]
		if x.Action != y.Action || x.Effect != y.Effect || !slices.Equal(x.Matched, y.Matched) {
			return false
		}
	}
	return true
}

// TestCompiledMatchesReference runs the differential check on fixed seeds (make test).
func TestCompiledMatchesReference(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 30
	}
	for seed := range uint64(n) {
		checkDifferential(t, seed, 40)
	}
}

// FuzzCompiledMatchesReference explores more policy sets: go test -fuzz
// FuzzCompiledMatchesReference ./rego/authz/ (make fuzz runs it).
func FuzzCompiledMatchesReference(f *testing.F) {
	for _, s := range []uint64{1, 7, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		checkDifferential(t, seed, 25)
	})
}

// TestContextMap: Globals read as entries of Context — merged with a key Context also
// has, absent where empty — and Context itself is left as it was.
func TestContextMap(t *testing.T) {
	ctx := map[string][]string{"g:SourceIp": {"10.0.0.1"}, "g:TagKeys": {"a"}}
	assert.Equal(t, ctx, Input{Context: ctx}.ContextMap())
	g := &Globals{}
	g.Set(0, "2026-06-01T00:00:00Z")
	g.Set(1, "192.0.2.7")
	g.Set(3, "alice")
	g.Set(5, "")
	got := Input{Context: ctx, Globals: g}.ContextMap()
	assert.Equal(t, map[string][]string{
		"g:CurrentTime": {"2026-06-01T00:00:00Z"},
		"g:SourceIp":    {"10.0.0.1", "192.0.2.7"},
		"g:UserName":    {"alice"},
		"g:DomainName":  {""},
		"g:TagKeys":     {"a"},
	}, got)
	assert.Equal(t, map[string][]string{"g:SourceIp": {"10.0.0.1"}, "g:TagKeys": {"a"}}, ctx, "Context unchanged")
	g = &Globals{}
	g.Set(2, "p")
	g.Value[4] = "not set"
	assert.Equal(t, map[string][]string{"g:ProjectName": {"p"}}, Input{Globals: g}.ContextMap())
}
