package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
	"github.com/imsguard/imsguard/rego/decisionlog"
)

// withModes puts top-level keys after project and principal keys after the principal's name.
func withModes(top string, principal map[string]string) string {
	cfg := strings.Replace(baseConfig, `project = "ae-ad-1"`, "project = \"ae-ad-1\"\n"+top, 1)
	for name, keys := range principal {
		cfg = strings.Replace(cfg, `name = "`+name+`"`, `name = "`+name+`"`+"\n"+keys, 1)
	}
	return cfg
}

func TestStagedRollout(t *testing.T) {
	del := "/v2/images/" + stub.SampleImageID
	type call struct {
		who            string // "" default principal (workload), reader: AK/SK
		method, path   string
		status         int
		enforced, deny bool // deny: would_deny
	}
	tests := []struct {
		name  string
		cfg   string
		calls []call
		// wouldDeny is the expected imsguard_would_deny_total line
		wouldDeny string
	}{
		{name: "one principal audited while the rest is enforced",
			cfg: withModes("", map[string]string{"workload": `mode = "audit"`}),
			calls: []call{
				{"", "DELETE", del, 204, false, true},
				{"", "GET", "/v2/images", 200, false, false},
				{"reader", "DELETE", del, 403, true, false},
				{"", "GET", "/v3/not-ims", 403, true, false}, // not attributed to a principal: the global mode
			},
			wouldDeny: `imsguard_would_deny_total{api="glance_delete_image",principal="workload"} 1`},
		{name: "one API audited for everyone",
			cfg: withModes(`modes = { glance_delete_image = "audit" }`, nil),
			calls: []call{
				{"reader", "DELETE", del, 204, false, true},
				{"reader", "PATCH", del, 403, true, false},
			},
			wouldDeny: `imsguard_would_deny_total{api="glance_delete_image",principal="reader"} 1`},
		{name: "global audit, one principal enforced except one API",
			cfg: withModes(`mode = "audit"`, map[string]string{"reader": "mode = \"enforce\"\nmodes = { glance_update_image = \"audit\" }"}),
			calls: []call{
				{"reader", "DELETE", del, 403, true, false},
				{"reader", "PATCH", del, 200, false, true},
				{"", "DELETE", del, 204, false, true},
			},
			wouldDeny: `imsguard_would_deny_total{api="glance_delete_image",principal="workload"} 1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg, nil)
			for _, c := range tc.calls {
				var h = hdr()
				if c.who == "reader" {
					h = signed(t, e, c.method, c.path, nil, testAK, testSK, nil)
				}
				resp, data := e.do(t, c.method, c.path, nil, h)
				assert.Equal(t, c.status, resp.StatusCode, "%s %s %s: %s", c.who, c.method, c.path, data)
				line := e.lastDecision(t)
				assert.Equal(t, c.enforced, line["enforced"], "%s %s", c.method, c.path)
				if c.deny {
					assert.Equal(t, true, line["would_deny"])
				} else {
					assert.NotContains(t, line, "would_deny")
				}
			}
			rec := httptest.NewRecorder()
			e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			assert.Contains(t, rec.Body.String(), tc.wouldDeny)
		})
	}
}

func TestRolloutConfig(t *testing.T) {
	for _, tc := range []struct {
		name, cfg, want string
	}{
		{"bad global API mode", withModes(`modes = { glance_delete_image = "off" }`, nil), `modes.glance_delete_image = "off" must be "enforce" or "audit"`},
		{"bad principal mode", withModes("", map[string]string{"reader": `mode = "dry-run"`}), `principal "reader": mode "dry-run" must be`},
		{"bad principal API mode", withModes("", map[string]string{"reader": `modes = { glance_delete_image = "x" }`}), `principal "reader": modes.glance_delete_image = "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("imsguard.toml", []byte(strings.NewReplacer("{{UPSTREAM}}", "http://127.0.0.1:1", "{{IAM}}", "http://127.0.0.1:2").Replace(tc.cfg)))
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("an API id the catalog does not know", func(t *testing.T) {
		e := &env{dir: t.TempDir(), up: httptest.NewServer(nil), iamSrv: httptest.NewServer(nil)}
		defer e.up.Close()
		defer e.iamSrv.Close()
		e.writeFiles(t, map[string]string{"policies/readonly.json": readOnlyPolicy, "policies/admin.json": adminPolicy,
			"imsguard.toml": withModes("", map[string]string{"reader": `modes = { delete_everything = "audit" }`})})
		l := &Loader{ConfigPath: filepath.Join(e.dir, "imsguard.toml"), Catalog: testCatalog(t), LookupEnv: testEnv(), Linters: sharedLinters(t)}
		_, err := l.Load(context.Background())
		require.True(t, errors.Is(err, ErrInvalidConfig), "%v", err)
		assert.Contains(t, err.Error(), `principal "reader": modes: "delete_everything" is not an IMS API id`)
	})
	t.Run("overrides are described", func(t *testing.T) {
		e := newEnv(t, withModes(`modes = { glance_delete_image = "audit" }`, map[string]string{"reader": `mode = "audit"`}), nil)
		s := e.srv.current.Load()
		assert.Equal(t, []string{`API glance_delete_image: audit`, `principal "reader": audit`}, s.ModeOverrides())
		assert.Nil(t, newEnv(t, baseConfig, nil).srv.current.Load().ModeOverrides())
	})
}

// TestDecisionLogReadBack: what the proxy logs is what the offline tools read — the
// project, the actions as resolved from the body, the upstream status, would_deny.
func TestDecisionLogReadBack(t *testing.T) {
	e := newEnv(t, withModes(`mode = "audit"`, nil), nil)
	body := []byte(`{"name":"d","type":"DataImage","image_url":"bucket:file.qcow2"}`)
	h := signed(t, e, "POST", "/v2/cloudimages/quickimport/action", body, testAK, testSK, hdr("Content-Type", "application/json"))
	resp, _ := e.do(t, "POST", "/v2/cloudimages/quickimport/action", bytes.NewReader(body), h)
	require.Equal(t, 200, resp.StatusCode)
	e.stop(t)
	entries, _, err := decisionlog.ReadAll([]string{"-"}, io.NopCloser(strings.NewReader(e.log.String())), decisionlog.Filter{})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	got := entries[0]
	assert.Equal(t, "reader", got.Principal)
	assert.Equal(t, "ae-ad-1", got.Project)
	assert.Equal(t, "quick_import_cloudimage", got.API)
	assert.Equal(t, []string{"ims:dataImages:create"}, got.Actions)
	assert.Equal(t, "ImplicitDeny", got.Decision)
	assert.True(t, got.WouldDeny)
	assert.True(t, got.Accepted())
	assert.Equal(t, "127.0.0.1", got.SourceIP)
}
