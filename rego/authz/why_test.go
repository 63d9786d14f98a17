package authz

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWhy: each reason a statement applies or not, as eval prints it.
func TestWhy(t *testing.T) {
	const dev = `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:list"]},
		{"Effect":"Allow","Action":["ims:*:get"],"Condition":{"DateLessThan":{"g:CurrentTime":["2030-01-01T00:00:00Z"]}}},
		{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"IpAddress":{"g:SourceIp":["10.0.0.0/8"]}}},
		{"Effect":"Allow","Action":["ims:images:update"],"Condition":{"StringEqualsIfExists":{"g:UserName":["alice"]},"Bool":{"g:MFAPresent":["true"]}}},
		{"Effect":"Deny","Action":["ims:images:delete"],"Condition":{"ForAnyValue:StringEquals":{"g:TagKeys":["protected","legal-hold"]}}},
		{"Effect":"Allow","Action":["ims:images:share"],"Condition":{"StringNotEquals":{"g:UserName":["mallory"]}}},
		{"Effect":"Deny","Action":["ecs:servers:delete"]}]}`
	const obs = `{"Version":"1.1","Statement":[
		{"Effect":"Deny","Action":["obs:bucket:DeleteBucket"],"Resource":["obs:*:*:bucket:audit-logs"]},
		{"Effect":"Deny","Action":["obs:object:DeleteObject"],"Resource":["obs:*:*:object:audit-logs/*","obs:*:*:object:legal/*"]}]}`
	const other = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]}]}`
	type want struct {
		stmt    int
		matched bool
		reason  string // the whole String() of the statement
	}
	tests := []struct {
		name string
		opts Options
		in   Input
		want []want
	}{
		{"unconditional match", Options{}, Input{Action: "ims:images:list"}, []want{
			{0, true, "dev.json statement 0 (Allow ims:images:list)"}}},
		{"condition holds, another fails on the value seen", Options{}, Input{Action: "ims:images:get",
			Context: map[string][]string{"g:CurrentTime": {"2029-06-01T00:00:00Z"}, "g:SourceIp": {"203.0.113.9"}}}, []want{
			{1, true, "dev.json statement 1 (Allow ims:images:get): condition DateLessThan g:CurrentTime [2030-01-01T00:00:00Z] holds for 2029-06-01T00:00:00Z"},
			{2, false, "dev.json statement 2 (Allow ims:images:get): condition IpAddress g:SourceIp [10.0.0.0/8] does not hold for 203.0.113.9"}}},
		{"absent key", Options{}, Input{Action: "ims:images:get", Context: map[string][]string{"g:CurrentTime": {"2031-01-01T00:00:00Z"}}}, []want{
			{1, false, "dev.json statement 1 (Allow ims:images:get): condition DateLessThan g:CurrentTime [2030-01-01T00:00:00Z] does not hold for 2031-01-01T00:00:00Z"},
			{2, false, "dev.json statement 2 (Allow ims:images:get): condition IpAddress g:SourceIp [10.0.0.0/8] does not hold: g:SourceIp is absent"}}},
		{"keys are case-insensitive and merged", Options{}, Input{Action: "ims:images:get",
			Context: map[string][]string{"G:SOURCEIP": {"203.0.113.9"}, "g:sourceip": {"10.1.2.3"}, "g:currenttime": {"2031-01-01T00:00:00Z"}}}, []want{
			{1, false, "dev.json statement 1 (Allow ims:images:get): condition DateLessThan g:CurrentTime [2030-01-01T00:00:00Z] does not hold for 2031-01-01T00:00:00Z"},
			{2, true, "dev.json statement 2 (Allow ims:images:get): condition IpAddress g:SourceIp [10.0.0.0/8] holds for [203.0.113.9, 10.1.2.3]"}}},
		{"only the failing condition of two is the reason", Options{}, Input{Action: "ims:images:update", Context: map[string][]string{"g:MFAPresent": {"false"}}}, []want{
			{3, false, "dev.json statement 3 (Allow ims:images:update): condition Bool g:MFAPresent [true] does not hold for false"}}},
		{"IfExists holds on an absent key", Options{}, Input{Action: "ims:images:update", Context: map[string][]string{"g:MFAPresent": {"true"}}}, []want{
			{3, true, "dev.json statement 3 (Allow ims:images:update): condition StringEqualsIfExists g:UserName [alice] holds: g:UserName is absent; condition Bool g:MFAPresent [true] holds for true"}}},
		{"ForAnyValue Deny", Options{}, Input{Action: "ims:images:delete", Context: map[string][]string{"g:TagKeys": {"team", "legal-hold"}}}, []want{
			{4, true, "dev.json statement 4 (Deny ims:images:delete): condition ForAnyValue:StringEquals g:TagKeys [protected, legal-hold] holds for [team, legal-hold]"}}},
		{"negated operator on an absent key", Options{}, Input{Action: "ims:images:share"}, []want{
			{5, false, "dev.json statement 5 (Allow ims:images:share): condition StringNotEquals g:UserName [mallory] does not hold: g:UserName is absent"}}},
		{"negated operator on an absent key, AWS semantics", Options{AbsentNegated: true}, Input{Action: "ims:images:share"}, []want{
			{5, true, "dev.json statement 5 (Allow ims:images:share): condition StringNotEquals g:UserName [mallory] holds: g:UserName is absent"}}},
		{"non-IMS actions are explained too", Options{}, Input{Action: "ecs:servers:delete"}, []want{
			{6, true, "dev.json statement 6 (Deny ecs:servers:delete)"}}},
		{"resource matches", Options{}, Input{Action: "obs:bucket:DeleteBucket", Resource: "obs:ae-ad-1:acct:bucket:audit-logs"}, []want{
			{0, true, "obs.json statement 0 (Deny obs:bucket:DeleteBucket): resource obs:*:*:bucket:audit-logs matches obs:ae-ad-1:acct:bucket:audit-logs"}}},
		{"resource does not match", Options{}, Input{Action: "obs:bucket:DeleteBucket", Resource: "obs:ae-ad-1:acct:bucket:build-cache"}, []want{
			{0, false, "obs.json statement 0 (Deny obs:bucket:DeleteBucket): resource obs:*:*:bucket:audit-logs does not match obs:ae-ad-1:acct:bucket:build-cache"}}},
		{"none of several resources matches", Options{}, Input{Action: "obs:object:DeleteObject", Resource: "obs:ae-ad-1:acct:object:tmp/x"}, []want{
			{1, false, "obs.json statement 1 (Deny obs:object:DeleteObject): none of the resources obs:*:*:object:audit-logs/*, obs:*:*:object:legal/* matches obs:ae-ad-1:acct:object:tmp/x"}}},
		{"the second resource matches", Options{}, Input{Action: "obs:object:DeleteObject", Resource: "obs:ae-ad-1:acct:object:legal/2024/a:b"}, []want{
			{1, true, "obs.json statement 1 (Deny obs:object:DeleteObject): resource obs:*:*:object:legal/* matches obs:ae-ad-1:acct:object:legal/2024/a:b"}}},
		{"no request resource", Options{}, Input{Action: "obs:bucket:DeleteBucket"}, []want{
			{0, false, "obs.json statement 0 (Deny obs:bucket:DeleteBucket): the statement has Resource obs:*:*:bucket:audit-logs and the request names no resource"}}},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			atts := []Attachment{allProjects(t, "dev.json", dev), allProjects(t, "obs.json", obs),
				{Name: "other.json", Document: doc(t, "other.json", other), Scope: Scope{Kind: ScopeProject, Projects: []string{"ae-ad-1_dev"}}}}
			tc.opts.CacheSize = -1
			e, err := New(ctx, catalog(t), atts, tc.opts)
			require.NoError(t, err)
			tc.in.Project = "ae-ad-1"
			d, why, err := e.Why(ctx, tc.in)
			require.NoError(t, err)
			require.Len(t, d.Skipped, 1, "other.json is granted on another project")
			require.Len(t, why, len(tc.want), "%v", why)
			for i, w := range tc.want {
				assert.Equal(t, w.stmt, why[i].Statement)
				assert.Equal(t, w.matched, why[i].Matched)
				assert.Equal(t, w.reason, why[i].String())
				assert.False(t, why[i].Disagrees)
			}
		})
	}
}

// TestWhyDetails: the structured fields behind the words (eval's JSON).
func TestWhyDetails(t *testing.T) {
	e := engine(t, allProjects(t, "p.json", `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:get","ims:images:list"],"Condition":{"IpAddress":{"g:SourceIp":["10.0.0.0/8"]},"StringEquals":{"g:UserName":["alice"]}}},
		{"Effect":"Deny","Action":["obs:bucket:*"],"Resource":["obs:*:*:bucket:a","obs:*:*:bucket:b*"]}]}`))
	d, why, err := e.Why(context.Background(), Input{Actions: []string{"ims:images:get", "ims:images:list"}, Project: "ae-ad-1",
		Context: map[string][]string{"g:SourceIp": {"10.1.2.3"}}})
	require.NoError(t, err)
	assert.Equal(t, ImplicitDeny, d.Effect)
	require.Len(t, why, 1)
	w := why[0]
	assert.Equal(t, []string{"ims:images:get", "ims:images:list"}, w.Actions, "one statement, every action it matched")
	assert.Equal(t, "p.json", w.Policy)
	assert.Equal(t, "Allow", w.Effect)
	assert.Equal(t, []ConditionWhy{
		{Operator: "IpAddress", Key: "g:SourceIp", Values: []string{"10.0.0.0/8"}, Request: []string{"10.1.2.3"}, Valid: true, Holds: true, Meaning: "g:SourceIp in 10.0.0.0/8"},
		{Operator: "StringEquals", Key: "g:UserName", Values: []string{"alice"}, Request: []string{}, Absent: true, Valid: true, Meaning: "g:UserName is alice"},
	}, w.Conditions)
	assert.Equal(t, "condition StringEquals g:UserName [alice] does not hold: g:UserName is absent", w.Reason, "only what failed")

	_, why, err = e.Why(context.Background(), Input{Action: "obs:bucket:DeleteBucket", Project: "ae-ad-1", Resource: "obs:r:acct:bucket:b2"})
	require.NoError(t, err)
	require.Len(t, why, 1)
	assert.Equal(t, &ResourceWhy{Patterns: []string{"obs:*:*:bucket:a", "obs:*:*:bucket:b*"}, Request: "obs:r:acct:bucket:b2", Matches: true, Matching: "obs:*:*:bucket:b*"}, why[0].Resource)
	assert.Nil(t, why[0].Conditions)
}

// TestWhyInvalidConditionsFailSafe: a condition IAM would reject (evaluated with
// --lenient) never lets an Allow apply and keeps a Deny in force, and says so.
func TestWhyInvalidConditionsFailSafe(t *testing.T) {
	e, err := New(context.Background(), catalog(t), []Attachment{allProjects(t, "lenient.json", `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:list"],"Condition":{"StringEqualz":{"g:UserName":["alice"]}}},
		{"Effect":"Deny","Action":["ims:images:list"],"Condition":{"IpAddress":{"g:SourceIp":["not-an-ip"]}}}]}`)},
		Options{Lenient: true, CacheSize: -1})
	require.NoError(t, err)
	d, why, err := e.Why(context.Background(), Input{Action: "ims:images:list", Project: "ae-ad-1", Context: map[string][]string{"g:UserName": {"alice"}}})
	require.NoError(t, err)
	assert.Equal(t, ExplicitDeny, d.Effect)
	require.Len(t, why, 2)
	assert.False(t, why[0].Matched)
	assert.Contains(t, why[0].String(), "lenient.json statement 0 (Allow ims:images:list): condition StringEqualz g:UserName [alice] is an invalid condition, fail-safe: it never holds in an Allow (invalid condition: StringEqualz g:UserName: ")
	assert.True(t, why[1].Matched)
	assert.Contains(t, why[1].String(), "lenient.json statement 1 (Deny ims:images:list): condition IpAddress g:SourceIp [not-an-ip] is an invalid condition, fail-safe: it holds in a Deny (invalid condition: IpAddress g:SourceIp: ")
	for _, w := range why {
		require.Len(t, w.Conditions, 1)
		assert.False(t, w.Conditions[0].Valid)
		assert.NotEmpty(t, w.Conditions[0].Problem)
		assert.Empty(t, w.Conditions[0].Meaning)
		assert.False(t, w.Disagrees)
	}
}

// TestWhySaysWhenItDisagrees: if the explanation's own evaluation ever finds another
// outcome than the engine, it keeps the engine's and says so instead of covering it up.
func TestWhySaysWhenItDisagrees(t *testing.T) {
	e := engine(t, allProjects(t, "p.json", `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:list"],"Condition":{"StringEquals":{"g:UserName":["alice"]}}}]}`))
	in := Input{Action: "ims:images:list", Project: "ae-ad-1", Context: map[string][]string{"g:UserName": {"alice"}}}
	d, why, err := e.Why(context.Background(), in)
	require.NoError(t, err)
	require.True(t, why[0].Matched)
	// a decision that did not apply the statement although its condition holds
	d.Actions[0].Matched = nil
	why = e.why(in, d)
	require.Len(t, why, 1)
	assert.False(t, why[0].Matched, "the engine's outcome stands")
	assert.True(t, why[0].Disagrees)
	assert.Equal(t, "condition StringEquals g:UserName [alice] holds for alice; yet the engine did not apply the statement: this explanation and the engine disagree, the decision stands (please report it)", why[0].Reason)
	// and one that applied it although it does not hold
	in.Context["g:UserName"] = []string{"bob"}
	d.Actions[0].Matched = d.Actions[0].Conditional
	why = e.why(in, d)
	assert.True(t, why[0].Matched)
	assert.True(t, why[0].Disagrees)
	assert.Equal(t, "condition StringEquals g:UserName [alice] does not hold for bob; yet the engine applied the statement: this explanation and the engine disagree, the decision stands (please report it)", why[0].Reason)
}

// TestWhyUnknownAction: a did-you-mean note for IMS actions the catalog does not list; the
// decision still runs.
func TestWhyUnknownAction(t *testing.T) {
	e := engine(t, allProjects(t, "p.json", full))
	d, why, err := e.Why(context.Background(), Input{Action: "ims:images:lst", Project: "ae-ad-1"})
	require.NoError(t, err)
	assert.Equal(t, Allow, d.Effect, "ims:*:* matches it all the same")
	assert.Equal(t, []string{"ims:images:lst is not an action of the IMS catalog; did you mean ims:images:list?"}, d.Notes)
	require.Len(t, why, 1)
	assert.True(t, why[0].Matched)
	d, _, err = e.Why(context.Background(), Input{Action: "ecs:servers:get", Project: "ae-ad-1"})
	require.NoError(t, err)
	assert.Empty(t, d.Notes, "other services' catalogs are unknown, not wrong")
}

func TestUnknownActionNote(t *testing.T) {
	cat := catalog(t)
	tests := []struct{ action, want string }{
		{"ims:images:lst", "ims:images:lst is not an action of the IMS catalog; did you mean ims:images:list?"},
		{"ims:imgaes:get", "ims:imgaes:get is not an action of the IMS catalog; did you mean ims:images:get?"},
		{"IMS:serverImages:craete", "IMS:serverImages:craete is not an action of the IMS catalog; did you mean ims:serverImages:create?"},
		{"ims:volumes:attach", "ims:volumes:attach is not an action of the IMS catalog (imsguard actions list shows them all)"},
		{"ims:images:list", ""},
		{"IMS:Images:List", ""},
		{"ims:dataimages:create", ""},
		{"ecs:servers:get", ""},
		{"obs:bucket:DeleteBucket", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			assert.Equal(t, tc.want, UnknownActionNote(cat, tc.action))
		})
	}
	assert.Empty(t, UnknownActionNote(nil, "ims:images:lst"))
}

// TestWhyAgreesWithEngine: on the differential test's random policy sets and requests
// (every scope kind, wildcards, resources, every condition family, invalid conditions,
// both absent-key readings), the explanation's own evaluation of every statement finds
// the engine's outcome, and it lists every statement the engine matched.
func TestWhyAgreesWithEngine(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 15
	}
	ctx := context.Background()
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		atts, opts := diffCase(t, r)
		e, err := propRuntime(t).New(ctx, catalog(t), atts, opts)
		require.NoError(t, err)
		for range 20 {
			in := diffRequest(r)
			d, why, err := e.Why(ctx, in)
			require.NoError(t, err)
			matched := map[stmtKey]bool{}
			for _, w := range why {
				require.False(t, w.Disagrees, "seed %d: %s\nrequest %+v", seed, w, in)
				if w.Matched {
					matched[stmtKey{w.Attachment, w.Statement}] = true
				}
			}
			for _, a := range d.Actions {
				for _, m := range a.Matched {
					require.True(t, matched[stmtKey{m.Attachment, m.Statement}], "seed %d: %+v not explained", seed, m)
				}
			}
		}
	}
}
