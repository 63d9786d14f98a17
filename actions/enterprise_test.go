package actions

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnterpriseProjectOfEveryAPI pins, for each of the 36 APIs, where its enterprise
// project is a fact. An API missing here, or a changed rule, fails the test: the rule decides
// whether an enterprise-project grant can allow a request, so it changes only on purpose.
func TestEnterpriseProjectOfEveryAPI(t *testing.T) {
	none := []EPSource(nil)
	want := map[string][]EPSource{
		"list_cloudimages":               {EPQuery},
		"update_cloudimage":              {EPImage, EPPatch},
		"create_cloudimage":              {EPBody},
		"quick_import_cloudimage":        {EPBody},
		"create_data_image_from_file":    {EPBody},
		"create_whole_image":             {EPBody},
		"register_image":                 {EPImage},
		"export_image":                   {EPImage},
		"list_os_versions":               none,
		"batch_delete_members":           none,
		"batch_add_members":              none,
		"batch_update_members":           none,
		"copy_image_in_region":           {EPImage, EPBody},
		"copy_image_cross_region":        none,
		"show_image_quota":               {},
		"show_job":                       none,
		"glance_list_images":             none,
		"glance_show_image":              {EPImage},
		"glance_update_image":            {EPImage},
		"glance_upload_image_file":       none,
		"glance_delete_image":            {EPImage},
		"glance_create_image_metadata":   none,
		"glance_v1_1_delete_image":       none,
		"glance_v1_head_image":           none,
		"glance_v1_1_list_images_detail": none,
		"glance_show_image_schema":       none,
		"glance_list_images_schema":      none,
		"glance_show_member_schema":      none,
		"glance_list_members_schema":     none,
		"glance_add_member":              none,
		"glance_update_member":           none,
		"glance_show_member":             none,
		"glance_list_members":            none,
		"glance_delete_member":           none,
		"list_api_versions":              none,
		"show_api_version":               none,
	}
	c := mustCatalog(t)
	require.Len(t, c.APIs(), 36)
	require.Len(t, want, 36)
	for _, a := range c.APIs() {
		t.Run(a.ID, func(t *testing.T) {
			w, ok := want[a.ID]
			require.True(t, ok, "API %s is not pinned", a.ID)
			assert.Equal(t, w != nil, a.EnterpriseProject, "enterprise_project flag")
			if w == nil {
				assert.Empty(t, a.EnterpriseProjectOf)
				return
			}
			assert.Equal(t, w, a.EnterpriseProjectOf)
			if len(w) == 0 {
				assert.NotEmpty(t, a.Choice, "an enterprise-project API that never establishes one says why")
			}
		})
	}
}

func TestEnterpriseProjectFacts(t *testing.T) {
	c := mustCatalog(t)
	const img = "7f2d0b6e-3c2a-4b8e-9a51-0c6f1d2e3a4b"
	cases := []struct {
		name, method, url, body string
		want                    []EPFact
		err                     string
	}{
		{"list filtered", "GET", "/v2/cloudimages?enterprise_project_id=ep-dev", "", []EPFact{{Source: EPQuery, ID: "ep-dev"}}, ""},
		{"list filter percent-encoded key", "GET", "/v2/cloudimages?enterprise%5Fproject%5Fid=ep-dev", "", []EPFact{{Source: EPQuery, ID: "ep-dev"}}, ""},
		{"list unfiltered", "GET", "/v2/cloudimages?limit=3", "", []EPFact{{Source: EPQuery, Why: "the list is not filtered by enterprise_project_id"}}, ""},
		{"list all granted", "GET", "/v2/cloudimages?enterprise_project_id=all_granted_eps", "", []EPFact{{Source: EPQuery, Why: "the enterprise_project_id filter names no single enterprise project"}}, ""},
		{"list filter other case is no filter", "GET", "/v2/cloudimages?Enterprise_Project_Id=ep-dev", "", []EPFact{{Source: EPQuery, Why: "the list is not filtered by enterprise_project_id"}}, ""},
		{"native delete ignores the query", "DELETE", "/v2/images/" + img + "?enterprise_project_id=ep-dev", "", []EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}}, ""},
		{"export", "POST", "/v1/cloudimages/" + img + "/file", `{}`, []EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}}, ""},
		{"create in ep", "POST", "/v2/cloudimages/action", `{"name":"x","enterprise_project_id":"ep-dev"}`, []EPFact{{Source: EPBody, ID: "ep-dev"}}, ""},
		{"create without ep", "POST", "/v2/cloudimages/action", `{"name":"x"}`, []EPFact{{Source: EPBody, Why: "the body names no enterprise_project_id (IMS then picks the default enterprise project; name it to use an enterprise-project grant)"}}, ""},
		{"create ep null", "POST", "/v2/cloudimages/action", `{"enterprise_project_id":null}`, []EPFact{{Source: EPBody, Why: "the body's enterprise_project_id is not a non-empty string"}}, ""},
		{"create ep twice", "POST", "/v2/cloudimages/action", `{"enterprise_project_id":"a","enterprise_project_id":"b"}`, nil, "twice"},
		{"create ep case variant", "POST", "/v2/cloudimages/action", `{"Enterprise_Project_Id":"a"}`, nil, "case matters"},
		{"create not json", "POST", "/v2/cloudimages/action", `enterprise_project_id=a`, nil, "not valid JSON"},
		{"copy", "POST", "/v1/cloudimages/" + img + "/copy", `{"name":"c","enterprise_project_id":"ep-b"}`,
			[]EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}, {Source: EPBody, ID: "ep-b"}}, ""},
		{"update name only", "PATCH", "/v2/cloudimages/" + img, `[{"op":"replace","path":"/name","value":"n"}]`,
			[]EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}}, ""},
		{"update moves", "PATCH", "/v2/cloudimages/" + img, `[{"op":"replace","path":"/enterprise_project_id","value":"ep-b"}]`,
			[]EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}, {Source: EPPatch, ID: "ep-b"}}, ""},
		{"update moves twice", "PATCH", "/v2/cloudimages/" + img, `[{"op":"replace","path":"/enterprise_project_id","value":"a"},{"op":"add","path":"/enterprise_project_id","value":"b"}]`,
			[]EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}, {Source: EPPatch, Why: "the patch changes the enterprise project more than once"}}, ""},
		{"update removes", "PATCH", "/v2/cloudimages/" + img, `[{"op":"remove","path":"/enterprise_project_id"}]`,
			[]EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}, {Source: EPPatch, Why: "the patch changes the enterprise project other than by one add or replace of /enterprise_project_id with a string"}}, ""},
		{"update case-variant pointer", "PATCH", "/v2/cloudimages/" + img, `[{"op":"replace","path":"/Enterprise_Project_Id","value":"a"}]`,
			[]EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}, {Source: EPPatch, Why: "the patch changes the enterprise project other than by one add or replace of /enterprise_project_id with a string"}}, ""},
		{"update whole document", "PATCH", "/v2/cloudimages/" + img, `[{"op":"replace","path":"","value":{"enterprise_project_id":"a"}}]`,
			[]EPFact{{Source: EPImage, ImageID: img, Why: "the image's enterprise project has not been looked up"}, {Source: EPPatch, Why: "the patch changes the enterprise project other than by one add or replace of /enterprise_project_id with a string"}}, ""},
		{"quota establishes nothing", "GET", "/v1/cloudimages/quota?enterprise_project_id=ep-dev", "", []EPFact{}, ""},
		{"native list is not an EP API", "GET", "/v2/images?enterprise_project_id=ep-dev", "", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Route(tc.method, tc.url)
			require.True(t, r.Matched, "%s %s: %s", tc.method, tc.url, r.Detail)
			got, err := r.EnterpriseProjectFacts([]byte(tc.body))
			if tc.err != "" {
				var be *BodyError
				require.True(t, errors.As(err, &be), "want *BodyError, got %v", err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestEPException: only 5.1.1 has requests that honour IAM-project grants alone — the
// shared-image queries of the ae-ad-1 footnote — and the catalog says which.
func TestEPException(t *testing.T) {
	c := mustCatalog(t)
	for _, a := range c.APIs() {
		if a.ID == "list_cloudimages" {
			require.NotNil(t, a.EPException)
			assert.Contains(t, a.EPException.When, "shared-image")
			continue
		}
		assert.Nil(t, a.EPException, a.ID)
	}
	list, _ := c.API("list_cloudimages")
	for q, want := range map[string]bool{
		"__imagetype=shared":                 true,
		"visibility=shared&limit=3":          true,
		"member_status=accepted":             true,
		"member_status=":                     true,
		"__imagetype=private":                false,
		"visibility=private":                 false,
		"enterprise_project_id=ep-1":         false,
		"":                                   false,
		"__imagetype=SHARED":                 true, // a case variant counts: only IAM-project grants allow it
		"__imagetype=gold&visibility=shared": true,
	} {
		parsed, err := ParseQuery(q)
		require.NoError(t, err, q)
		assert.Equal(t, want, list.EPExceptionApplies(parsed), q)
	}
}
