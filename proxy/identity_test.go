package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
	"github.com/imsguard/imsguard/rego/authz"
)

// TestGlobalsPresence pins which global condition keys a request has, as conditions see
// them (an IfExists or Null condition tells a key that is present but empty from an absent
// one): g:CurrentTime and g:ProjectName always — the project may be "", e.g. for a
// domain-scoped token —, g:SourceIp when the source is known, the user keys with a token,
// g:DomainName only when the token names a domain.
func TestGlobalsPresence(t *testing.T) {
	const now = "2026-11-30T18:00:00Z"
	ctx := func(id *identity, source string) map[string][]string {
		var g authz.Globals
		g.Value[authz.GlobalUserName] = "left over" // globals starts from nothing
		g.Has[authz.GlobalUserName] = true
		id.globals(&g, now, source)
		return authz.Input{Globals: &g}.ContextMap()
	}
	assert.Equal(t, map[string][]string{"g:CurrentTime": {now}, "g:ProjectName": {""}},
		ctx(&identity{}, ""), "no credential, no project, no source")
	assert.Equal(t, map[string][]string{"g:CurrentTime": {now}, "g:ProjectName": {"ae-ad-1"}, "g:SourceIp": {"10.1.2.3"}},
		ctx(&identity{project: "ae-ad-1"}, "10.1.2.3"))
	assert.Equal(t, map[string][]string{"g:CurrentTime": {now}, "g:ProjectName": {""}, "g:SourceIp": {"10.1.2.3"},
		"g:UserName": {"alice"}, "g:UserId": {"u-1"}},
		ctx(&identity{token: &tokenInfo{UserName: "alice", UserID: "u-1"}}, "10.1.2.3"), "a domain-less, project-less token")
	assert.Equal(t, map[string][]string{"g:CurrentTime": {now}, "g:ProjectName": {"p"},
		"g:UserName": {""}, "g:UserId": {"u-2"}, "g:DomainName": {"acme"}},
		ctx(&identity{project: "p", token: &tokenInfo{UserID: "u-2", DomainName: "acme"}}, ""), "a token without a user name: present, empty")
}

// TestEngineDeniesOnProxyKeys: the Rego engine (not a custom decider) reads the global
// keys the proxy establishes — a Deny conditioned on the caller's address, the time, the
// project or the user name applies. Were a key lost on its way to the engine, the Deny
// would not apply and the request would pass: this fails open, so it is tested end to end.
func TestEngineDeniesOnProxyKeys(t *testing.T) {
	guarded := `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:list","ims:images:get","ims:quotas:get"]},
		{"Effect":"Deny","Action":["ims:images:list"],"Condition":{"IpAddress":{"g:SourceIp":["127.0.0.0/8"]}}},
		{"Effect":"Deny","Action":["ims:images:get"],"Condition":{"DateGreaterThan":{"g:CurrentTime":["2020-01-01T00:00:00Z"]}}},
		{"Effect":"Deny","Action":["ims:quotas:get"],"Condition":{"StringEquals":{"g:ProjectName":["ae-ad-1"]}}}]}`
	byUser := `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:list"]},
		{"Effect":"Deny","Action":["ims:images:list"],"Condition":{"StringEquals":{"g:UserName":["alice"]}}}]}`
	cfg := strings.Replace(baseConfig, "name = \"workload\"\npolicies = [\"policies/readonly.json\"]", "name = \"workload\"\npolicies = [\"policies/guarded.json\"]", 1)
	cfg = strings.Replace(cfg, "users = [\"alice\"]\npolicies = [\"policies/readonly.json\"]", "users = [\"alice\"]\npolicies = [\"policies/by-user.json\"]", 1)
	require.NotEqual(t, baseConfig, cfg)
	e := newEnv(t, cfg, map[string]string{"policies/guarded.json": guarded, "policies/by-user.json": byUser})

	for _, c := range []struct{ path, key string }{
		{"/v2/images", "g:SourceIp"},
		{"/v2/images/" + stub.SampleImageID, "g:CurrentTime"},
		{"/v1/cloudimages/quota", "g:ProjectName"},
	} {
		resp, _ := e.do(t, "GET", c.path, nil, nil)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s: the Deny on %s applies", c.path, c.key)
		assert.Equal(t, "ExplicitDeny", e.lastDecision(t)["decision"], c.path)
	}
	tok := e.iam.IssueToken(stub.Identity{UserID: "u-alice", UserName: "alice", DomainID: "d1", DomainName: "acme", ProjectID: "p9", Project: "ae-ad-1_dev"}, time.Hour)
	resp, _ := e.do(t, "GET", "/v2/images", nil, hdr("X-Auth-Token", tok))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the Deny on g:UserName applies")
	assert.Equal(t, "ExplicitDeny", e.lastDecision(t)["decision"])
	assert.Empty(t, e.ims.Requests(), "nothing reached IMS")
}
