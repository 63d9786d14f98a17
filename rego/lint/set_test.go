package lint

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
)

// codesOf lists the codes of findings (with repeats).
func codesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

// findingOf returns the first finding of code ("" message when there is none).
func findingOf(fs []Finding, code string) (Finding, bool) {
	for _, f := range fs {
		if f.Code == code {
			return f, true
		}
	}
	return Finding{}, false
}

func parsed(name string, actions string) *policy.File {
	return policy.Parse(name, []byte(`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": `+actions+`}]}`))
}

// TestEPUnsupportedIsOptIn: I-EP-UNSUPPORTED fires only for documents attached on an
// enterprise project, or when enabled.
func TestEPUnsupportedIsOptIn(t *testing.T) {
	ctx := context.Background()
	f := parsed("p.json", `["ims:images:list"]`)
	l := newTestLinter(t, Options{})
	cases := []struct {
		name  string
		lint  func() ([]Finding, error)
		fires bool
	}{
		{"on its own", func() ([]Finding, error) { return l.Lint(ctx, f) }, false},
		{"attached on all projects", func() ([]Finding, error) { return l.LintScoped(ctx, f, Scope{Kind: ScopeAllProjects}) }, false},
		{"attached on a project", func() ([]Finding, error) {
			return l.LintScoped(ctx, f, Scope{Kind: ScopeProject, Names: []string{"ae-ad-1_dev"}})
		}, false},
		{"attached on an enterprise project", func() ([]Finding, error) {
			return l.LintScoped(ctx, f, Scope{Kind: ScopeEnterpriseProject, Names: []string{"ep-1"}})
		}, true},
		{"a principal's enterprise-project attachment", func() ([]Finding, error) {
			per, err := l.LintSet(ctx, Set{Name: "principal p", Members: []Member{{File: f, Scope: Scope{Kind: ScopeEnterpriseProject, Names: []string{"ep-1"}}}}})
			if err != nil {
				return nil, err
			}
			return per[0], nil
		}, true},
		{"enabled", func() ([]Finding, error) { return newTestLinter(t, epEnabled).Lint(ctx, f) }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := tc.lint()
			require.NoError(t, err)
			_, got := findingOf(fs, CodeEPUnsupported)
			assert.Equal(t, tc.fires, got, "%v", codesOf(fs))
		})
	}
	_, err := New(ctx, catalog(t), Options{Enable: []string{"W-PARTIAL-API"}})
	require.Error(t, err, "only opt-in codes can be enabled")
	assert.Contains(t, err.Error(), "not an opt-in code (I-EP-UNSUPPORTED)")
	r, ok := l.Rule(CodeEPUnsupported)
	require.True(t, ok)
	assert.Contains(t, r.OptIn, "enterprise project")
}

// TestLintSetGrantsDependencies: a dependent action another document of the set grants
// where the document applies satisfies W-MISSING-DEPENDENT-ACTION, so the split that
// E-SCOPE-MIX asks for passes; a grant in a scope that does not reach the document does not.
func TestLintSetGrantsDependencies(t *testing.T) {
	ctx := context.Background()
	l := newTestLinter(t, Options{})
	mixed := parsed("mixed.json", `["ims:images:upload", "obs:bucket:*", "obs:object:*", "kms:*:*"]`)
	fs, err := l.Lint(ctx, mixed)
	require.NoError(t, err)
	assert.Contains(t, codesOf(fs), "E-SCOPE-MIX", "one policy mixing ims and obs")

	ims := parsed("ims.json", `["ims:images:upload", "ims:images:get", "ims:images:update", "kms:*:*"]`)
	obs := parsed("obs.json", `["obs:bucket:*", "obs:object:*"]`)
	alone, err := l.Lint(ctx, ims)
	require.NoError(t, err)
	dep, ok := findingOf(alone, "W-MISSING-DEPENDENT-ACTION")
	require.True(t, ok, "alone, the ims policy lacks obs")
	assert.Contains(t, dep.Message, "obs:bucket:*, obs:object:*")

	all := Scope{Kind: ScopeAllProjects}
	global := Scope{Kind: ScopeGlobal}
	project := Scope{Kind: ScopeProject, Names: []string{"ae-ad-1"}}
	cases := []struct {
		name     string
		ims, obs Scope
		missing  string // "" when W-MISSING-DEPENDENT-ACTION must not fire
	}{
		{"scopes unknown (--as-set)", Scope{}, Scope{}, ""},
		{"obs on the global service project", all, global, ""},
		{"obs on all projects", project, all, ""},
		{"obs on a project: obs is global, the grant does not apply", all, project, "obs:bucket:*, obs:object:*"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			per, err := l.LintSet(ctx, Set{Name: "principal builder", Members: []Member{{File: ims, Scope: tc.ims}, {File: obs, Scope: tc.obs}}})
			require.NoError(t, err)
			require.Len(t, per, 2)
			for _, fs := range per {
				assert.NotContains(t, codesOf(fs), "E-SCOPE-MIX")
			}
			dep, fired := findingOf(per[0], "W-MISSING-DEPENDENT-ACTION")
			if tc.missing == "" {
				assert.False(t, fired, "%v", dep.Message)
				return
			}
			require.True(t, fired)
			assert.Contains(t, dep.Message, tc.missing)
		})
	}
}

// TestLintSetCompletesAPIs: W-PARTIAL-API counts the actions other documents of the set
// allow.
func TestLintSetCompletesAPIs(t *testing.T) {
	ctx := context.Background()
	l := newTestLinter(t, Options{})
	share := parsed("share.json", `["ims:images:share"]`)
	get := parsed("get.json", `["ims:images:get"]`)
	alone, err := l.Lint(ctx, share)
	require.NoError(t, err)
	assert.Contains(t, codesOf(alone), "W-PARTIAL-API")
	per, err := l.LintSet(ctx, Set{Members: []Member{{File: share}, {File: get}}})
	require.NoError(t, err)
	assert.NotContains(t, codesOf(per[0]), "W-PARTIAL-API")
}

// TestLintRunMergesSets: a file in two sets is reported once; a finding only one set
// produces names that set.
func TestLintRunMergesSets(t *testing.T) {
	ctx := context.Background()
	l := newTestLinter(t, Options{})
	share := parsed("share.json", `["ims:images:share"]`)
	get := parsed("get.json", `["ims:images:get"]`)
	r, err := l.LintRun(ctx, Run{Sets: []Set{
		{Name: "principal a", Members: []Member{{File: share}, {File: get}}},
		{Name: "principal b", Members: []Member{{File: share}}},
	}}, nil, "", time.Now())
	require.NoError(t, err)
	assert.Equal(t, 2, r.Summary.Files)
	partial, ok := findingOf(r.Findings, "W-PARTIAL-API")
	require.True(t, ok)
	assert.Equal(t, []string{"principal b"}, partial.Sets)
	n := 0
	for _, f := range r.Findings {
		if f.File == "share.json" {
			n++
		}
	}
	assert.Equal(t, 1, n, "the findings of share.json once: %v", r.Findings)
}

func TestGrants(t *testing.T) {
	l := newTestLinter(t, Options{})
	p := func(kind string, names ...string) Scope { return Scope{Kind: kind, Names: names} }
	cases := []struct {
		from, to Scope
		name     string
		want     bool
	}{
		{Scope{}, p(ScopeProject, "a"), "obs:bucket:*", true},
		{p(ScopeGlobal), p(ScopeProject, "a"), "obs:bucket:*", true},
		{p(ScopeAllProjects), p(ScopeProject, "a"), "obs:bucket:*", true},
		{p(ScopeProject, "a"), p(ScopeProject, "a"), "obs:bucket:*", false},
		{p(ScopeEnterpriseProject, "e"), p(ScopeEnterpriseProject, "e"), "iam:agencies:assume", false},
		{p(ScopeAllProjects), p(ScopeProject, "a"), "kms:*:*", true},
		{p(ScopeProject, "a", "b"), p(ScopeProject, "a"), "kms:*:*", true},
		{p(ScopeProject, "a"), p(ScopeProject, "a", "b"), "kms:*:*", false},
		{p(ScopeProject, "a"), p(ScopeAllProjects), "kms:*:*", false},
		{p(ScopeGlobal), p(ScopeProject, "a"), "kms:*:*", false},
		{p(ScopeAllProjects), p(ScopeGlobal), "kms:*:*", false},
		{p(ScopeEnterpriseProject, "e"), p(ScopeEnterpriseProject, "e"), "ecs:servers:get", true},
		{p(ScopeEnterpriseProject, "e"), p(ScopeProject, "a"), "ecs:servers:get", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, l.grants(tc.from, tc.to, tc.name), "%v grants %s to %v", tc.from, tc.name, tc.to)
	}
}
