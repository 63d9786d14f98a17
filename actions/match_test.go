package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	img  = "7f2d3c1e-5b6a-4c8d-9e0f-123456789abc"
	proj = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	job  = "ff8080814dbd65d7014dbe0d84db0013"
)

// TestMatchEveryAPI: one request per API of the reference (sections 5.1.1-6.4.2) with the
// actions the permission tables document for it. Written out by hand, independent of the
// catalog file, so a slip in either shows up.
func TestMatchEveryAPI(t *testing.T) {
	cases := []struct {
		section, method, url, body, id string
		actions                        []string
		params                         map[string]string
	}{
		{"5.1.1", "GET", "/v2/cloudimages?__imagetype=private&limit=10", "", "list_cloudimages", []string{"ims:images:list"}, nil},
		{"5.1.2", "PATCH", "/v2/cloudimages/" + img, `[{"op":"replace","path":"/name","value":"x"}]`, "update_cloudimage", []string{"ims:images:update"}, map[string]string{"image_id": img}},
		{"5.1.3", "POST", "/v2/cloudimages/action", `{"name":"a","instance_id":"b"}`, "create_cloudimage", []string{"ims:serverImages:create"}, nil},
		{"5.1.4", "POST", "/v2/cloudimages/quickimport/action", `{"name":"a","image_url":"b:c","os_version":"x","type":"ECS"}`, "quick_import_cloudimage", []string{"ims:serverImages:create"}, nil},
		{"5.1.5", "POST", "/v1/cloudimages/dataimages/action", `{}`, "create_data_image_from_file", []string{"ims:dataImages:create"}, nil},
		{"5.1.6", "POST", "/v1/cloudimages/wholeimages/action", `{}`, "create_whole_image", []string{"ims:wholeImages:create"}, nil},
		{"5.1.7", "PUT", "/v1/cloudimages/" + img + "/upload", `{"image_url":"b:c"}`, "register_image", []string{"ims:images:upload"}, map[string]string{"image_id": img}},
		{"5.1.8", "POST", "/v1/cloudimages/" + img + "/file", `{}`, "export_image", []string{"ims:images:export"}, map[string]string{"image_id": img}},
		{"5.1.9", "GET", "/v1/cloudimages/os_version?tag=bms", "", "list_os_versions", []string{"ims:images:list"}, nil},
		{"5.2.1", "DELETE", "/v1/cloudimages/members", `{"images":[],"projects":[]}`, "batch_delete_members", []string{"ims:images:share"}, nil},
		{"5.2.2", "POST", "/v1/cloudimages/members", `{}`, "batch_add_members", []string{"ims:images:share"}, nil},
		{"5.2.3", "PUT", "/v1/cloudimages/members", `{}`, "batch_update_members", []string{"ims:images:share"}, nil},
		{"5.3.1", "POST", "/v1/cloudimages/" + img + "/copy", `{"name":"copy"}`, "copy_image_in_region", []string{"ims:images:copy"}, map[string]string{"image_id": img}},
		{"5.3.2", "POST", "/v1/cloudimages/" + img + "/cross_region_copy", `{}`, "copy_image_cross_region", []string{"ims:images:copy"}, map[string]string{"image_id": img}},
		{"5.4.1", "GET", "/v1/cloudimages/quota", "", "show_image_quota", []string{"ims:quotas:get"}, nil},
		{"5.5.1", "GET", "/v1/" + proj + "/jobs/" + job, "", "show_job", []string{}, map[string]string{"project_id": proj, "job_id": job}},
		{"6.1.1", "GET", "/v2/images?visibility=shared&member_status=accepted", "", "glance_list_images", []string{"ims:images:list"}, nil},
		{"6.1.2", "GET", "/v2/images/" + img, "", "glance_show_image", []string{"ims:images:get"}, map[string]string{"image_id": img}},
		{"6.1.3", "PATCH", "/v2/images/" + img, `[]`, "glance_update_image", []string{"ims:images:update"}, map[string]string{"image_id": img}},
		{"6.1.4", "PUT", "/v2/images/" + img + "/file", "", "glance_upload_image_file", []string{"ims:images:get", "ims:images:update", "ims:images:upload"}, map[string]string{"image_id": img}},
		{"6.1.5", "DELETE", "/v2/images/" + img, "", "glance_delete_image", []string{"ims:images:delete"}, map[string]string{"image_id": img}},
		{"6.1.6", "POST", "/v2/images", `{}`, "glance_create_image_metadata", []string{"ims:images:create"}, nil},
		{"6.1.7", "DELETE", "/v1.1/images/" + img, "", "glance_v1_1_delete_image", []string{"ims:images:delete"}, map[string]string{"image_id": img}},
		{"6.1.8", "HEAD", "/v1/images/" + img, "", "glance_v1_head_image", []string{"ims:images:get"}, map[string]string{"image_id": img}},
		{"6.1.9", "GET", "/v1.1/images/detail?name=x", "", "glance_v1_1_list_images_detail", []string{"ims:images:list"}, nil},
		{"6.2.1", "GET", "/v2/schemas/image", "", "glance_show_image_schema", []string{}, nil},
		{"6.2.2", "GET", "/v2/schemas/images", "", "glance_list_images_schema", []string{}, nil},
		{"6.2.3", "GET", "/v2/schemas/member", "", "glance_show_member_schema", []string{}, nil},
		{"6.2.4", "GET", "/v2/schemas/members", "", "glance_list_members_schema", []string{}, nil},
		{"6.3.1", "POST", "/v2/images/" + img + "/members", `{"member":"` + proj + `"}`, "glance_add_member", []string{"ims:images:get", "ims:images:share"}, map[string]string{"image_id": img}},
		{"6.3.2", "PUT", "/v2/images/" + img + "/members/" + proj, `{"status":"accepted"}`, "glance_update_member", []string{"ims:images:get", "ims:images:share"}, map[string]string{"image_id": img, "member_id": proj}},
		{"6.3.3", "GET", "/v2/images/" + img + "/members/" + proj, "", "glance_show_member", []string{"ims:images:get", "ims:images:share"}, map[string]string{"image_id": img, "member_id": proj}},
		{"6.3.4", "GET", "/v2/images/" + img + "/members", "", "glance_list_members", []string{"ims:images:get", "ims:images:share"}, map[string]string{"image_id": img}},
		{"6.3.5", "DELETE", "/v2/images/" + img + "/members/" + proj, "", "glance_delete_member", []string{"ims:images:get", "ims:images:share"}, map[string]string{"image_id": img, "member_id": proj}},
		{"6.4.1", "GET", "/", "", "list_api_versions", []string{}, nil},
		{"6.4.2", "GET", "/v2", "", "show_api_version", []string{}, map[string]string{"api_version": "v2"}},
	}
	require.Len(t, cases, 36)
	c := mustCatalog(t)
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.section+" "+tc.id, func(t *testing.T) {
			r, err := c.Match(tc.method, tc.url, []byte(tc.body))
			require.NoError(t, err)
			require.True(t, r.Matched, "reason %s: %s", r.Reason, r.Detail)
			assert.Equal(t, tc.id, r.API.ID)
			assert.Equal(t, tc.section, r.API.Section)
			assert.Equal(t, tc.actions, nonNil(r.Actions))
			got := map[string]string{}
			for _, p := range r.Params {
				got[p.Name] = p.Value
			}
			if tc.params == nil {
				tc.params = map[string]string{}
			}
			assert.Equal(t, tc.params, got)
			// also as an absolute URL
			r2, err := c.Match(tc.method, "https://ims.ae-ad-1.g42cloud.com"+tc.url, []byte(tc.body))
			require.NoError(t, err)
			assert.Equal(t, tc.id, r2.API.ID)
			seen[tc.id] = true
		})
	}
	assert.Len(t, seen, 36)
}

func TestMatchConditionalActions(t *testing.T) {
	c := mustCatalog(t)
	const qi, upd, cp = "/v2/cloudimages/quickimport/action", "/v2/cloudimages/" + img, "/v1/cloudimages/" + img + "/copy"
	cases := []struct {
		name, method, url, body string
		want                    []string
		wantErr                 string
	}{
		{"quick import ECS", "POST", qi, `{"type":"ECS"}`, []string{"ims:serverImages:create"}, ""},
		{"quick import BMS", "POST", qi, `{"type":"BMS"}`, []string{"ims:serverImages:create"}, ""},
		{"quick import default is ECS", "POST", qi, `{"name":"x"}`, []string{"ims:serverImages:create"}, ""},
		{"quick import data image", "POST", qi, `{"name":"x","type":"DataImage"}`, []string{"ims:dataImages:create"}, ""},
		{"quick import escaped key", "POST", qi, `{"typ\u0065":"DataImage"}`, []string{"ims:dataImages:create"}, ""},
		{"quick import unknown type", "POST", qi, `{"type":"Magic"}`, nil, `"type" has a value that is not one of ECS, BMS, DataImage`},
		{"quick import lower-case type", "POST", qi, `{"type":"dataimage"}`, nil, "is not one of"},
		{"quick import non-string type", "POST", qi, `{"type":1}`, nil, "must be a string"},
		{"quick import null type", "POST", qi, `{"type":null}`, nil, "must be a string"},
		{"quick import duplicate type", "POST", qi, `{"type":"DataImage","type":"ECS"}`, nil, "twice"},
		{"quick import case-variant key", "POST", qi, `{"Type":"DataImage"}`, nil, "case matters"},
		{"quick import case-variant duplicate", "POST", qi, `{"type":"ECS","TYPE":"DataImage"}`, nil, "twice"},
		{"quick import array body", "POST", qi, `[]`, nil, "must be a JSON object"},
		{"quick import invalid json", "POST", qi, `{"type":"ECS"`, nil, "not valid JSON"},
		{"quick import trailing garbage", "POST", qi, `{"type":"ECS"} {}`, nil, "not valid JSON"},
		{"quick import empty body", "POST", qi, ``, nil, "empty"},
		{"update name only", "PATCH", upd, `[{"op":"replace","path":"/name","value":"n"}]`, []string{"ims:images:update"}, ""},
		{"update enterprise project", "PATCH", upd, `[{"op":"replace","path":"/enterprise_project_id","value":"e"}]`, []string{"ims:images:update", "ims:serverImages:create"}, ""},
		{"update ep among others", "PATCH", upd, `[{"op":"replace","path":"/name","value":"n"},{"op":"add","path":"/enterprise_project_id","value":"e"}]`, []string{"ims:images:update", "ims:serverImages:create"}, ""},
		{"update ep case variant path", "PATCH", upd, `[{"op":"replace","path":"/Enterprise_Project_ID","value":"e"}]`, []string{"ims:images:update", "ims:serverImages:create"}, ""},
		{"update ep via move from", "PATCH", upd, `[{"op":"move","from":"/enterprise_project_id","path":"/x"}]`, []string{"ims:images:update", "ims:serverImages:create"}, ""},
		{"update whole document", "PATCH", upd, `[{"op":"replace","path":"","value":{}}]`, []string{"ims:images:update", "ims:serverImages:create"}, ""},
		{"update below ep", "PATCH", upd, `[{"op":"replace","path":"/enterprise_project_id/x","value":"e"}]`, []string{"ims:images:update", "ims:serverImages:create"}, ""},
		{"update similar name", "PATCH", upd, `[{"op":"replace","path":"/enterprise_project_id_x","value":"e"}]`, []string{"ims:images:update"}, ""},
		{"update pointer without slash", "PATCH", upd, `[{"op":"replace","path":"enterprise_project_id","value":"e"}]`, []string{"ims:images:update", "ims:serverImages:create"}, ""},
		{"update not a patch", "PATCH", upd, `{"name":"x"}`, nil, "JSON Patch array"},
		{"update empty patch", "PATCH", upd, `[]`, nil, "empty JSON Patch"},
		{"update op without path", "PATCH", upd, `[{"op":"remove"}]`, nil, "missing \"path\""},
		{"update duplicate path keys", "PATCH", upd, `[{"op":"replace","path":"/name","path":"/enterprise_project_id"}]`, nil, "twice"},
		{"update non-string path", "PATCH", upd, `[{"op":"replace","path":1}]`, nil, "must be a string"},
		{"copy plain", "POST", cp, `{"name":"c"}`, []string{"ims:images:copy"}, ""},
		{"copy into enterprise project", "POST", cp, `{"name":"c","enterprise_project_id":"0"}`, []string{"ims:images:copy", "ims:serverImages:create"}, ""},
		{"copy ep null still counts", "POST", cp, `{"enterprise_project_id":null}`, []string{"ims:images:copy", "ims:serverImages:create"}, ""},
		{"copy ep case variant", "POST", cp, `{"Enterprise_project_id":"0"}`, nil, "case matters"},
		{"copy not json", "POST", cp, `name=c`, nil, "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Match(tc.method, tc.url, []byte(tc.body))
			require.True(t, r.Matched)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrBodyInvalid)
				var be *BodyError
				require.True(t, errors.As(err, &be))
				assert.Equal(t, r.API.ID, be.API)
				assert.Contains(t, err.Error(), tc.wantErr)
				// Body values and key names never reach an error (it is logged and sent back).
				for _, secret := range []string{"Magic", "dataimage", "TYPE"} {
					assert.NotContains(t, err.Error(), secret)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.Actions)
		})
	}
}

func TestMatchBodyLimit(t *testing.T) {
	c := mustCatalog(t).WithMaxBody(64)
	body := []byte(`{"name":"` + strings.Repeat("a", 64) + `","type":"ECS"}`)
	_, err := c.Match("POST", "/v2/cloudimages/quickimport/action", body)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBodyTooLarge)
	assert.Equal(t, DefaultMaxBody, mustCatalog(t).MaxBody())
	// APIs whose actions do not depend on the body never look at it.
	r, err := c.Match("POST", "/v2/cloudimages/action", bytes.Repeat([]byte("x"), 1000))
	require.NoError(t, err)
	assert.Equal(t, []string{"ims:serverImages:create"}, r.Actions)
}

func TestMatchDependencies(t *testing.T) {
	c := mustCatalog(t)
	r, err := c.Match("PATCH", "/v2/cloudimages/"+img, []byte(`[{"op":"replace","path":"/name","value":"n"}]`))
	require.NoError(t, err)
	assert.Empty(t, r.Dependencies, "dependencies of 5.1.2 belong to the enterprise-project migration only")
	r, err = c.Match("PATCH", "/v2/cloudimages/"+img, []byte(`[{"op":"replace","path":"/enterprise_project_id","value":"e"}]`))
	require.NoError(t, err)
	assert.Contains(t, r.Dependencies, "obs:bucket:*")
	r, err = c.Match("PUT", "/v1/cloudimages/"+img+"/upload", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"ims:images:get", "ims:images:update", "obs:bucket:*", "obs:object:*", "kms:*:*"}, r.Dependencies)
}

// TestMatchFailsClosed covers the path tricks: none of them may resolve to an API.
func TestMatchFailsClosed(t *testing.T) {
	c := mustCatalog(t)
	cases := []struct {
		name, method, url string
		reason            Reason
	}{
		{"upper-case path", "GET", "/V2/images", ReasonUnknownPath},
		{"upper-case literal", "GET", "/v2/Images", ReasonUnknownPath},
		{"double slash", "GET", "//v2/images", ReasonInvalidPath},
		{"inner double slash", "GET", "/v2//images", ReasonInvalidPath},
		{"two trailing slashes", "GET", "/v2/images//", ReasonInvalidPath},
		{"dot segment", "GET", "/v2/./images", ReasonInvalidPath},
		{"dot-dot segment", "GET", "/v2/cloudimages/../images", ReasonInvalidPath},
		{"trailing dot-dot", "GET", "/v2/images/" + img + "/..", ReasonInvalidPath},
		{"encoded dot-dot", "GET", "/v2/images/%2e%2e/images", ReasonInvalidPath},
		{"mixed encoded dot-dot", "GET", "/v2/images/.%2E", ReasonInvalidPath},
		{"encoded single dot", "GET", "/v2/%2e/images", ReasonInvalidPath},
		{"triple dot", "GET", "/v2/images/...", ReasonInvalidPath},
		{"encoded slash", "GET", "/v2/images%2f" + img, ReasonInvalidPath},
		{"encoded slash upper", "GET", "/v2/images/" + img + "%2Fmembers", ReasonInvalidPath},
		{"encoded backslash", "GET", "/v2/images/a%5cb", ReasonInvalidPath},
		{"raw backslash", "GET", "/v2/images/a\\b", ReasonInvalidPath},
		{"NUL", "GET", "/v2/images/a%00", ReasonInvalidPath},
		{"raw NUL", "GET", "/v2/images/a\x00", ReasonInvalidPath},
		{"control char", "GET", "/v2/images/a%0a", ReasonInvalidPath},
		{"raw tab", "GET", "/v2/images/a\tb", ReasonInvalidPath},
		{"DEL", "GET", "/v2/images/a%7f", ReasonInvalidPath},
		{"invalid percent", "GET", "/v2/images/a%zz", ReasonInvalidPath},
		{"truncated percent", "GET", "/v2/images/a%2", ReasonInvalidPath},
		{"lone percent", "GET", "/v2/images/%", ReasonInvalidPath},
		{"double encoding", "GET", "/v2/images/%252e%252e", ReasonInvalidPath},
		{"semicolon", "GET", "/v2/images;x=1", ReasonInvalidPath},
		{"dotdot semicolon", "GET", "/v2/images/..;/x", ReasonInvalidPath},
		{"non-ascii", "GET", "/v2/images/\xc3\xa9", ReasonInvalidPath},
		{"encoded non-ascii", "GET", "/v2/images/%c3%a9", ReasonInvalidPath},
		{"space", "GET", "/v2/images/a b", ReasonInvalidPath},
		{"no leading slash", "GET", "v2/images", ReasonInvalidURL},
		{"empty", "GET", "", ReasonInvalidURL},
		{"fragment", "GET", "/v2/images#x", ReasonInvalidURL},
		{"other scheme", "GET", "ftp://h/v2/images", ReasonInvalidURL},
		{"no host", "GET", "https:///v2/images", ReasonInvalidURL},
		{"unknown path", "GET", "/v2/widgets", ReasonUnknownPath},
		{"too deep", "GET", "/v2/images/a/members/b/c/d/e/f/g/h", ReasonUnknownPath},
		{"extra segment", "GET", "/v2/images/" + img + "/members/" + proj + "/x", ReasonUnknownPath},
		{"method not listed", "DELETE", "/v2/cloudimages", ReasonMethodNotAllowed},
		{"HEAD on GET route", "HEAD", "/v2/images", ReasonMethodNotAllowed},
		{"GET on HEAD route", "GET", "/v1/images/" + img, ReasonMethodNotAllowed},
		{"lower-case method", "get", "/v2/images", ReasonMethodNotAllowed},
		{"override-ish method", "OPTIONS", "/v2/images", ReasonMethodNotAllowed},
		{"bogus single segment", "GET", "/images", ReasonUnknownPath},
		{"long path", "GET", "/" + strings.Repeat("a", MaxPathLen+1), ReasonInvalidPath},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Match(tc.method, tc.url, nil)
			require.NoError(t, err)
			assert.False(t, r.Matched)
			assert.Nil(t, r.API)
			assert.Empty(t, r.Actions)
			assert.Equal(t, tc.reason, r.Reason, r.Detail)
			assert.NotEmpty(t, r.Detail)
		})
	}
}

func TestCanonicalForm(t *testing.T) {
	c := mustCatalog(t)
	cases := []struct{ url, path, id string }{
		{"/v2/images/", "/v2/images", "glance_list_images"},
		{"/v2/images/?limit=1", "/v2/images", "glance_list_images"},
		{"/v2/%69mages", "/v2/images", "glance_list_images"},
		{"/v2/images/abc%2Ddef", "/v2/images/abc-def", "glance_show_image"},
		{"/v2/images/a~b", "/v2/images/a~b", "glance_show_image"},
		{"/v2/", "/v2", "show_api_version"},
		{"https://h:443", "/", "list_api_versions"},
		{"https://h?x=1", "/", "list_api_versions"},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			r := c.Route("GET", tc.url)
			require.True(t, r.Matched, r.Detail)
			assert.Equal(t, tc.path, r.Path)
			assert.Equal(t, tc.id, r.API.ID)
		})
	}
	r := c.Route("GET", "/v2/images/abc%2ddef")
	assert.Equal(t, "abc-def", r.Params.Get("image_id"), "params are decoded")
	// the canonical form is a fixed point
	p, err := CanonicalPath("/v2/%69mages/")
	require.NoError(t, err)
	p2, err := CanonicalPath(p)
	require.NoError(t, err)
	assert.Equal(t, p, p2)
}

func TestParamsJSON(t *testing.T) {
	c := mustCatalog(t)
	r := c.Route("GET", "/v2/images/"+img+"/members/"+proj)
	b, err := json.Marshal(r.Params)
	require.NoError(t, err)
	assert.JSONEq(t, `{"image_id":"`+img+`","member_id":"`+proj+`"}`, string(b))
	b, err = json.Marshal(Params(nil))
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(b))
}

func TestMatchConcurrent(t *testing.T) {
	c := mustCatalog(t)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 500; i++ {
				r, err := c.Match("POST", "/v2/cloudimages/quickimport/action", []byte(`{"type":"DataImage"}`))
				if err != nil || r.Actions[0] != "ims:dataImages:create" {
					t.Errorf("concurrent match: %v %v", r.Actions, err)
					return
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}
