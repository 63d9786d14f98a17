package proxy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func waitGeneration(t *testing.T, srv *Server, gen uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.Snapshot().Generation >= gen }, 20*time.Second, 10*time.Millisecond,
		"generation %d never installed", gen)
}

func TestReloadKeepsLastGoodSet(t *testing.T) {
	e := newEnv(t, baseConfig, nil, withWatch(20*time.Millisecond))
	status := func() int {
		resp, _ := e.do(t, "DELETE", "/v2/images/x", nil, nil)
		return resp.StatusCode
	}
	require.Equal(t, 403, status())

	// A good change is picked up by the watcher.
	e.writeFiles(t, map[string]string{"policies/readonly.json": adminPolicy})
	waitGeneration(t, e.srv, 2)
	assert.Equal(t, 204, status())
	assert.Equal(t, 1.0, counter(t, e.srv.metrics.reloads))

	// A broken policy is refused: the last good set stays, the failure is counted and logged.
	e.writeFiles(t, map[string]string{"policies/readonly.json": `{"Version":"1.1","Statement":[`})
	require.Eventually(t, func() bool { return counter(t, e.srv.metrics.reloadFailures) >= 1 }, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, uint64(2), e.srv.Snapshot().Generation)
	assert.Equal(t, 204, status())
	assert.Contains(t, e.oplog.String(), "reload failed; keeping the last good configuration")

	// SIGHUP path: an explicit reload reports the same error.
	err := e.srv.Reload(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrPolicyLint)

	// A broken configuration is refused too.
	e.writeFiles(t, map[string]string{"policies/readonly.json": readOnlyPolicy, "imsguard.toml": baseConfig + "\nbogus = 1\n"})
	require.Eventually(t, func() bool {
		return strings.Contains(e.oplog.String(), "bogus")
	}, 20*time.Second, 10*time.Millisecond)
	assert.Equal(t, 204, status(), "still the last good set")

	// Fixing it installs the new set; restart-only settings are reported, not applied.
	e.writeFiles(t, map[string]string{"imsguard.toml": strings.Replace(baseConfig, `listen = "127.0.0.1:0"`, `listen = "127.0.0.1:1"`, 1)})
	waitGeneration(t, e.srv, 3)
	assert.Equal(t, 403, status())
	assert.Contains(t, e.oplog.String(), `"key":"listen"`)

	// Unchanged files (or unrelated files in the folder) do not make a new generation.
	e.writeFiles(t, map[string]string{"notes.txt": "hello", "imsguard.toml": strings.Replace(baseConfig, `listen = "127.0.0.1:0"`, `listen = "127.0.0.1:1"`, 1)})
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, uint64(3), e.srv.Snapshot().Generation)
	// A forced reload (Server.Reload) always installs.
	require.NoError(t, e.srv.Reload(context.Background()))
	assert.Equal(t, uint64(4), e.srv.Snapshot().Generation)
}

// TestHangupReloadsOnlyChanges drives the SIGHUP path (Server.Hangup) without a watcher:
// unchanged files keep the generation, a changed file installs one, a broken one is refused
// and putting back the installed content is again "unchanged".
func TestHangupReloadsOnlyChanges(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	ctx := context.Background()
	hangup := func() uint64 {
		t.Helper()
		require.NoError(t, e.srv.Hangup(ctx))
		return e.srv.Snapshot().Generation
	}
	require.EqualValues(t, 1, e.srv.Snapshot().Generation)

	assert.EqualValues(t, 1, hangup(), "unchanged files: no new generation")
	assert.EqualValues(t, 1, hangup())
	assert.Zero(t, counter(t, e.srv.metrics.reloads))
	assert.Contains(t, e.oplog.String(), "configuration and policy files unchanged; nothing reloaded")

	e.writeFiles(t, map[string]string{"policies/readonly.json": adminPolicy})
	assert.EqualValues(t, 2, hangup(), "a changed policy is installed")
	assert.EqualValues(t, 2, hangup(), "and only once")
	assert.Equal(t, 1.0, counter(t, e.srv.metrics.reloads))
	resp, _ := e.do(t, "DELETE", "/v2/images/x", nil, nil)
	assert.Equal(t, 204, resp.StatusCode, "generation 2 decides")

	e.writeFiles(t, map[string]string{"policies/readonly.json": `{"Version":"1.1","Statement":[`})
	require.ErrorIs(t, e.srv.Hangup(ctx), ErrPolicyLint)
	assert.EqualValues(t, 2, e.srv.Snapshot().Generation)
	e.writeFiles(t, map[string]string{"policies/readonly.json": adminPolicy})
	assert.EqualValues(t, 2, hangup(), "back to the installed content: unchanged")

	require.NoError(t, e.srv.Reload(ctx))
	assert.EqualValues(t, 3, e.srv.Snapshot().Generation, "Reload always installs")
}

func TestReloadSwitchesMode(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	resp, _ := e.do(t, "DELETE", "/v2/images/x", nil, nil)
	require.Equal(t, 403, resp.StatusCode)
	e.writeFiles(t, map[string]string{"imsguard.toml": "mode = \"audit\"\n" + baseConfig})
	require.NoError(t, e.srv.Reload(context.Background()))
	resp, _ = e.do(t, "DELETE", "/v2/images/x", nil, nil)
	assert.Equal(t, 204, resp.StatusCode)
	line := e.lastDecision(t)
	assert.Equal(t, "ImplicitDeny", line["decision"])
	assert.Equal(t, false, line["enforced"])
	assert.EqualValues(t, 2, line["generation"])
}

// TestReloadUnderLoad swaps whole configuration versions the way a Kubernetes ConfigMap
// update does (an atomic rename of the ..data link) while requests flow. Version A allows
// listing and reading images through two policy files, version B allows neither, version C
// is broken. Every request must succeed (200 or 403, never an error), every installed
// generation must be exactly version A or B (never a mix, never C), and every decision must
// match the version of the generation that made it.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("reload under load takes a few seconds")
	}
	e := newEnv(t, baseConfig, nil)
	root := filepath.Join(e.dir, "k8s")
	config := strings.ReplaceAll(strings.ReplaceAll(`listen = "127.0.0.1:0"
upstream = "{{UPSTREAM}}"
default_principal = "workload"
[metrics]
listen = ""
[[principals]]
name = "workload"
policies = ["policies"]
`, "{{UPSTREAM}}", e.up.URL), "{{IAM}}", e.iamSrv.URL)
	allow := func(a string) string {
		return `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["` + a + `"]}]}`
	}
	versions := map[string]map[string]string{
		"A": {"imsguard.toml": config + "# version A\n", "policies/list.json": allow("ims:images:list"), "policies/get.json": allow("ims:images:get")},
		"B": {"imsguard.toml": config + "# version B\n", "policies/list.json": allow("ims:quotas:get"), "policies/get.json": allow("ims:quotas:get")},
		"C": {"imsguard.toml": config + "# version C\n", "policies/list.json": allow("ims:images:list"), "policies/get.json": `{"Version":`},
	}
	for v, files := range versions {
		for name, content := range files {
			p := filepath.Join(root, "..v"+v, name)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		}
	}
	swap := func(v string) {
		tmp := filepath.Join(root, "..data_tmp")
		_ = os.Remove(tmp)
		require.NoError(t, os.Symlink("..v"+v, tmp))
		require.NoError(t, os.Rename(tmp, filepath.Join(root, "..data")))
	}
	swap("A")
	require.NoError(t, os.Symlink("..data/imsguard.toml", filepath.Join(root, "imsguard.toml")))
	require.NoError(t, os.Symlink("..data/policies", filepath.Join(root, "policies")))

	// Digests of the two good versions, computed by the same loader.
	l := &Loader{ConfigPath: filepath.Join(root, "imsguard.toml"), Catalog: testCatalog(t)}
	digest := map[string]string{}
	for _, v := range []string{"B", "A"} {
		swap(v)
		s, err := l.Load(context.Background())
		require.NoError(t, err)
		digest[s.Digest[:16]] = v
	}
	require.Len(t, digest, 2)

	// Start a proxy on the swapped layout, watching it.
	log := &syncBuffer{}
	oplog := &syncBuffer{}
	srv, err := NewServer(context.Background(), Options{Loader: l, DecisionLog: log, Listener: listen(t), Watch: true, Debounce: 10 * time.Millisecond,
		Log: newJSONLogger(oplog)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	url := "http://" + srv.Addr().String()

	var stop atomic.Bool
	var failures atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Go(func() {
			paths := []string{"/v2/images", "/v2/images/abc"}
			for i := 0; !stop.Load(); i++ {
				resp, err := client.Get(url + paths[(i+w)%2])
				if err != nil {
					failures.Add(1)
					t.Errorf("request error: %v", err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 403 {
					failures.Add(1)
					t.Errorf("unexpected status %d", resp.StatusCode)
				}
			}
		})
	}
	order := []string{"B", "A", "C", "B", "C", "A", "B", "A", "C", "C", "B", "A"}
	for i, v := range order {
		swap(v)
		if i%4 == 3 {
			_ = srv.Reload(ctx) // SIGHUP while the watcher is busy too
		}
		time.Sleep(120 * time.Millisecond)
	}
	swap("A")
	require.Eventually(t, func() bool { return digest[srv.Snapshot().Digest[:16]] == "A" }, 20*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	cancel()
	require.NoError(t, <-done)

	require.Zero(t, failures.Load())
	// Map every generation to its version.
	genVersion := map[float64]string{}
	for _, line := range oplogLines(t, oplog) {
		if line["msg"] != "reloaded" && line["msg"] != "imsguard proxy serving" {
			continue
		}
		v, ok := digest[line["digest"].(string)]
		require.True(t, ok, "generation %v installed an unknown set (digest %v): a mixed or broken version", line["generation"], line["digest"])
		genVersion[line["generation"].(float64)] = v
	}
	assert.GreaterOrEqual(t, len(genVersion), 4, "several reloads happened")
	assert.Greater(t, counter(t, srv.metrics.reloadFailures), 0.0, "version C was refused")
	decisions := log.lines(t)
	require.NotEmpty(t, decisions)
	for _, d := range decisions {
		v := genVersion[d["generation"].(float64)]
		require.NotEmpty(t, v, "decision by an unknown generation")
		want := map[string]string{"A": "Allow", "B": "ImplicitDeny"}[v]
		require.Equal(t, want, d["decision"], fmt.Sprintf("generation %v (version %s) decided %v", d["generation"], v, d))
	}
	t.Logf("%d requests over %d generations, %v reload failures", len(decisions), len(genVersion), counter(t, srv.metrics.reloadFailures))
}
