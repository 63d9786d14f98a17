package replay

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/decisionlog"
)

func TestUnused(t *testing.T) {
	broad := attach(t, "broad.json", `{"Version":"1.1","Statement":[
  {"Effect":"Allow","Action":["ims:*:*","obs:*:*","ecs:*:*","cce:*:*"]},
  {"Effect":"Allow","Action":["ims:images:share"]},
  {"Effect":"Deny","Action":["ims:images:delete"]}
]}`, allProjects)
	deleter := attach(t, "deleter.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:delete"]}]}`, allProjects)
	cceOnly := attach(t, "cce.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["cce:cluster:list"]}]}`, allProjects)
	es := []decisionlog.Entry{
		entry("a1", "builder", "list_cloudimages", "ims:images:list"),
		entry("a2", "builder", "quick_import_cloudimage", "ims:serverImages:create"),
		entry("a3", "builder", "glance_show_image", "ims:images:get"),
		entry("r1", "reader", "glance_list_images", "ims:images:list"),
	}
	r := replay(t, Candidates{Principals: map[string][]authz.Attachment{"builder": {broad, deleter, cceOnly}, "reader": {broad}}}, es...)
	u, err := r.Unused("builder")
	require.NoError(t, err)
	assert.Equal(t, 3, u.Requests)
	type got struct {
		File, Code, Severity, Pointer string
		Line                          int
	}
	var gots []got
	for _, f := range u.Findings {
		gots = append(gots, got{f.File, f.Code, f.Severity, f.Pointer, f.Line})
	}
	assert.Equal(t, []got{
		{"broad.json", CodeUnusedAction, policy.SeverityWarning, "/Statement/0/Action/0", 2},
		{"broad.json", CodeNotObserved, policy.SeverityInfo, "/Statement/0/Action/3", 2},
		{"broad.json", CodeUnusedStatement, policy.SeverityWarning, "/Statement/1", 3},
		{"broad.json", CodeUnusedStatement, policy.SeverityInfo, "/Statement/2", 4},
		{"cce.json", CodeNotObserved, policy.SeverityInfo, "", 1},
		{"deleter.json", CodeUnusedPolicy, policy.SeverityWarning, "", 1},
	}, gots)
	msg := u.Findings[0].Message
	assert.Contains(t, msg, "needed ims:images:update, ims:dataImages:create, ims:wholeImages:create, ims:images:upload")
	assert.Contains(t, msg, "ims:images:delete, ims:images:create, which \"ims:*:*\" allows (used: ims:images:list, ims:serverImages:create, ims:images:get)")
	assert.Equal(t, "replace ims:*:* by ims:images:list, ims:serverImages:create, ims:images:get", u.Findings[0].Fix)

	u, err = r.Unused("reader")
	require.NoError(t, err)
	require.NotEmpty(t, u.Findings)
	assert.Contains(t, u.Findings[0].Message, "(used: ims:images:list)")
	var codes []string
	for _, f := range u.Findings {
		codes = append(codes, f.Code+" "+f.Pointer)
	}
	assert.Contains(t, codes, CodeNotObserved+" /Statement/0/Action/1", "obs:*:* is not a dependency of anything the reader called")

	_, err = r.Unused("nobody")
	require.Error(t, err, "a principal the configuration does not name")

	r = replay(t, Candidates{Set: []authz.Attachment{deleter}})
	u, err = r.Unused("idle")
	require.NoError(t, err)
	require.Len(t, u.Findings, 1)
	assert.Equal(t, "no request of idle in the window used policy deleter.json: none of its statements applied", u.Findings[0].Message)
}
