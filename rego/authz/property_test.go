package authz

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/imsguard/imsguard/policy"
)

// genPolicySet builds a small random policy set and request from a byte stream, so the
// fuzzer can explore it. Values come from small pools that exercise wildcards, conditions
// (positive, negated, IfExists, qualifiers) and absent keys.
type byteGen struct {
	b []byte
	i int
}

func (g *byteGen) next(n int) int {
	if g.i >= len(g.b) {
		return 0
	}
	v := int(g.b[g.i]) % n
	g.i++
	return v
}

var (
	propActions = []string{"ims:images:get", "ims:images:list", "ims:images:share", "ims:*:get*", "ims:*:*", "ims:images:*", "*:*:*", "ecs:servers:list", "ims:images:?et"}
	propConds   = []map[string]map[string][]string{
		nil,
		{"StringEquals": {"g:UserName": {"alice"}}},
		{"StringNotEquals": {"g:UserName": {"bob"}}},
		{"IpAddress": {"g:SourceIp": {"10.0.0.0/8"}}},
		{"NotIpAddress": {"g:SourceIp": {"10.0.0.0/8"}}},
		{"BoolIfExists": {"g:MFAPresent": {"true"}}},
		{"ForAllValues:StringEquals": {"g:TagKeys": {"a", "b"}}},
		{"ForAnyValue:StringLike": {"g:TagKeys": {"a"}}},
		{"DateLessThan": {"g:CurrentTime": {"2030-01-01T00:00:00Z"}}},
		{"IsNull": {"g:UserName": {}}},
	}
	propRequestActions = []string{"ims:images:get", "ims:images:list", "ims:images:share", "ecs:servers:list", "ims:quotas:get"}
	propContexts       = []map[string][]string{
		{},
		{"g:UserName": {"alice"}, "g:SourceIp": {"10.1.1.1"}},
		{"g:UserName": {"bob"}, "g:SourceIp": {"192.0.2.1"}, "g:MFAPresent": {"false"}},
		{"g:TagKeys": {"a", "c"}, "g:CurrentTime": {"2026-11-27T00:00:00Z"}},
	}
)

type propStmt struct {
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

func (g *byteGen) stmt(effect string) propStmt {
	if effect == "" {
		effect = []string{"Allow", "Deny"}[g.next(2)]
	}
	s := propStmt{Effect: effect, Action: []string{propActions[g.next(len(propActions))]}}
	if g.next(2) == 1 {
		s.Action = append(s.Action, propActions[g.next(len(propActions))])
	}
	s.Condition = propConds[g.next(len(propConds))]
	return s
}

func (g *byteGen) set() [][]propStmt {
	docs := make([][]propStmt, 1+g.next(3))
	for i := range docs {
		for range 1 + g.next(3) {
			docs[i] = append(docs[i], g.stmt(""))
		}
	}
	return docs
}

func decideSet(t testing.TB, docs [][]propStmt, in Input) Effect {
	t.Helper()
	var atts []Attachment
	for i, stmts := range docs {
		if len(stmts) == 0 {
			continue
		}
		b, _ := json.Marshal(map[string]any{"Version": "1.1", "Statement": stmts})
		f := policy.Parse(fmt.Sprintf("p%d", i), b)
		d, err := SingleDocument(f)
		if err != nil {
			t.Fatalf("generated policy: %v", err)
		}
		atts = append(atts, Attachment{Name: f.Name, Document: d, Scope: Scope{Kind: ScopeAllProjects}})
	}
	e, err := propRuntime(t).New(context.Background(), catalog(t), atts, Options{CacheSize: -1})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	d, err := e.Decide(context.Background(), in)
	if err != nil {
		t.Fatalf("decide: %v", err)
	}
	return d.Effect
}

var propRT struct {
	once sync.Once
	rt   *Runtime
	err  error
}

// propRuntime compiles the authz queries once for all property checks of the test binary.
func propRuntime(t testing.TB) *Runtime {
	propRT.once.Do(func() { propRT.rt, propRT.err = Prepare(context.Background()) })
	if propRT.err != nil {
		t.Fatal(propRT.err)
	}
	return propRT.rt
}

func cloneDocs(docs [][]propStmt) [][]propStmt {
	out := make([][]propStmt, len(docs))
	for i := range docs {
		out[i] = append([]propStmt(nil), docs[i]...)
	}
	return out
}

// checkMonotonic: adding a Deny statement never turns a deny into Allow, and removing an
// Allow statement never turns a deny into Allow.
func checkMonotonic(t testing.TB, data []byte) {
	g := &byteGen{b: data}
	docs := g.set()
	in := Input{Action: propRequestActions[g.next(len(propRequestActions))], Project: "ae-ad-1", Context: propContexts[g.next(len(propContexts))]}
	base := decideSet(t, docs, in)

	withDeny := cloneDocs(docs)
	k := g.next(len(withDeny))
	withDeny[k] = append(withDeny[k], g.stmt("Deny"))
	if after := decideSet(t, withDeny, in); base != Allow && after == Allow {
		t.Fatalf("adding a Deny turned %s into Allow: %+v request %+v", base, withDeny, in)
	} else if base == ExplicitDeny && after != ExplicitDeny {
		t.Fatalf("adding a Deny turned ExplicitDeny into %s", after)
	}

	removed := cloneDocs(docs)
	for i := range removed {
		for j, s := range removed[i] {
			if s.Effect == "Allow" && g.next(2) == 0 {
				removed[i] = append(removed[i][:j:j], removed[i][j+1:]...)
				break
			}
		}
	}
	if after := decideSet(t, removed, in); base != Allow && after == Allow {
		t.Fatalf("removing an Allow turned %s into Allow: %+v request %+v", base, removed, in)
	}
}

func TestMonotonicProperty(t *testing.T) {
	n := 60 // each case builds three engines; FuzzMonotonic explores further (make fuzz)
	if testing.Short() {
		n = 15
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		data := make([]byte, 48)
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
		checkMonotonic(t, data)
	}
}

func FuzzMonotonic(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 0, 1, 4, 1, 0, 2, 3, 1, 1, 1, 5, 0, 0, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkMonotonic(t, data)
	})
}
