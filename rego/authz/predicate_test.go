package authz

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
)

// TestPredicateAgreesWithEngine checks the pure-Go condition model (policy.Predicate)
// against the reference Rego evaluator, and the compiled engine against both: for every operator family, request value lists around the
// condition's boundaries are decided by an engine holding one conditional Allow, and the
// engine allows exactly when the predicate holds. Both readings of absent keys are tried.
func TestPredicateAgreesWithEngine(t *testing.T) {
	conds := []struct {
		op, key string
		vals    []string
	}{
		{"IpAddress", "g:SourceIp", []string{"10.0.0.0/8", "2001:db8::/32"}},
		{"NotIpAddress", "g:SourceIp", []string{"10.0.0.0/8"}},
		{"IpAddress", "g:SourceIp", []string{"::ffff:192.0.2.0/120", "::/0"}},
		{"IpAddressIfExists", "g:SourceIp", []string{"192.0.2.1"}},
		{"DateLessThan", "g:CurrentTime", []string{"2030-01-01T00:00:00Z"}},
		{"DateGreaterThanEquals", "g:CurrentTime", []string{"2030-01-01T04:00:00+04:00", "2031-06-01T00:00:00.5Z"}},
		{"NumberLessThanEquals", "g:MFAAge", []string{"900", "-2.5"}},
		{"NumberNotEquals", "g:MFAAge", []string{"3"}},
		{"NumberEqualsAnyOf", "g:MFAAge", []string{"0.1", "12345678901234567890"}},
		{"StringEquals", "g:UserName", []string{"alice", "Bob"}},
		{"StringNotEquals", "g:UserName", []string{"alice"}},
		{"StringEqualsIgnoreCase", "g:UserName", []string{"ALICE"}},
		{"StringNotEqualsIgnoreCaseIfExists", "g:UserName", []string{"Alice"}},
		{"StringLike", "g:UserName", []string{"Adm"}},
		{"StringNotStartWith", "g:UserName", []string{"tmp-"}},
		{"StringEndWithAnyOf", "g:UserName", []string{"-OPS", "-dev"}},
		{"StringMatch", "g:UserName", []string{"a?i*", "[x]"}},
		{"StringNotMatch", "g:UserName", []string{"*e"}},
		{"Bool", "g:MFAPresent", []string{"TRUE"}},
		{"IsNull", "g:UserName", nil},
		{"IsNotNull", "g:UserName", nil},
		{"IsNullOrEmpty", "g:UserName", nil},
		{"Null", "g:UserName", []string{"false"}},
		{"ForAllValues:StringEquals", "g:TagKeys", []string{"a", "b"}},
		{"ForAnyValue:StringNotEquals", "g:TagKeys", []string{"a"}},
		{"ForAllValues:NotIpAddressIfExists", "g:SourceIp", []string{"10.0.0.0/8"}},
	}
	ctx := context.Background()
	rt := propRuntime(t)
	checked := 0
	defer func() { t.Logf("%d requests checked", checked) }()
	for _, absentNegated := range []bool{false, true} {
		for _, c := range conds {
			p, err := policy.NewPredicate(policy.CondEntry{Operator: c.op, Key: c.key, Values: c.vals}, policy.PredicateOptions{AbsentNegated: absentNegated})
			require.NoError(t, err, c.op)
			vals := c.vals
			if vals == nil {
				vals = []string{}
			}
			text, _ := json.Marshal(map[string]any{"Version": "1.1", "Statement": []any{map[string]any{
				"Effect": "Allow", "Action": []string{"ims:images:list"}, "Condition": map[string]any{c.op: map[string]any{c.key: vals}}}}})
			e, err := rt.New(ctx, catalog(t), []Attachment{{Name: "p", Document: doc(t, "p.json", string(text)), Scope: Scope{Kind: ScopeAllProjects}}},
				Options{AbsentNegated: absentNegated, CacheSize: -1})
			require.NoError(t, err)
			for _, req := range sampleRequests(p, mustPred(t, "StringEquals", c.key, "x", "10.1.2.3", "2029-01-01T00:00:00Z")) {
				key := c.key
				if len(req) > 0 && req[0] == "q" {
					key = strings.ToUpper(c.key) // keys are case-insensitive
				}
				// Explain: the reference evaluator (authz.rego), not the compiled one, which uses the predicate itself.
				d, err := e.Decide(ctx, Input{Action: "ims:images:list", Project: "ae-ad-1", Context: map[string][]string{key: req}, Explain: true})
				require.NoError(t, err)
				checked++
				assert.Equal(t, p.Holds(req), d.Effect == Allow, "%s %s %q, request %q (absent_negated %v)", c.op, c.key, c.vals, req, absentNegated)
				// The compiled engine, for every operator family, decides the same.
				dc, err := e.Decide(ctx, Input{Action: "ims:images:list", Project: "ae-ad-1", Context: map[string][]string{key: req}})
				require.NoError(t, err)
				assert.Equal(t, d.Effect, dc.Effect, "compiled: %s %s %q, request %q (absent_negated %v)", c.op, c.key, c.vals, req, absentNegated)
			}
		}
	}
}

func mustPred(t testing.TB, op, key string, vals ...string) policy.Predicate {
	t.Helper()
	p, err := policy.NewPredicate(policy.CondEntry{Operator: op, Key: key, Values: vals}, policy.PredicateOptions{})
	require.NoError(t, err)
	return p
}

// sampleRequests lists value lists for a key: absent, every sample value alone, and pairs
// of the first samples.
func sampleRequests(ps ...policy.Predicate) [][]string {
	sets := make([]policy.ValueSet, len(ps))
	for i, p := range ps {
		sets[i] = p.Set
	}
	samples := policy.Samples(sets...)
	out := [][]string{nil}
	for i, v := range samples {
		out = append(out, []string{v})
		for j := i + 1; j < min(len(samples), 12); j++ {
			w := samples[j]
			out = append(out, []string{v, w})
		}
	}
	return out
}
