package diff

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

func testCatalog(t testing.TB) *actions.Catalog {
	t.Helper()
	c, err := actions.Embedded()
	require.NoError(t, err)
	return c
}

// sideOf attaches the documents (file name → JSON text) to all projects.
func sideOf(t testing.TB, files map[string]string) Side {
	t.Helper()
	return scopedSide(t, authz.Scope{Kind: authz.ScopeAllProjects}, files)
}

func scopedSide(t testing.TB, sc authz.Scope, files map[string]string) Side {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	s := Side{Units: []Unit{{}}}
	for _, n := range names {
		f := policy.Parse(n, []byte(files[n]))
		require.Empty(t, f.Problems, n)
		s.Sources = append(s.Sources, n)
		for _, d := range f.Documents {
			s.Units[0].Attachments = append(s.Units[0].Attachments, authz.Attachment{Name: n, Document: d, Scope: sc})
		}
	}
	return s
}

func policyText(stmts ...string) string {
	return `{"Version": "1.1", "Statement": [` + strings.Join(stmts, ",\n") + `]}`
}

const (
	listGet     = `{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]}`
	corpOnly    = `{"Effect": "Allow", "Action": ["ims:images:list"], "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}`
	denyOutside = `{"Effect": "Deny", "Action": ["ims:*:*"], "Condition": {"NotIpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}`
)

// TestIssueWidenings runs every widening of issue 10 (and the changes that must pass).
func TestIssueWidenings(t *testing.T) {
	cond := func(effect, op, key string, vals ...string) string {
		return `{"Effect": "` + effect + `", "Action": ["ims:images:list"], "Condition": {"` + op + `": {"` + key + `": ["` + strings.Join(vals, `", "`) + `"]}}}`
	}
	cases := []struct {
		name     string
		old, new map[string]string
		fails    bool
		kind     Kind
		contains string
	}{
		{"ip range widened", map[string]string{"a.json": policyText(corpOnly)},
			map[string]string{"a.json": policyText(cond("Allow", "IpAddress", "g:SourceIp", "0.0.0.0/0"))}, true, KindWiden,
			"widened by every IPv4 address outside 10.0.0.0/8"},
		{"second ip range", map[string]string{"a.json": policyText(corpOnly)},
			map[string]string{"a.json": policyText(cond("Allow", "IpAddress", "g:SourceIp", "10.0.0.0/8", "192.168.0.0/16"))}, true, KindWiden, "widened by 192.168.0.0/16"},
		{"date moved later", map[string]string{"a.json": policyText(cond("Allow", "DateLessThan", "g:CurrentTime", "2026-01-01T00:00:00Z"))},
			map[string]string{"a.json": policyText(cond("Allow", "DateLessThan", "g:CurrentTime", "2030-01-01T00:00:00Z"))}, true, KindWiden, "widened by at or after 2026-01-01T00:00:00Z and before 2030-01-01T00:00:00Z"},
		{"user added", map[string]string{"a.json": policyText(cond("Allow", "StringEquals", "g:UserName", "alice"))},
			map[string]string{"a.json": policyText(cond("Allow", "StringEquals", "g:UserName", "alice", "bob"))}, true, KindWiden, "widened by bob"},
		{"IfExists", map[string]string{"a.json": policyText(cond("Allow", "StringEquals", "g:UserName", "alice"))},
			map[string]string{"a.json": policyText(cond("Allow", "StringEqualsIfExists", "g:UserName", "alice"))}, true, KindWiden, "widened by the key absent"},
		{"key swapped", map[string]string{"a.json": policyText(cond("Allow", "StringEquals", "g:UserName", "alice"))},
			map[string]string{"a.json": policyText(cond("Allow", "StringEquals", "g:UserId", "alice"))}, true, KindWiden, "condition removed"},
		{"ip negated", map[string]string{"a.json": policyText(corpOnly)},
			map[string]string{"a.json": policyText(cond("Allow", "NotIpAddress", "g:SourceIp", "10.0.0.0/8"))}, true, KindWiden, "matches requests it did not, e.g. g:SourceIp=11.0.0.0"},
		{"deny loosened to nobody", map[string]string{"a.json": policyText(listGet, denyOutside)},
			map[string]string{"a.json": policyText(listGet, strings.Replace(denyOutside, "10.0.0.0/8", "0.0.0.0/0", 1))}, true, KindWiden, "ExplicitDeny → Allow"},
		{"ecs added", map[string]string{"a.json": policyText(listGet)},
			map[string]string{"a.json": policyText(`{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ecs:*:*"]}`)}, true, KindWiden, "every ecs action"},
		{"iam added", map[string]string{"a.json": policyText(listGet)},
			map[string]string{"a.json": policyText(listGet, `{"Effect": "Allow", "Action": ["iam:users:*"]}`)}, true, KindWiden, "iam:users:*"},
		{"obs added in a new file", map[string]string{"a.json": policyText(listGet)},
			map[string]string{"a.json": policyText(listGet), "b.json": policyText(`{"Effect": "Allow", "Action": ["obs:*:*"]}`)}, true, KindWiden, "every obs action"},
		{"first policies", nil, map[string]string{"a.json": policyText(listGet)}, true, KindWiden, "added"},
		{"last policies removed", map[string]string{"a.json": policyText(listGet)}, nil, false, KindNarrow, "removed"},
		{"deny removed", map[string]string{"a.json": policyText(listGet, `{"Effect": "Deny", "Action": ["ims:images:get"]}`)},
			map[string]string{"a.json": policyText(listGet)}, true, KindWiden, "removed Deny a.json statement 1"},
		{"range narrowed", map[string]string{"a.json": policyText(cond("Allow", "IpAddress", "g:SourceIp", "0.0.0.0/0"))},
			map[string]string{"a.json": policyText(corpOnly)}, false, KindNarrow, "matches fewer requests; the Allow grants less"},
		{"redundant statement removed", map[string]string{"a.json": policyText(listGet, corpOnly)},
			map[string]string{"a.json": policyText(listGet)}, false, KindNeutral, "= neutral"},
		{"split, renamed and reordered", map[string]string{"a.json": policyText(listGet, denyOutside, corpOnly)},
			map[string]string{"z.json": policyText(denyOutside), "y.json": policyText(corpOnly, `{"Effect": "Allow", "Action": ["ims:images:get", "ims:images:list"]}`)}, false, "", ""},
		{"statements merged", map[string]string{"a.json": policyText(corpOnly, cond("Allow", "IpAddress", "g:SourceIp", "192.168.0.0/16"))},
			map[string]string{"b.json": policyText(cond("Allow", "IpAddress", "g:SourceIp", "192.168.0.0/16", "10.0.0.0/8"))}, false, KindNeutral,
			"2 without effect on access"},
		{"unprovable change fails", map[string]string{"a.json": policyText(cond("Allow", "StringMatch", "g:UserName", "?*"))},
			map[string]string{"a.json": policyText(cond("Allow", "StringMatch", "g:UserName", "*?"))}, true, KindUnproven, "not provably narrower"},
	}
	cat := testCatalog(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compare(context.Background(), cat, sideOf(t, tc.old), sideOf(t, tc.new), Options{})
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, r.WriteText(&buf))
			assert.Equal(t, tc.fails, r.Summary.FailsGate, buf.String())
			if tc.kind == "" {
				assert.Empty(t, r.Changes, buf.String())
				assert.Contains(t, buf.String(), "No change in what the policies grant.")
				return
			}
			require.NotEmpty(t, r.Changes, buf.String())
			assert.Equal(t, tc.kind, r.Changes[0].Kind, buf.String())
			assert.Contains(t, buf.String(), tc.contains)
			assert.NotContains(t, buf.String(), "No change")
		})
	}
}

// TestIdentityMoves: a user moved to a principal with wider policies widens access even
// though no policy changed.
func TestIdentityMoves(t *testing.T) {
	unit := func(name string, ids []string, text string) Unit {
		s := sideOf(t, map[string]string{name + ".json": text})
		return Unit{Name: name, Identities: ids, Attachments: s.Units[0].Attachments}
	}
	readers := policyText(listGet)
	admins := policyText(`{"Effect": "Allow", "Action": ["ims:*:*"]}`)
	old := Side{Units: []Unit{unit("readers", []string{"user alice"}, readers), unit("admins", []string{"user bob"}, admins)}}
	cur := Side{Units: []Unit{unit("readers", nil, readers), unit("admins", []string{"user bob", "user alice"}, admins)}}
	r, err := Compare(context.Background(), testCatalog(t), old, cur, Options{Runtime: runtime(t)})
	require.NoError(t, err)
	require.True(t, r.Summary.FailsGate)
	require.NotEmpty(t, r.Changes)
	assert.Equal(t, "admins (user alice, was readers)", r.Changes[0].Principal)
	assert.Equal(t, KindWiden, r.Changes[0].Kind)

	same, err := Compare(context.Background(), testCatalog(t), old, old, Options{Runtime: runtime(t)})
	require.NoError(t, err)
	assert.Empty(t, same.Changes)
	assert.False(t, same.Summary.FailsGate)
}

func TestParseScope(t *testing.T) {
	cases := []struct {
		in   string
		want authz.Scope
		err  bool
	}{
		{"all_projects", authz.Scope{Kind: authz.ScopeAllProjects}, false},
		{"global", authz.Scope{Kind: authz.ScopeGlobal}, false},
		{"project=ae-ad-1, ae-ad-1_dev", authz.Scope{Kind: authz.ScopeProject, Projects: []string{"ae-ad-1", "ae-ad-1_dev"}}, false},
		{"enterprise_project=ep-1", authz.Scope{Kind: authz.ScopeEnterpriseProject, EnterpriseProjects: []string{"ep-1"}}, false},
		{"project=", authz.Scope{}, true},
		{"global=x", authz.Scope{}, true},
		{"projects=x", authz.Scope{}, true},
	}
	for _, tc := range cases {
		got, err := ParseScope(tc.in)
		if tc.err {
			assert.ErrorIs(t, err, ErrBadScope, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
	}
}

// TestLenientSkipped: with Lenient, a document the engine leaves out is never passed as
// neutral.
func TestLenientSkipped(t *testing.T) {
	old := sideOf(t, map[string]string{"a.json": policyText(listGet)})
	cur := sideOf(t, map[string]string{"a.json": policyText(listGet),
		"b.json": `{"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["*"]}]}`})
	_, err := Compare(context.Background(), testCatalog(t), old, cur, Options{Runtime: runtime(t)})
	require.ErrorIs(t, err, authz.ErrInvalidPolicy)
	r, err := Compare(context.Background(), testCatalog(t), old, cur, Options{Runtime: runtime(t), Lenient: true})
	require.NoError(t, err)
	require.Len(t, r.Changes, 1)
	assert.Equal(t, KindUnproven, r.Changes[0].Kind)
	assert.Equal(t, "not evaluated", r.Changes[0].What)
	assert.True(t, r.Summary.FailsGate)
}
