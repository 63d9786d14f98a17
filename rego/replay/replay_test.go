package replay

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/decisionlog"
)

var (
	catOnce sync.Once
	cat     *actions.Catalog
)

func catalog(t *testing.T) *actions.Catalog {
	catOnce.Do(func() {
		var err error
		cat, err = actions.Embedded()
		if err != nil {
			panic(err)
		}
	})
	return cat
}

// attach parses policy JSON and attaches it in sc.
func attach(t *testing.T, name, doc string, sc authz.Scope) authz.Attachment {
	t.Helper()
	f := policy.Parse(name, []byte(doc))
	require.Len(t, f.Documents, 1, "%v", f.Problems)
	return authz.Attachment{Name: name, Document: f.Documents[0], Scope: sc}
}

var allProjects = authz.Scope{Kind: authz.ScopeAllProjects}

var t0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

// entry is a logged request of p to api, allowed and accepted in audit mode.
func entry(id, p, api string, acts ...string) decisionlog.Entry {
	return decisionlog.Entry{Msg: "decision", DecisionID: id, Time: t0, Principal: p, Auth: "aksk", API: api, Method: "GET", Path: "/x/" + id,
		Actions: acts, Project: "ae-ad-1", SourceIP: "10.0.1.7", Decision: "Allow", Enforced: false, Forwarded: true, Status: 200, UpstreamStatus: 200}
}

func replay(t *testing.T, cands Candidates, es ...decisionlog.Entry) *Replayer {
	t.Helper()
	r, err := New(context.Background(), catalog(t), cands, Options{})
	require.NoError(t, err)
	for i := range es {
		require.NoError(t, r.Add(context.Background(), &es[i]))
	}
	return r
}

const readOnly = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"]}]}`

func TestReplay(t *testing.T) {
	denied := entry("d1", "w", "glance_delete_image", "ims:images:delete")
	denied.Decision = "ImplicitDeny"
	refusedByIMS := entry("n1", "w", "glance_delete_image", "ims:images:delete")
	refusedByIMS.UpstreamStatus, refusedByIMS.Status = 404, 404
	noAPI := entry("x1", "w", "", "")
	noAPI.API, noAPI.Actions, noAPI.Reason, noAPI.Decision = "", nil, "no_api", "Deny"
	token := entry("t1", "w", "glance_list_images", "ims:images:list")
	token.Auth = "token"
	epList := entry("e1", "w", "list_cloudimages", "ims:images:list")
	epList.EnterpriseProjects = []string{"query=ep-dev"}
	epShow := entry("e2", "w", "glance_show_image", "ims:images:get")
	epShow.EnterpriseProjects = []string{"image=ep-dev"}
	epUnlogged := entry("e3", "w", "glance_show_image", "ims:images:get")
	epNotLooked := entry("e4", "w", "glance_show_image", "ims:images:get")
	epNotLooked.EnterpriseProjects = []string{"image=?"}
	epBodyNone := entry("e5", "w", "create_cloudimage", "ims:serverImages:create")
	epBodyNone.EnterpriseProjects = []string{"body=?"}
	epDev := authz.Scope{Kind: authz.ScopeEnterpriseProject, EnterpriseProjects: []string{"ep-dev"}}

	tests := []struct {
		name    string
		cands   Candidates
		es      []decisionlog.Entry
		summary Summary
		first   *Group
	}{
		{name: "a narrower policy denies what IMS accepted",
			cands:   Candidates{Set: []authz.Attachment{attach(t, "ro.json", readOnly, allProjects)}},
			es:      []decisionlog.Entry{entry("a1", "w", "glance_list_images", "ims:images:list"), entry("a2", "w", "glance_delete_image", "ims:images:delete"), entry("a3", "w", "glance_delete_image", "ims:images:delete"), refusedByIMS, noAPI},
			summary: Summary{Requests: 5, NotDecided: 1, Replayed: 4, Unchanged: 1, NewlyDenied: 3, Failing: 2},
			first: &Group{Change: NewlyDenied, Principal: "w", API: "glance_delete_image", Section: "6.1.5", Method: "DELETE", Route: "/v2/images/{image_id}",
				Old: "Allow", New: ImplicitDeny, Denied: []string{"ims:images:delete"}, Requests: 3, Accepted: 2, First: t0, Last: t0,
				Paths: []string{"/x/a2", "/x/a3", "/x/n1"}, DecisionIDs: []string{"a2", "a3", "n1"}, Fails: true}},
		{name: "audit mode: denied before, still denied, IMS accepted it",
			cands:   Candidates{Set: []authz.Attachment{attach(t, "ro.json", readOnly, allProjects)}},
			es:      []decisionlog.Entry{denied},
			summary: Summary{Requests: 1, Replayed: 1, StillDenied: 1, Failing: 1}},
		{name: "a wider policy allows what was denied",
			cands:   Candidates{Set: []authz.Attachment{attach(t, "all.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]}]}`, allProjects)}},
			es:      []decisionlog.Entry{denied},
			summary: Summary{Requests: 1, Replayed: 1, NewlyAllowed: 1}},
		{name: "a principal the configuration does not name",
			cands:   Candidates{Principals: map[string][]authz.Attachment{"other": {attach(t, "ro.json", readOnly, allProjects)}}},
			es:      []decisionlog.Entry{entry("a1", "w", "glance_list_images", "ims:images:list")},
			summary: Summary{Requests: 1, Replayed: 1, NewlyDenied: 1, Failing: 1}},
		{name: "a condition on the IAM user of a token request is undetermined",
			cands: Candidates{Set: []authz.Attachment{attach(t, "u.json",
				`{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"],"Condition":{"StringEquals":{"g:UserName":["alice"]}}}]}`, allProjects)}},
			es:      []decisionlog.Entry{token, entry("a1", "w", "glance_list_images", "ims:images:list")},
			summary: Summary{Requests: 2, Replayed: 2, Undetermined: 1, NewlyDenied: 1, Failing: 2}},
		{name: "a source address condition is decided from the log",
			cands: Candidates{Set: []authz.Attachment{attach(t, "ip.json",
				`{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"],"Condition":{"IpAddress":{"g:SourceIp":["10.0.1.0/24"]}}}]}`, allProjects)}},
			es:      []decisionlog.Entry{entry("a1", "w", "glance_list_images", "ims:images:list")},
			summary: Summary{Requests: 1, Replayed: 1, Unchanged: 1}},
		{name: "enterprise projects: logged facts decide, a missing fact or a possible shared-image query does not",
			cands:   Candidates{Set: []authz.Attachment{attach(t, "ep.json", readOnly, epDev)}},
			es:      []decisionlog.Entry{epShow, epUnlogged, epList, epNotLooked},
			summary: Summary{Requests: 4, Replayed: 4, Unchanged: 1, Undetermined: 3, Failing: 3}},
		{name: "enterprise projects: a create that names none is denied for certain",
			cands:   Candidates{Set: []authz.Attachment{attach(t, "ep.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:serverImages:create"]}]}`, epDev)}},
			es:      []decisionlog.Entry{epBodyNone},
			summary: Summary{Requests: 1, Replayed: 1, NewlyDenied: 1, Failing: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := replay(t, tc.cands, tc.es...).Report()
			assert.Equal(t, tc.summary, rep.Summary)
			assert.Equal(t, tc.summary.Failing > 0, rep.Fails())
			if tc.first != nil {
				require.NotEmpty(t, rep.Changes)
				assert.Equal(t, tc.first, rep.Changes[0])
			}
			var b bytes.Buffer
			require.NoError(t, rep.WriteText(&b))
			if rep.Fails() {
				assert.Contains(t, b.String(), "FAIL:")
			} else {
				assert.Contains(t, b.String(), "OK:")
			}
		})
	}
}

func TestReplayText(t *testing.T) {
	rep := replay(t, Candidates{Set: []authz.Attachment{attach(t, "ro.json", readOnly, allProjects)}},
		entry("a1", "w", "glance_list_images", "ims:images:list"), entry("a2", "w", "glance_delete_image", "ims:images:delete")).Report()
	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b))
	assert.Contains(t, b.String(), "NEWLY DENIED\n  PRINCIPAL  API")
	assert.Contains(t, b.String(), "w          6.1.5 glance_delete_image  DELETE /x/a2  Allow  ImplicitDeny  1 (1 accepted by IMS)  a2")
	assert.Contains(t, b.String(), "FAIL: 1 request IMS accepted would be denied")
}
