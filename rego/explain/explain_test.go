package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/imsguard/imsguard/actions"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/authz"
)

// catalog returns the embedded IMS catalog.
func catalog(t testing.TB) *actions.Catalog {
	t.Helper()
	c, err := actions.Embedded()
	require.NoError(t, err)
	return c
}

func explainText(t *testing.T, opts Options, texts ...string) *Explanation {
	t.Helper()
	var files []*policy.File
	for i, text := range texts {
		files = append(files, policy.Parse(string(rune('a'+i))+".json", []byte(text)))
	}
	atts, err := Attach(files, opts.EnterpriseProject)
	require.NoError(t, err)
	x, err := Run(context.Background(), catalog(t), atts, opts)
	require.NoError(t, err)
	return x
}

func TestExplainStatuses(t *testing.T) {
	x := explainText(t, Options{},
		`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:get*", "ims:*:list*", "ims:images:share", "ims:serverImages:create"]}]}`,
		`{"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:share"], "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}},
		  {"Effect": "Deny", "Action": ["ims:images:delete"]}]}`)
	require.Len(t, x.APIs, 36)
	cases := []struct {
		id     string
		status Status
		reason string
	}{
		{"list_cloudimages", StatusAllowed, "ims:images:list allowed by a.json statement 0 (Allow)"},
		{"glance_delete_image", StatusDenied, "ims:images:delete denied by b.json statement 1 (Deny)"},
		{"glance_create_image_metadata", StatusDenied, "no statement allows ims:images:create"},
		{"batch_add_members", StatusConditional, "ims:images:share depends on the conditions of b.json statement 0 (Deny) (g:sourceip)"},
		{"glance_upload_image_file", StatusDenied, "no statement allows ims:images:update; no statement allows ims:images:upload"},
		{"list_api_versions", StatusAllowed, "no IAM action is required"},
		{"quick_import_cloudimage", StatusConditional, "depends on the request body"},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			a, ok := x.API(tc.id)
			require.True(t, ok)
			assert.Equal(t, tc.status, a.Status)
			assert.Contains(t, a.Reason, tc.reason)
		})
	}
	qi, _ := x.API("quick_import_cloudimage")
	require.Len(t, qi.Variants, 2, "5.1.4: system disk (ECS/BMS) and data disk")
	assert.Equal(t, StatusAllowed, qi.Variants[0].Status)
	assert.Equal(t, StatusDenied, qi.Variants[1].Status)
	upd, _ := x.API("update_cloudimage")
	require.Len(t, upd.Variants, 2, "5.1.2: plain update and enterprise-project migration")
	assert.Equal(t, []string{"ims:images:update"}, []string{upd.Variants[0].Actions[0].Action})
	assert.Equal(t, 36, x.Summary[StatusAllowed]+x.Summary[StatusConditional]+x.Summary[StatusDenied])

	var buf bytes.Buffer
	require.NoError(t, x.WriteText(&buf))
	assert.Contains(t, buf.String(), "5.1.4    POST    /v2/cloudimages/quickimport/action")
	assert.Contains(t, buf.String(), "36 APIs:")
	buf.Reset()
	require.NoError(t, x.WriteJSON(&buf))
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	assert.Len(t, m["apis"], 36)
	assert.Len(t, m["actions"], 13)
}

func TestExplainEnterpriseProject(t *testing.T) {
	x := explainText(t, Options{EnterpriseProject: "ep-1"}, `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}`)
	list, _ := x.API("list_cloudimages")
	assert.Equal(t, StatusConditional, list.Status, "5.1.1 supports enterprise projects, but not for shared-image queries")
	require.Len(t, list.Variants, 2)
	assert.Equal(t, StatusAllowed, list.Variants[0].Status)
	assert.Equal(t, "any other request", list.Variants[0].When)
	assert.Equal(t, StatusDenied, list.Variants[1].Status)
	assert.Contains(t, list.Variants[1].When, "shared-image queries")

	plain := explainText(t, Options{}, `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list"]}]}`)
	list, _ = plain.API("list_cloudimages")
	assert.Equal(t, StatusAllowed, list.Status, "on IAM projects the exception changes nothing")
	assert.Len(t, list.Variants, 1)
	glance, _ := x.API("glance_list_images")
	assert.Equal(t, StatusDenied, glance.Status, "6.1.1 does not")
	assert.Contains(t, glance.Reason, "enterprise project")
}

func TestExplainErrors(t *testing.T) {
	_, err := Attach([]*policy.File{policy.Parse("bad.json", []byte(`{`))}, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.json")
	_, err = Attach(nil, "")
	assert.ErrorIs(t, err, ErrNothingToExplain)
	f := policy.Parse("v.json", []byte(`{"Version": "1.1", "Statement": [{"Effect": "Permit", "Action": ["ims:images:list"]}]}`))
	atts, err := Attach([]*policy.File{f}, "")
	require.NoError(t, err)
	_, err = Run(context.Background(), catalog(t), atts, Options{})
	assert.ErrorIs(t, err, authz.ErrInvalidPolicy)
	assert.Contains(t, err.Error(), "--lenient")
	_, err = Run(context.Background(), catalog(t), atts, Options{Lenient: true})
	assert.NoError(t, err)
}
