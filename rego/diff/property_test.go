package diff

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

// The property tests generate pairs of policy sets — the new one mostly a small edit of
// the old one, so the proofs are exercised and not only the obvious cases — and decide a
// grid of requests (IMS and other services' actions, projects and enterprise projects,
// source addresses, times, user names, MFA, tags) with the real engine behind
// `imsguard eval` (authz.Engine.Decide). Whenever the engine finds a request the new set
// allows and the old one does not, the diff must fail the gate (no false negatives);
// every widening the diff proves carries a request the engine confirms; and the diff's
// own model decides the grid exactly as the engine does.

type gen struct{ r *rand.Rand }

func (g gen) pick(n int) int { return g.r.IntN(n) }

func (g gen) chance(p float64) bool { return g.r.Float64() < p }

var (
	genActions = []string{"ims:images:list", "ims:images:get", "ims:images:*", "ims:*:get*", "ims:*:*", "ims:images:?et",
		"ecs:*:*", "ecs:servers:list", "iam:users:*", "obs:*:*", "*:*:*"}
	genConds = []struct {
		op, key string
		vals    []string
	}{
		{"IpAddress", "g:SourceIp", []string{"10.0.0.0/8"}},
		{"IpAddress", "g:SourceIp", []string{"0.0.0.0/0"}},
		{"IpAddress", "g:SourceIp", []string{"10.0.0.0/8", "192.168.0.0/16"}},
		{"IpAddressIfExists", "g:SourceIp", []string{"10.0.0.0/8"}},
		{"NotIpAddress", "g:SourceIp", []string{"10.0.0.0/8"}},
		{"NotIpAddress", "g:SourceIp", []string{"0.0.0.0/0"}},
		{"DateLessThan", "g:CurrentTime", []string{"2026-01-01T00:00:00Z"}},
		{"DateLessThan", "g:CurrentTime", []string{"2030-01-01T00:00:00Z"}},
		{"DateGreaterThan", "g:CurrentTime", []string{"2026-01-01T00:00:00Z"}},
		{"DateLessThanEqualsIfExists", "g:CurrentTime", []string{"2030-01-01T00:00:00Z"}},
		{"StringEquals", "g:UserName", []string{"alice"}},
		{"StringEquals", "g:UserName", []string{"alice", "bob"}},
		{"StringEqualsIfExists", "g:UserName", []string{"alice"}},
		{"StringNotEquals", "g:UserName", []string{"bob"}},
		{"StringNotEqualsIfExists", "g:UserName", []string{"bob"}},
		{"NumberLessThan", "g:MFAAge", []string{"900"}},
		{"NumberLessThanEquals", "g:MFAAge", []string{"900"}},
		{"StringEqualsIgnoreCase", "g:UserName", []string{"ALICE"}},
		{"StringStartWith", "g:UserName", []string{"al"}},
		{"StringMatch", "g:UserName", []string{"a*"}},
		{"IsNull", "g:UserName", nil},
		{"IsNotNull", "g:UserName", nil},
		{"StringEquals", "g:UserId", []string{"alice"}},
		{"Bool", "g:MFAPresent", []string{"true"}},
		{"BoolIfExists", "g:MFAPresent", []string{"true"}},
		{"ForAllValues:StringEquals", "g:TagKeys", []string{"a", "b"}},
		{"ForAnyValue:StringEquals", "g:TagKeys", []string{"a"}},
		{"ForAnyValue:StringNotLike", "g:TagKeys", []string{"b"}},
		{"StringLike", "g:UserName", []string{"LIC"}},
		{"StringNotEndWith", "g:UserName", []string{"ob"}},
		{"IsNullOrEmpty", "g:UserName", nil},
		{"NumberNotEquals", "g:MFAAge", []string{"900"}},
	}
	genScopes = []authz.Scope{
		{Kind: authz.ScopeAllProjects}, {Kind: authz.ScopeAllProjects}, {Kind: authz.ScopeAllProjects},
		{Kind: authz.ScopeProject, Projects: []string{"ae-ad-1"}}, {Kind: authz.ScopeProject, Projects: []string{"ae-ad-1_dev"}},
		{Kind: authz.ScopeGlobal}, {Kind: authz.ScopeEnterpriseProject, EnterpriseProjects: []string{"ep-1"}},
	}
)

type genStmt struct {
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource,omitempty"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

type genDoc struct {
	scope authz.Scope
	stmts []genStmt
}

func (g gen) stmt() genStmt {
	s := genStmt{Effect: "Allow", Action: []string{genActions[g.pick(len(genActions))]}}
	if g.chance(0.3) {
		s.Effect = "Deny"
	}
	if g.chance(0.3) {
		s.Action = append(s.Action, genActions[g.pick(len(genActions))])
	}
	for range g.pick(3) {
		g.addCond(&s)
	}
	if g.chance(0.05) {
		s.Resource = []string{"obs:*:*:bucket:images-*"} // never applies: requests carry no resource
	}
	return s
}

func (g gen) addCond(s *genStmt) {
	c := genConds[g.pick(len(genConds))]
	if s.Condition == nil {
		s.Condition = map[string]map[string][]string{}
	}
	if s.Condition[c.op] == nil {
		s.Condition[c.op] = map[string][]string{}
	}
	vals := c.vals
	if vals == nil {
		vals = []string{}
	}
	s.Condition[c.op][c.key] = vals
}

func (g gen) set() []genDoc {
	docs := make([]genDoc, 1+g.pick(3))
	for i := range docs {
		docs[i].scope = genScopes[g.pick(len(genScopes))]
		for range 1 + g.pick(3) {
			docs[i].stmts = append(docs[i].stmts, g.stmt())
		}
	}
	return docs
}

func cloneSet(docs []genDoc) []genDoc {
	out := make([]genDoc, len(docs))
	for i, d := range docs {
		out[i].scope = d.scope
		for _, s := range d.stmts {
			c := genStmt{Effect: s.Effect, Action: slices.Clone(s.Action), Resource: slices.Clone(s.Resource)}
			if s.Condition != nil {
				c.Condition = map[string]map[string][]string{}
				for op, kv := range s.Condition {
					c.Condition[op] = map[string][]string{}
					for k, v := range kv {
						c.Condition[op][k] = v
					}
				}
			}
			out[i].stmts = append(out[i].stmts, c)
		}
	}
	return out
}

// edit makes one to three small changes: a condition replaced, added or dropped, an
// action added or dropped, the effect flipped, a statement added or removed, the scope
// changed, or the statements moved between files and reordered (no change at all).
func (g gen) edit(docs []genDoc) []genDoc {
	out := cloneSet(docs)
	for range 1 + g.pick(3) {
		d := &out[g.pick(len(out))]
		if len(d.stmts) == 0 {
			d.stmts = append(d.stmts, g.stmt())
			continue
		}
		s := &d.stmts[g.pick(len(d.stmts))]
		switch g.pick(9) {
		case 0, 1:
			s.Condition = nil
			g.addCond(s)
		case 2:
			g.addCond(s)
		case 3:
			s.Condition = nil
		case 4:
			s.Action = append(s.Action, genActions[g.pick(len(genActions))])
		case 5:
			s.Effect = map[string]string{"Allow": "Deny", "Deny": "Allow"}[s.Effect]
		case 6:
			d.stmts = append(d.stmts, g.stmt())
		case 7:
			d.scope = genScopes[g.pick(len(genScopes))]
		default:
			i := g.pick(len(d.stmts))
			moved := d.stmts[i]
			d.stmts = slices.Delete(d.stmts, i, i+1)
			out = append(out, genDoc{scope: d.scope, stmts: []genStmt{moved}})
		}
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func sideFromGen(t testing.TB, docs []genDoc, prefix string) Side {
	t.Helper()
	s := Side{Units: []Unit{{}}}
	for i, d := range docs {
		if len(d.stmts) == 0 {
			continue
		}
		b, err := json.Marshal(map[string]any{"Version": "1.1", "Statement": d.stmts})
		require.NoError(t, err)
		f := policy.Parse(fmt.Sprintf("%s/p%d.json", prefix, i), b)
		require.Len(t, f.Documents, 1)
		s.Units[0].Attachments = append(s.Units[0].Attachments, authz.Attachment{Name: f.Name, Document: f.Documents[0], Scope: d.scope})
	}
	return s
}

// The request grid.
var (
	gridActions = []string{"ims:images:list", "ims:images:get", "ims:images:share", "ims:quotas:get", "ecs:servers:list",
		"ecs:cloudservers:get", "iam:users:create", "obs:bucket:get", "kms:keys:list"}
	gridScopes = []Request{{Project: "ae-ad-1"}, {Project: "ae-ad-1_dev"}, {Project: "global"},
		{Project: "ae-ad-1", EnterpriseProject: "ep-1", EPSupported: true}}
	gridKeys = []struct {
		key  string
		vals [][]string
	}{
		{"g:SourceIp", [][]string{nil, {"10.1.2.3"}, {"11.0.0.1"}, {"192.168.1.1"}, {"2001:db8::1"}}},
		{"g:CurrentTime", [][]string{nil, {"2025-06-01T00:00:00Z"}, {"2027-06-01T00:00:00Z"}, {"2031-01-01T00:00:00Z"}}},
		{"g:UserName", [][]string{nil, {"alice"}, {"bob"}, {"ALICE"}, {"carol"}}},
		{"g:UserId", [][]string{nil, {"alice"}}},
		{"g:MFAAge", [][]string{nil, {"300"}, {"900"}, {"3600"}}},
		{"g:MFAPresent", [][]string{nil, {"true"}, {"false"}}},
		{"g:TagKeys", [][]string{nil, {"a"}, {"a", "c"}}},
	}
)

// gridContexts draws n contexts from the grid (the whole product is too large).
func (g gen) gridContexts(n int) []policy.Context {
	out := []policy.Context{{}}
	for range n {
		c := policy.Context{}
		for _, k := range gridKeys {
			if v := k.vals[g.pick(len(k.vals))]; v != nil {
				c[k.key] = v
			}
		}
		out = append(out, c)
	}
	return out
}

var propRT struct {
	once sync.Once
	rt   *authz.Runtime
	err  error
}

func runtime(t testing.TB) *authz.Runtime {
	propRT.once.Do(func() { propRT.rt, propRT.err = authz.Prepare(context.Background()) })
	require.NoError(t, propRT.err)
	return propRT.rt
}

// engineDecide decides one request with the engine (one action).
func engineDecide(t testing.TB, e *authz.Engine, r Request) authz.Effect {
	t.Helper()
	ep := r.EPSupported
	d, err := e.Decide(context.Background(), authz.Input{Action: r.Action, Project: r.Project, EnterpriseProjectID: r.EnterpriseProject,
		APISupportsEP: &ep, Context: r.Context})
	require.NoError(t, err)
	return d.Effect
}

// engineDecideAll decides the request for every grid action with one evaluation.
func engineDecideAll(t testing.TB, e *authz.Engine, r Request) []authz.Effect {
	t.Helper()
	ep := r.EPSupported
	d, err := e.Decide(context.Background(), authz.Input{Actions: gridActions, Project: r.Project, EnterpriseProjectID: r.EnterpriseProject,
		APISupportsEP: &ep, Context: r.Context})
	require.NoError(t, err)
	require.Len(t, d.Actions, len(gridActions))
	out := make([]authz.Effect, len(gridActions))
	for i, a := range d.Actions {
		require.Equal(t, gridActions[i], a.Action)
		out[i] = a.Effect
	}
	return out
}

// propertyStats counts what the cases exercised.
type propertyStats struct {
	cases, widenings, fails, proven, passes int
}

// checkSound runs one case: see the comment at the top of the file.
func checkSound(t testing.TB, g gen, st *propertyStats) {
	t.Helper()
	ctx := context.Background()
	oldDocs := g.set()
	newDocs := g.edit(oldDocs)
	if g.chance(0.15) {
		newDocs = g.set()
	}
	old, cur := sideFromGen(t, oldDocs, "old"), sideFromGen(t, newDocs, "new")
	neg := g.chance(0.2) // the AWS reading of absent keys, on both sides
	old.AbsentNegated, cur.AbsentNegated = neg, neg
	cat := testCatalog(t)
	r, err := Compare(ctx, cat, old, cur, Options{Runtime: runtime(t)})
	require.NoError(t, err)
	oe, err := runtime(t).New(ctx, cat, old.Units[0].Attachments, authz.Options{CacheSize: -1, AbsentNegated: neg})
	require.NoError(t, err)
	ne, err := runtime(t).New(ctx, cat, cur.Units[0].Attachments, authz.Options{CacheSize: -1, AbsentNegated: neg})
	require.NoError(t, err)
	om := build(old.Units[0].Attachments, policy.PredicateOptions{AbsentNegated: neg})
	nm := build(cur.Units[0].Attachments, policy.PredicateOptions{AbsentNegated: neg})
	st.cases++
	var widening *Request
	for _, c := range g.gridContexts(12) {
		for _, sc := range gridScopes {
			req := Request{Project: sc.Project, EnterpriseProject: sc.EnterpriseProject, EPSupported: sc.EPSupported, Context: c}
			befores, afters := engineDecideAll(t, oe, req), engineDecideAll(t, ne, req)
			for i, a := range gridActions {
				req.Action = a
				before, after := befores[i], afters[i]
				if got := om.decide(req); got != before {
					t.Fatalf("model decides %s for %s on the old set, the engine %s\nold: %+v", got, req, before, oldDocs)
				}
				if got := nm.decide(req); got != after {
					t.Fatalf("model decides %s for %s on the new set, the engine %s\nnew: %+v", got, req, after, newDocs)
				}
				if after == authz.Allow && before != authz.Allow && widening == nil {
					w := req
					widening = &w
				}
			}
		}
	}
	if widening != nil {
		st.widenings++
		if !r.Summary.FailsGate {
			t.Fatalf("false negative: the engine allows %s with the new set (not the old), the diff passes the gate\nold: %+v\nnew: %+v",
				widening, oldDocs, newDocs)
		}
	}
	if r.Summary.FailsGate {
		st.fails++
	} else {
		st.passes++
	}
	for _, c := range r.Changes {
		if c.Kind != KindWiden {
			continue
		}
		if c.Example == nil {
			t.Fatalf("a proven widening without a request: %+v", c)
		}
		st.proven++
		before, after := engineDecide(t, oe, c.Example.Request), engineDecide(t, ne, c.Example.Request)
		if after != authz.Allow || before == authz.Allow || before != c.Example.Old {
			t.Fatalf("the engine does not confirm the widening %s (old %s, new %s)\nold: %+v\nnew: %+v", c.Example, before, after, oldDocs, newDocs)
		}
	}
}

func TestDiffSoundProperty(t *testing.T) {
	n := 40 // about 100 ms each, half a second under -race; FuzzDiffSound explores further (make fuzz)
	if testing.Short() {
		n = 15
	}
	g := gen{rand.New(rand.NewPCG(10, 42))}
	st := &propertyStats{}
	for range n {
		checkSound(t, g, st)
	}
	t.Logf("%d cases: %d with a widening on the grid, %d fail the gate, %d pass it; %d proven widenings confirmed by the engine",
		st.cases, st.widenings, st.fails, st.passes, st.proven)
	require.Positive(t, st.passes, "some edits must be proven harmless, or the gate is useless")
}

func FuzzDiffSound(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(7), uint64(99))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		checkSound(t, gen{rand.New(rand.NewPCG(a, b))}, &propertyStats{})
	})
}
