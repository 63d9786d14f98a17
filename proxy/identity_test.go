package proxy

import (
	"testing"

	"github.com/stretchr/testify/assert"

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
