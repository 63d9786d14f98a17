package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/decisionlog"
	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

const fleetBundlePath = "/bundles/imsguard.tar.gz"

// fleetConfig is baseConfig without principals, with opa_config.
var fleetConfig = "opa_config = \"opa.yaml\"\n" + baseConfig[:strings.Index(baseConfig, "[[principals]]")]

// principalsOf returns the [[principals]] part of baseConfig.
var basePrincipals = baseConfig[strings.Index(baseConfig, "[[principals]]"):]

// fleetEnv is a proxy with opa_config and the control plane it talks to.
type fleetEnv struct {
	*env
	cp  *fleettest.Server
	src string // folder of the configurations bundles are built from
}

func opaYAML(cp *fleettest.Server, persist string) string {
	return `services:
  cp:
    url: ` + cp.URL + `
bundles:
  imsguard:
    service: cp
    resource: ` + fleetBundlePath + `
    persist: true
    polling: {min_delay_seconds: 1, max_delay_seconds: 1}
decision_logs:
  service: cp
  reporting: {min_delay_seconds: 1, max_delay_seconds: 1}
status:
  service: cp
persistence_directory: ` + persist + `
`
}

func newFleetEnv(t *testing.T, top string, opts ...envOption) *fleetEnv {
	t.Helper()
	cp := fleettest.New()
	t.Cleanup(cp.Close)
	fe := &fleetEnv{cp: cp, src: t.TempDir()}
	fe.env = newEnv(t, top+fleetConfig, map[string]string{"opa.yaml": opaYAML(cp, t.TempDir())}, opts...)
	return fe
}

// bundle builds a bundle from principals (TOML [[principals]] tables) and policy files, as
// imsguard bundle build does.
func (fe *fleetEnv) bundle(t *testing.T, revision, principals string, files map[string]string) []byte {
	t.Helper()
	dir := filepath.Join(fe.src, revision)
	all := map[string]string{"imsguard.toml": "upstream = \"https://ims.example.com\"\n" + principals}
	for k, v := range files {
		all[k] = v
	}
	writeTree(t, dir, all)
	data, err := BundleData(filepath.Join(dir, "imsguard.toml"), nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, fleet.Write(&buf, data, revision, nil))
	return buf.Bytes()
}

func (fe *fleetEnv) serving(t *testing.T, revision string) {
	t.Helper()
	require.Eventually(t, func() bool { return fe.srv.Snapshot().Revision == revision }, 20*time.Second, 10*time.Millisecond,
		"revision %s never activated; oplog:\n%s", revision, fe.oplog.String())
}

var standardPolicies = map[string]string{"policies/readonly.json": readOnlyPolicy, "policies/admin.json": adminPolicy}

func TestFleetPendingRefusesEverything(t *testing.T) {
	for _, mode := range []string{"enforce", "audit"} {
		t.Run(mode, func(t *testing.T) {
			// audit mode forwards denials, but not while there are no policies at all
			fe := newFleetEnv(t, "mode = \""+mode+"\"\n")
			assert.Contains(t, fe.oplog.String(), `bundle \"imsguard\" is not signed`, "the check's warnings are logged at start")
			assert.False(t, fe.srv.isReady())
			resp, data := fe.do(t, "GET", "/v2/images", nil, nil)
			assert.Equal(t, 503, resp.StatusCode)
			var body errorBody
			require.NoError(t, json.Unmarshal(data, &body))
			assert.Equal(t, "IMSGUARD.0503", body.ErrorCode)
			assert.Contains(t, body.ErrorMsg, "waits for its first policy bundle")
			assert.Equal(t, resp.Header.Get(HeaderDecisionID), body.DecisionID)
			assert.Empty(t, fe.ims.Requests(), "nothing reaches IMS")
			line := fe.lastDecision(t)
			assert.Equal(t, reasonNoBundle, line["reason"])
			assert.NotContains(t, line, "bundles")
		})
	}
}

func TestFleetActivation(t *testing.T) {
	fe := newFleetEnv(t, "")
	fe.cp.SetBundle(fleetBundlePath, fe.bundle(t, "r1", basePrincipals, standardPolicies))
	fe.serving(t, "r1")
	assert.True(t, fe.srv.isReady())
	s := fe.srv.Snapshot()
	assert.Len(t, s.Config.Principals, 3)
	assert.NotEqual(t, s.fileDigest, s.Digest, "the digest covers the bundle")

	resp, _ := fe.do(t, "GET", "/v2/images", nil, nil)
	assert.Equal(t, 200, resp.StatusCode, "the default principal from the bundle may list")
	line := fe.lastDecision(t)
	assert.Equal(t, map[string]any{"imsguard": map[string]any{"revision": "r1"}}, line["bundles"])
	assert.Equal(t, "workload", line["principal"])
	resp, _ = fe.do(t, "DELETE", "/v2/images/x", nil, signed(t, fe.env, "DELETE", "/v2/images/x", nil, adminAK, adminSK, nil))
	assert.Equal(t, 204, resp.StatusCode, "admin (from the bundle, secret from the sidecar's environment) may delete")
	resp, _ = fe.do(t, "DELETE", "/v2/images/x", nil, nil)
	assert.Equal(t, 403, resp.StatusCode)

	// The decision events reach the collector with the revision; the local line and the
	// event use the same names.
	require.Eventually(t, func() bool { return len(fe.cp.Events()) >= 3 }, 20*time.Second, 20*time.Millisecond)
	var ev map[string]any
	for _, e := range fe.cp.Events() {
		if e["decision_id"] == line["decision_id"] {
			ev = e
		}
	}
	require.NotNil(t, ev, "the event of %v", line["decision_id"])
	assert.Equal(t, decisionPath, ev["path"])
	assert.Equal(t, map[string]any{"imsguard": map[string]any{"revision": "r1"}}, ev["bundles"])
	input, result := ev["input"].(map[string]any), ev["result"].(map[string]any)
	for k, v := range input {
		assert.Equal(t, line[k], v, "input.%s is the line's %s", k, k)
	}
	for k, v := range result {
		assert.Equal(t, line[k], v, "result.%s is the line's %s", k, k)
	}
	assert.Equal(t, "GET", input["method"])
	assert.Equal(t, "Allow", result["decision"])
	assert.Contains(t, ev["metrics"], "timer_imsguard_decision_ns")

	// What a collector stores reads back as the local log does (generate, replay, unused).
	dir := t.TempDir()
	var events bytes.Buffer
	for _, e := range fe.cp.Events() {
		b, err := json.Marshal(e)
		require.NoError(t, err)
		events.Write(append(b, '\n'))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "events.jsonl"), events.Bytes(), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "local.jsonl"), []byte(fe.log.String()), 0o600))
	shipped, _, err := decisionlog.ReadAll([]string{filepath.Join(dir, "events.jsonl")}, nil, decisionlog.Filter{})
	require.NoError(t, err)
	local, _, err := decisionlog.ReadAll([]string{filepath.Join(dir, "local.jsonl")}, nil, decisionlog.Filter{})
	require.NoError(t, err)
	byID := map[string]decisionlog.Entry{}
	for _, e := range local {
		e.File, e.Line, e.Generation = "", 0, 0
		byID[e.DecisionID] = e
	}
	require.NotEmpty(t, shipped)
	for _, e := range shipped {
		e.File, e.Line = "", 0
		want := byID[e.DecisionID]
		assert.True(t, want.Time.Sub(e.Time).Abs() < time.Millisecond, "timestamp")
		e.Time = want.Time
		assert.Equal(t, want, e, "the event of %s reads as its local line", e.DecisionID)
	}

	// A revision with a lint error (a duplicate key: only the raw text shows it) is
	// refused; r1 keeps serving; OPA's status says why, with the position.
	dup := `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]}],` + "\n" + `"Statement":[]}`
	fe.cp.SetBundle(fleetBundlePath, fe.bundle(t, "r2", basePrincipals, map[string]string{"policies/readonly.json": dup, "policies/admin.json": adminPolicy}))
	require.Eventually(t, func() bool {
		b := fleettest.BundleStatus(fe.cp.LastStatus(), fleet.Name)
		return b != nil && strings.Contains(fmt.Sprint(b["message"]), `refused bundle revision "r2"`)
	}, 20*time.Second, 20*time.Millisecond, "status: %v", fe.cp.LastStatus())
	b := fleettest.BundleStatus(fe.cp.LastStatus(), fleet.Name)
	assert.Contains(t, b["message"], "policies/readonly.json:2:1", "the duplicate key's position")
	assert.Equal(t, "r1", b["active_revision"])
	assert.Equal(t, "r1", fe.srv.Snapshot().Revision)
	assert.GreaterOrEqual(t, counter(t, fe.srv.fleetMetrics.activations.WithLabelValues("refused")), 1.0)
	plugins := fe.cp.LastStatus()["plugins"].(map[string]any)
	assert.Contains(t, plugins["imsguard"].(map[string]any)["message"], `serving revision "r1"`)
	resp, _ = fe.do(t, "DELETE", "/v2/images/x", nil, nil)
	assert.Equal(t, 403, resp.StatusCode, "r1 decides")

	// A good revision replaces r1.
	fe.cp.SetBundle(fleetBundlePath, fe.bundle(t, "r3", basePrincipals, map[string]string{"policies/readonly.json": adminPolicy, "policies/admin.json": adminPolicy}))
	fe.serving(t, "r3")
	resp, _ = fe.do(t, "DELETE", "/v2/images/x", nil, nil)
	assert.Equal(t, 204, resp.StatusCode, "r3 decides")
	assert.Equal(t, "r3", fe.lastDecision(t)["bundles"].(map[string]any)["imsguard"].(map[string]any)["revision"])
	assert.EqualValues(t, 2, counter(t, fe.srv.fleetMetrics.activations.WithLabelValues("activated")))

	// A file reload keeps the bundle in use.
	require.NoError(t, fe.srv.Reload(context.Background()))
	assert.Equal(t, "r3", fe.srv.Snapshot().Revision)
	resp, _ = fe.do(t, "DELETE", "/v2/images/x", nil, nil)
	assert.Equal(t, 204, resp.StatusCode)
}

func TestDecodeBundle(t *testing.T) {
	ok := `{"format":1,"principals":[{"name":"reader","policies":["policies"]}],"policies":{"policies/a.json":"{}","policies/b.json":"{}"}}`
	bc, err := DecodeBundle(&fleet.Bundle{Revision: "r", Data: []byte(ok)})
	require.NoError(t, err)
	assert.Len(t, bc.byRef["policies"], 2, "a folder names every policy under it")
	for _, c := range []struct{ name, data, err string }{
		{"no data", "", "no data under data.imsguard"},
		{"unknown key", `{"format":1,"principals":[],"policies":{},"extra":1}`, `unknown field "extra"`},
		{"format", `{"format":2,"principals":[{"name":"a"}],"policies":{}}`, "format is 2"},
		{"no principals", `{"format":1,"principals":[],"policies":{}}`, "at least one [[principals]]"},
		{"principal key", `{"format":1,"principals":[{"name":"a","acess_keys":["X"]}],"policies":{}}`, `principals[0]: unknown field "acess_keys"`},
		{"principal value", `{"format":1,"principals":[{"name":"a b"}],"policies":{}}`, `name "a b" must be`},
		{"duplicate", `{"format":1,"principals":[{"name":"a"},{"name":"a"}],"policies":{}}`, "defined twice"},
		{"missing policy", `{"format":1,"principals":[{"name":"a","policies":["p.json"]}],"policies":{"q.json":"{}"}}`, `policy "p.json" is not in data.imsguard.policies (1 policies: q.json)`},
		{"bad key", `{"format":1,"principals":[{"name":"a"}],"policies":{"../x.json":"{}"}}`, `key "../x.json"`},
		{"bad mode", `{"format":1,"principals":[{"name":"a","mode":"maybe"}],"policies":{}}`, `mode "maybe"`},
		{"bad catalog", `{"format":1,"principals":[{"name":"a"}],"policies":{},"catalog":"[[api]]\nid = 1"}`, "catalog"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &fleet.Bundle{Revision: "r9"}
			if c.data != "" {
				b.Data = []byte(c.data)
			}
			_, err := DecodeBundle(b)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrBundle), "%v", err)
			assert.Contains(t, err.Error(), `bundle revision "r9"`)
			assert.Contains(t, err.Error(), c.err)
		})
	}
	cfg := Defaults()
	cfg.DefaultPrincipal = "workload"
	_, err = decodeBundle(&fleet.Bundle{Revision: "r", Data: []byte(ok)}, &cfg)
	assert.ErrorContains(t, err, `default_principal "workload" is not the name of a [[principals]] entry`)
}

func TestFleetConfigValidation(t *testing.T) {
	_, err := ParseConfig("imsguard.toml", []byte("upstream = \"https://x.example\"\nopa_config = \"opa.yaml\"\n[[principals]]\nname = \"a\"\n"))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 4, ce.Line)
	assert.Contains(t, err.Error(), "principals come from the OPA bundle")
	_, err = ParseConfig("imsguard.toml", []byte("upstream = \"https://x.example\"\nopa_config = \"opa.yaml\"\ndefault_principal = \"w\"\n"))
	assert.NoError(t, err, "default_principal is checked against each bundle")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "imsguard.toml"), []byte("upstream = \"https://x.example\"\nopa_config = \"opa.yaml\"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "opa.yaml"), []byte("bundles: {other: {resource: x}}\n"), 0o600))
	l := &Loader{ConfigPath: filepath.Join(dir, "imsguard.toml"), Catalog: testCatalog(t), Linters: sharedLinters(t)}
	_, err = l.Load(context.Background())
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), `no bundle named "imsguard"`)
	require.NoError(t, os.Remove(filepath.Join(dir, "opa.yaml")))
	_, err = l.Load(context.Background())
	assert.ErrorContains(t, err, "opa_config")
}

// TestFleetPreflight: an OPA configuration the plugin manager would refuse at start is
// refused by validate's Preflight.
func TestFleetPreflight(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "imsguard.toml"), []byte("upstream = \"https://x.example\"\nopa_config = \"opa.yaml\"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "opa.yaml"), []byte("services: {cp: {url: 'https://cp.example'}}\nbundles: {imsguard: {service: other, resource: b.tar.gz}}\n"), 0o600))
	l := &Loader{ConfigPath: filepath.Join(dir, "imsguard.toml"), Catalog: testCatalog(t), Linters: sharedLinters(t)}
	s, err := l.Load(context.Background())
	require.NoError(t, err)
	err = Preflight(s, PreflightOptions{SkipHost: true})
	require.ErrorIs(t, err, fleet.ErrConfig)
	assert.Contains(t, err.Error(), "opa_config")
	assert.Contains(t, err.Error(), "other")
}

func TestBundleData(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) { writeTree(t, dir, map[string]string{name: content}) }
	raw := "{\n  \"Version\": \"1.1\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"ims:images:list\"]}]\n}\n"
	write("policies/team/a.json", raw)
	write("policies/team/b.json", readOnlyPolicy)
	write("solo.json", adminPolicy)
	write("imsguard.toml", `upstream = "https://ims.example.com"
[[principals]]
name = "team"
access_keys = ["AKTEAM0000000001"]
secret_key_env = { AKTEAM0000000001 = "TEAM_SK" }
policies = ["policies/team"]
[[principals.attachments]]
policy = "solo.json"
scope = "project"
projects = ["ae-ad-1_dev"]
`)
	data, err := BundleData(filepath.Join(dir, "imsguard.toml"), []byte("# catalog"))
	require.NoError(t, err)
	var d struct {
		Format     int
		Principals []map[string]any
		Policies   map[string]string
		Catalog    string
	}
	require.NoError(t, json.Unmarshal(data, &d))
	assert.Equal(t, 1, d.Format)
	assert.Equal(t, raw, d.Policies["policies/team/a.json"], "byte for byte")
	assert.Len(t, d.Policies, 3)
	assert.Equal(t, []any{"policies/team"}, d.Principals[0]["policies"])
	assert.Equal(t, map[string]any{"AKTEAM0000000001": "TEAM_SK"}, d.Principals[0]["secret_key_env"], "the variable's name, never a secret")
	assert.Equal(t, "# catalog", d.Catalog)

	write("outside/imsguard.toml", "upstream = \"https://ims.example.com\"\n[[principals]]\nname = \"x\"\npolicies = [\"../solo.json\"]\n")
	_, err = BundleData(filepath.Join(dir, "outside/imsguard.toml"), nil)
	assert.ErrorContains(t, err, "outside the configuration's folder")
}

// TestFleetHangupTriggersDownload: with trigger: manual nothing is downloaded until
// SIGHUP (Hangup) asks for it.
func TestFleetHangupTriggersDownload(t *testing.T) {
	cp := fleettest.New()
	defer cp.Close()
	fe := &fleetEnv{cp: cp, src: t.TempDir()}
	fe.env = newEnv(t, fleetConfig, map[string]string{"opa.yaml": "services:\n  cp:\n    url: " + cp.URL +
		"\nbundles:\n  imsguard:\n    service: cp\n    resource: " + fleetBundlePath + "\n    trigger: manual\n"})
	cp.SetBundle(fleetBundlePath, fe.bundle(t, "r1", basePrincipals, standardPolicies))
	// Nothing may happen, so the test watches for it: no request reaches the bundle server
	// and the proxy stays pending for as long as a periodic trigger would take to download.
	assert.Never(t, func() bool { all, _ := cp.Requests(); return all > 0 || !fe.srv.Snapshot().pending },
		300*time.Millisecond, 10*time.Millisecond, "manual trigger: nothing is downloaded before SIGHUP")
	require.NoError(t, fe.srv.Hangup(context.Background()))
	fe.serving(t, "r1")
}
