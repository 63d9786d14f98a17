package proxy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

func TestConfigPolicies(t *testing.T) {
	cfg, ps, err := ConfigPolicies(filepath.Join("..", "testdata", "proxy", "central.toml"))
	require.NoError(t, err, "no secret is read: IMSGUARD_SK_CI_PIPELINE is not set")
	assert.Equal(t, "ae-ad-1", cfg.Project)
	require.Len(t, ps, 2)
	assert.Equal(t, "ci-image-pipeline", ps[0].Name)
	require.Len(t, ps[0].Identities, 1)
	assert.Regexp(t, `^access key CIPI\*\*\*\* #[0-9a-f]{8}$`, ps[0].Identities[0])
	assert.NotContains(t, ps[0].Identities[0], "CIPIPELINEAK0001")
	platform := ps[1]
	assert.Equal(t, []string{"user acme/alice", "user acme/bob"}, platform.Identities)
	require.Len(t, platform.Attachments, 2)
	assert.Equal(t, "policies/ims-readonly.json", platform.Attachments[0].Name)
	assert.Equal(t, authz.Scope{Kind: authz.ScopeAllProjects}, platform.Attachments[0].Scope)
	assert.Equal(t, authz.Scope{Kind: authz.ScopeProject, Projects: []string{"ae-ad-1_dev"}}, platform.Attachments[1].Scope)

	_, _, err = ConfigPolicies(filepath.Join("..", "testdata", "proxy", "missing.toml"))
	require.Error(t, err)
	bad := filepath.Join(t.TempDir(), "imsguard.toml")
	require.NoError(t, os.WriteFile(bad, []byte("upstream = \"https://ims.example\"\nunknown = 1\n"), 0o600))
	_, _, err = ConfigPolicies(bad)
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestHasConditions(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      bool
	}{
		{"none", readOnlyPolicy, false},
		{"condition", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"]},{"Effect":"Allow","Action":["ims:images:get"],"Condition":{"DateLessThan":{"g:CurrentTime":["2099-01-01T00:00:00Z"]}}}]}`, true},
		{"malformed condition", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"],"Condition":"x"}]}`, true},
		{"empty condition", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"],"condition":{}}]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := policy.Parse("p.json", []byte(tc.doc))
			require.Len(t, f.Documents, 1)
			atts := []authz.Attachment{{Name: "p.json", Document: f.Documents[0], Scope: authz.Scope{Kind: authz.ScopeAllProjects}}}
			assert.Equal(t, tc.want, hasConditions(atts))
		})
	}
}
