package proxy

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

// bundleToken is the bundle server's bearer token: no log, error, metric or digest input
// may hold it.
const bundleToken = "QZXBUNDLETOKENQZX"

// withBearerEnv is opa.yaml with the service's bearer token read from ${BUNDLE_TOKEN}.
func withBearerEnv(opa, url string) string {
	return strings.Replace(opa, "    url: "+url+"\n", "    url: "+url+"\n    credentials: {bearer: {token: \"${BUNDLE_TOKEN}\"}}\n", 1)
}

// TestFleetBearerTokenFromEnv: a bundle server behind a bearer token, the token in the
// sidecar's environment and "${BUNDLE_TOKEN}" in opa.yaml: the bundle is downloaded with
// the token and activated, decisions and status are uploaded with it, and the token is in
// no log line, metric or digest input.
func TestFleetBearerTokenFromEnv(t *testing.T) {
	cp := fleettest.New()
	t.Cleanup(cp.Close)
	cp.SetBearer(bundleToken)
	fe := &fleetEnv{cp: cp, src: t.TempDir()}
	cp.SetBundle(fleetBundlePath, fe.bundle(t, "r1", basePrincipals, standardPolicies))
	opa := withBearerEnv(opaYAML(cp, t.TempDir()), cp.URL)
	require.Contains(t, opa, "${BUNDLE_TOKEN}")
	fe.env = newEnv(t, fleetConfig, map[string]string{"opa.yaml": opa}, withSecrets(map[string]string{"BUNDLE_TOKEN": bundleToken}))
	fe.serving(t, "r1")
	resp, _ := fe.do(t, "GET", "/v2/images", nil, nil)
	assert.Equal(t, 200, resp.StatusCode)
	require.Eventually(t, func() bool { return len(cp.Events()) > 0 && cp.LastStatus() != nil }, 20*time.Second, 20*time.Millisecond,
		"decision events and status reach the server")
	all, unauth := cp.Requests()
	assert.Positive(t, all)
	assert.Zero(t, unauth, "every request carried the token")

	rec := httptest.NewRecorder()
	fe.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for what, text := range map[string]string{"operational log (debug)": fe.oplog.String(), "decision log": fe.log.String(), "metrics": rec.Body.String()} {
		assert.NotEmpty(t, text, what)
		assert.NotContains(t, text, bundleToken, what)
	}

	// The digest covers the file as written: another token, the same digest; the expanded
	// text is what the plugins get.
	s := fe.srv.Snapshot()
	l := &Loader{ConfigPath: filepath.Join(fe.dir, "imsguard.toml"), Catalog: testCatalog(t), Linters: sharedLinters(t),
		LookupEnv: func(k string) (string, bool) { return "another-token", k == "BUNDLE_TOKEN" }}
	other, err := l.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, s.fileDigest, other.fileDigest)
	assert.Contains(t, string(s.in.opa), `token: "`+bundleToken+`"`)
	assert.Contains(t, string(other.in.opa), `token: "another-token"`)
	require.NoError(t, Preflight(other, PreflightOptions{SkipHost: true}))
}

// TestFleetEnvNotExpanded: an opa.yaml reference that cannot be expanded stops the load
// at the opa_config key, naming the file, line and variable, before anything starts.
func TestFleetEnvNotExpanded(t *testing.T) {
	for _, c := range []struct {
		name, ref, env, want string
		envFault             bool
	}{
		{name: "not set", ref: "${BUNDLE_TOKEN}", want: "opa.yaml:5: ${BUNDLE_TOKEN} is not set in the environment; set it, or write the value in the file", envFault: true},
		{name: "line break", ref: "${BUNDLE_TOKEN}", env: bundleToken + "\nx: y", want: "opa.yaml:5: the value of ${BUNDLE_TOKEN} holds a line break", envFault: true},
		{name: "not a name", ref: "${BUNDLE-TOKEN}", want: "opa.yaml:5: ${BUNDLE-TOKEN} is not a variable name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cp := fleettest.New()
			defer cp.Close()
			dir := t.TempDir()
			opa := "services:\n  cp:\n    url: " + cp.URL + "\n    # the bundle server's token\n    credentials: {bearer: {token: \"" + c.ref + "\"}}\n" +
				"bundles:\n  imsguard: {service: cp, resource: " + fleetBundlePath + "}\nstatus: {service: cp}\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "opa.yaml"), []byte(opa), 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "imsguard.toml"), []byte("listen = \"127.0.0.1:0\"\nupstream = \"https://x.example\"\nopa_config = \"opa.yaml\"\n"), 0o600))
			lookup := func(k string) (string, bool) { return c.env, c.env != "" && k == "BUNDLE_TOKEN" }
			l := &Loader{ConfigPath: filepath.Join(dir, "imsguard.toml"), Catalog: testCatalog(t), Linters: sharedLinters(t), LookupEnv: lookup}
			var oplog bytes.Buffer
			srv, err := NewServer(context.Background(), Options{Loader: l, DecisionLog: &bytes.Buffer{}, Listener: listen(t), Log: newJSONLogger(&oplog)})
			require.Error(t, err)
			assert.Nil(t, srv)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "opa_config", ce.Key)
			assert.Equal(t, 3, ce.Line, "the opa_config key's line")
			assert.ErrorIs(t, err, fleet.ErrConfig)
			assert.Equal(t, c.envFault, errors.Is(err, fleet.ErrEnv), "the environment is at fault")
			assert.Equal(t, !c.envFault, errors.Is(err, ErrInvalidConfig), "the file is at fault")
			assert.Contains(t, err.Error(), "imsguard.toml:3: opa_config: ")
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), bundleToken)
			assert.NotContains(t, oplog.String(), bundleToken)

			assert.Never(t, func() bool { all, _ := cp.Requests(); return all > 0 }, 200*time.Millisecond, 10*time.Millisecond,
				"nothing started: the bundle server never heard from the sidecar")
		})
	}
}

// TestFleetPreflightRedacts: OPA quotes some values in its errors; one that came from the
// environment shows as its reference.
func TestFleetPreflightRedacts(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "imsguard.toml"), []byte("upstream = \"https://x.example\"\nopa_config = \"opa.yaml\"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "opa.yaml"), []byte("services: {cp: {url: 'https://cp.example'}}\n"+
		"bundles: {imsguard: {service: cp, resource: b.tar.gz, signing: {keyid: k}}}\nkeys: {k: {key: abc, algorithm: \"${KEY_ALG}\"}}\n"), 0o600))
	l := &Loader{ConfigPath: filepath.Join(dir, "imsguard.toml"), Catalog: testCatalog(t), Linters: sharedLinters(t),
		LookupEnv: func(k string) (string, bool) { return bundleToken, k == "KEY_ALG" }}
	s, err := l.Load(context.Background())
	require.NoError(t, err)
	err = Preflight(s, PreflightOptions{SkipHost: true})
	require.ErrorIs(t, err, fleet.ErrConfig)
	assert.Contains(t, err.Error(), "${KEY_ALG}")
	assert.NotContains(t, err.Error(), bundleToken)
}
