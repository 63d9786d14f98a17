package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

const bundlePath = "/bundles/imsguard.tar.gz"

// activations records what an agent asked to activate and refuses data containing
// "refuse-me".
type activations struct {
	mu        sync.Mutex
	active    string // revision installed
	asked     []string
	failures  []string
	uncommits int
}

func (a *activations) activate(_ context.Context, b *Bundle) (func(bool), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, b.Revision)
	if bytes.Contains(b.Data, []byte("refuse-me")) {
		return nil, fmt.Errorf("revision %s refused: policy p.json:1:2: E-TEST: refuse-me", b.Revision)
	}
	return func(ok bool) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if ok {
			a.active = b.Revision
		} else {
			a.uncommits++
		}
	}, nil
}

func (a *activations) failed(msg string) {
	a.mu.Lock()
	a.failures = append(a.failures, msg)
	a.mu.Unlock()
}

func (a *activations) state() (string, []string, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active, append([]string(nil), a.asked...), append([]string(nil), a.failures...)
}

func signedBundle(t *testing.T, data, revision string, key []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, []byte(data), revision, &Signing{Key: key, KeyID: "fleet"}))
	return buf.Bytes()
}

func opaConfig(srv *fleettest.Server, pub []byte, persistDir string) []byte {
	indented := "      " + strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n      ")
	return []byte(`services:
  control:
    url: ` + srv.URL + `
labels:
  region: test
bundles:
  imsguard:
    service: control
    resource: ` + bundlePath + `
    persist: true
    polling: {min_delay_seconds: 1, max_delay_seconds: 1}
    signing: {keyid: fleet}
keys:
  fleet:
    algorithm: RS256
    key: |
` + indented + `
decision_logs:
  service: control
  reporting: {min_delay_seconds: 1, max_delay_seconds: 1}
status:
  service: control
persistence_directory: ` + persistDir + `
`)
}

func TestAgent(t *testing.T) {
	priv, pub, _, _ := testKeys(t)
	srv := fleettest.New()
	defer srv.Close()
	persist := t.TempDir()
	cfg := opaConfig(srv, pub, persist)
	acts := &activations{}
	ctx := context.Background()
	start := func() *Agent {
		a, err := Start(ctx, Options{Config: cfg, Name: "opa.yaml", ID: "sidecar-1", Activate: acts.activate, Failed: acts.failed})
		require.NoError(t, err)
		return a
	}
	active := func(rev string) {
		t.Helper()
		require.Eventually(t, func() bool { a, _, _ := acts.state(); return a == rev }, 20*time.Second, 20*time.Millisecond)
	}

	// No bundle yet: nothing is activated, the failure is reported.
	a := start()
	require.Eventually(t, func() bool { _, _, f := acts.state(); return len(f) > 0 }, 20*time.Second, 20*time.Millisecond)
	srv.SetBundle(bundlePath, signedBundle(t, `{"principals":["r1"]}`, "r1", priv))
	active("r1")
	a.SetState(true, "serving revision r1")

	// ETag: the next polls are answered 304 and nothing is activated again.
	require.Eventually(t, func() bool { _, nm, _ := srv.Stats(); return nm >= 1 }, 20*time.Second, 20*time.Millisecond)
	_, asked, _ := acts.state()
	assert.Equal(t, []string{"r1"}, asked)

	// A refused revision stays inactive in OPA too: the status says so and r1 stays.
	srv.SetBundle(bundlePath, signedBundle(t, `{"principals":["refuse-me"]}`, "r2", priv))
	require.Eventually(t, func() bool {
		b := fleettest.BundleStatus(srv.LastStatus(), Name)
		return b != nil && strings.Contains(fmt.Sprint(b["message"]), "E-TEST")
	}, 20*time.Second, 20*time.Millisecond, "status: %v", srv.LastStatus())
	b := fleettest.BundleStatus(srv.LastStatus(), Name)
	assert.Equal(t, "r1", b["active_revision"], "OPA keeps r1 active")
	plugins, _ := srv.LastStatus()["plugins"].(map[string]any)
	assert.Equal(t, map[string]any{"state": "OK", "message": "serving revision r1"}, plugins["imsguard"])
	_, _, failures := acts.state()
	nFail := len(failures)

	// A tampered bundle fails verification: Activate never sees it.
	good := signedBundle(t, `{"principals":["r3"]}`, "r3", priv)
	srv.SetBundle(bundlePath, Tamper(t, good, func(name string, data []byte) []byte {
		return bytes.ReplaceAll(data, []byte(`"r3"`), []byte(`"r3-evil"`))
	}))
	require.Eventually(t, func() bool { _, _, f := acts.state(); return len(f) > nFail }, 20*time.Second, 20*time.Millisecond)
	_, asked, failures = acts.state()
	assert.NotContains(t, asked, "r3")
	assert.Contains(t, failures[len(failures)-1], "data.json: digest mismatch")
	srv.SetBundle(bundlePath, good)
	active("r3")

	// Decision events reach the collector gzip-compressed, in OPA's shape.
	a.Log(&Event{DecisionID: "d1", Timestamp: time.Unix(1700000000, 0).UTC(), Path: "imsguard/decision", Revision: "r3",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
		Input: []byte(`{"method":"GET","path":"/v2/cloudimages"}`), Result: []byte(`{"decision":"Allow","status":200}`),
		Metrics: map[string]any{"timer_imsguard_decision_ns": 1200}})
	require.Eventually(t, func() bool { return len(srv.Events()) == 1 }, 20*time.Second, 20*time.Millisecond)
	ev := srv.Events()[0]
	assert.Equal(t, "d1", ev["decision_id"])
	assert.Equal(t, "imsguard/decision", ev["path"])
	assert.Equal(t, map[string]any{"imsguard": map[string]any{"revision": "r3"}}, ev["bundles"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", ev["trace_id"])
	assert.Equal(t, map[string]any{"method": "GET", "path": "/v2/cloudimages"}, ev["input"])
	assert.Equal(t, map[string]any{"decision": "Allow", "status": float64(200)}, ev["result"])
	assert.Equal(t, map[string]any{"timer_imsguard_decision_ns": float64(1200)}, ev["metrics"])
	labels, _ := ev["labels"].(map[string]any)
	assert.Equal(t, "sidecar-1", labels["id"])
	assert.Equal(t, "test", labels["region"])
	assert.Equal(t, "2023-11-14T22:13:20Z", ev["timestamp"])
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	a.Stop(stopCtx)
	cancel()
	a.Log(&Event{DecisionID: "late"})
	assert.EqualValues(t, 1, a.Dropped(), "after Stop, events are dropped and counted")

	// Restart with the server down: the persisted r3 is activated before Start returns.
	srv.SetDown(true)
	acts2 := &activations{}
	acts = acts2
	a = start()
	defer a.Stop(ctx)
	got, asked, _ := acts.state()
	assert.Equal(t, "r3", got, "the persisted bundle is active")
	assert.Equal(t, []string{"r3"}, asked)
}

func TestCheckConfig(t *testing.T) {
	cases := []struct{ name, cfg, err, warn string }{
		{"ok", "services: {s: {url: 'http://x'}}\nbundles: {imsguard: {service: s, resource: b.tar.gz}}\n", "", "not signed"},
		{"signed", "services: {s: {url: 'http://x'}}\nbundles: {imsguard: {service: s, resource: b.tar.gz, signing: {keyid: k}}}\nkeys: {k: {key: abc, algorithm: HS256}}\n", "", ""},
		{"no imsguard bundle", "services: {s: {url: 'http://x'}}\nbundles: {other: {service: s}}\n", `no bundle named "imsguard"`, ""},
		{"no bundles", "labels: {a: b}\n", `no bundle named "imsguard"`, ""},
		{"discovery", "services: {s: {url: 'http://x'}}\ndiscovery: {service: s, resource: d.tar.gz}\n", "", ""},
		{"legacy bundle", "services: {s: {url: 'http://x'}}\nbundle: {name: b, service: s}\n", "deprecated", ""},
		{"not yaml", "services: [\n", "invalid OPA configuration", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			warns, err := CheckConfig("opa.yaml", []byte(c.cfg))
			if c.err != "" {
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrConfig))
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			if c.warn != "" {
				require.NotEmpty(t, warns)
				assert.Contains(t, strings.Join(warns, "\n"), c.warn)
			} else {
				assert.Empty(t, warns)
			}
		})
	}
}

// TestRuntimeInfoHoldsNoSecrets: what a discovery bundle's policy can read with
// opa.runtime() has neither the environment (the sidecar's secret keys) nor the
// configuration's credentials and private keys.
func TestRuntimeInfoHoldsNoSecrets(t *testing.T) {
	t.Setenv("IMSGUARD_SK", "QZXENVSECRETQZX")
	term, err := runtimeInfo([]byte(`services:
  cp:
    url: https://cp.example.com
    credentials: {bearer: {token: QZXBEARERQZX}}
keys:
  signer: {private_key: QZXPRIVATEQZX, algorithm: HS256}
labels: {cluster: prod}
bundles: {imsguard: {service: cp, resource: b.tar.gz}}
`))
	require.NoError(t, err)
	text := term.String()
	for _, secret := range []string{"QZXENVSECRETQZX", "QZXBEARERQZX", "QZXPRIVATEQZX"} {
		assert.NotContains(t, text, secret)
	}
	assert.Contains(t, text, `"cluster": "prod"`)
	assert.Contains(t, text, "https://cp.example.com")
}

// TestCheckPlugins: what only OPA's plugin manager finds is found before start.
func TestCheckPlugins(t *testing.T) {
	ok := "services: {s: {url: 'http://x'}}\nbundles: {imsguard: {service: s, resource: b.tar.gz}}\n"
	assert.NoError(t, CheckPlugins("opa.yaml", []byte(ok)))
	for _, c := range []struct{ name, cfg, err string }{
		{"unknown service", "services: {s: {url: 'http://x'}}\nbundles: {imsguard: {service: nope, resource: b.tar.gz}}\n", "nope"},
		{"unknown key", "services: {s: {url: 'http://x'}}\nbundles: {imsguard: {service: s, signing: {keyid: k}}}\n", "k"},
		{"bad algorithm", ok + "keys: {k: {key: abc, algorithm: XS1}}\n", "XS1"},
		{"logs service", ok + "decision_logs: {service: nope}\n", "decision_logs"},
		{"status service", ok + "status: {service: nope}\n", "status"},
		{"custom plugin", ok + "plugins: {envoy_ext_authz_grpc: {addr: ':9191'}}\n", "custom OPA plugins"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPlugins("opa.yaml", []byte(c.cfg))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConfig)
			assert.Contains(t, err.Error(), c.err)
		})
	}
}
