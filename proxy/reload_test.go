package proxy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

// waitWatching waits until the file watcher has added its folders: a change made before
// that would go unseen.
func waitWatching(t *testing.T, oplog *syncBuffer) {
	t.Helper()
	require.Eventually(t, func() bool {
		return strings.Contains(oplog.String(), `"msg":"watching the configuration and policy folders"`)
	}, 20*time.Second, 5*time.Millisecond, "the file watcher never started")
}

// watchedChange replaces one file (name relative to the configuration folder, placeholders
// replaced as by writeFiles) the way editors and ConfigMaps do, and waits until the watcher
// has finished the reload attempt that change triggered, whatever its outcome. The new
// content is written in a folder nobody watches and renamed into place, so the watcher sees
// one event and never a half-written file: exactly one attempt, and it reads this version.
func (e *env) watchedChange(t *testing.T, name, content string) {
	t.Helper()
	content = strings.NewReplacer("{{UPSTREAM}}", e.up.URL, "{{IAM}}", e.iamSrv.URL).Replace(content)
	staged := filepath.Join(t.TempDir(), filepath.Base(name))
	require.NoError(t, os.WriteFile(staged, []byte(content), 0o600))
	n := e.srv.reloadAttempts.Load()
	require.NoError(t, os.Rename(staged, filepath.Join(e.dir, name)))
	require.Eventually(t, func() bool { return e.srv.reloadAttempts.Load() > n }, 20*time.Second, 5*time.Millisecond,
		"the watcher never reloaded after %s changed", name)
}

// TestReloadKeepsLastGoodSet drives the file watcher one change at a time; each step
// waits until the watcher has tried that version, so every assertion is about it.
func TestReloadKeepsLastGoodSet(t *testing.T) {
	e := newEnv(t, baseConfig, nil, withWatch(20*time.Millisecond))
	status := func() int {
		resp, _ := e.do(t, "DELETE", "/v2/images/x", nil, nil)
		return resp.StatusCode
	}
	require.Equal(t, 403, status())
	waitWatching(t, e.oplog)
	generation := func() uint64 { return e.srv.Snapshot().Generation }

	// A good change is picked up by the watcher.
	e.watchedChange(t, "policies/readonly.json", adminPolicy)
	require.EqualValues(t, 2, generation())
	assert.Equal(t, 204, status())
	assert.Equal(t, 1.0, counter(t, e.srv.metrics.reloads))

	// A broken policy is refused: the last good set stays, the failure is counted and logged.
	e.watchedChange(t, "policies/readonly.json", `{"Version":"1.1","Statement":[`)
	assert.Equal(t, 1.0, counter(t, e.srv.metrics.reloadFailures))
	assert.EqualValues(t, 2, generation())
	assert.Equal(t, 204, status())
	assert.Contains(t, e.oplog.String(), "reload failed; keeping the last good configuration")

	// SIGHUP path: an explicit reload reports the same error.
	err := e.srv.Reload(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrPolicyLint)
	assert.Equal(t, 2.0, counter(t, e.srv.metrics.reloadFailures))

	// A broken configuration is refused too, also once the policy under it is fixed.
	e.watchedChange(t, "imsguard.toml", baseConfig+"\nbogus = 1\n")
	assert.Equal(t, 3.0, counter(t, e.srv.metrics.reloadFailures))
	assert.Contains(t, e.oplog.String(), "bogus")
	e.watchedChange(t, "policies/readonly.json", readOnlyPolicy)
	assert.Equal(t, 4.0, counter(t, e.srv.metrics.reloadFailures))
	assert.EqualValues(t, 2, generation())
	assert.Equal(t, 204, status(), "still the last good set")

	// Fixing it installs the new set; restart-only settings are reported, not applied.
	listen1 := strings.Replace(baseConfig, `listen = "127.0.0.1:0"`, `listen = "127.0.0.1:1"`, 1)
	e.watchedChange(t, "imsguard.toml", listen1)
	require.EqualValues(t, 3, generation())
	assert.Equal(t, 403, status())
	assert.Contains(t, e.oplog.String(), `"key":"listen"`)
	assert.Equal(t, 2.0, counter(t, e.srv.metrics.reloads))

	// Unchanged files (or unrelated files in the folder) do not make a new generation: the
	// watcher's attempt after the same configuration is written again installs nothing.
	e.writeFiles(t, map[string]string{"notes.txt": "hello"})
	e.watchedChange(t, "imsguard.toml", listen1)
	assert.EqualValues(t, 3, generation())
	assert.Equal(t, 2.0, counter(t, e.srv.metrics.reloads))
	assert.Equal(t, 4.0, counter(t, e.srv.metrics.reloadFailures))
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
		writeTree(t, filepath.Join(root, "..v"+v), files)
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
	// Each step waits until the proxy has seen the version swapped in: a good version is
	// installed and has decided a request, the broken one is refused (one more failure).
	installed := func() string { return digest[srv.Snapshot().Digest[:16]] }
	decidedBy := func(gen uint64) bool {
		return strings.Contains(log.String(), `"generation":`+strconv.FormatUint(gen, 10)+`,`)
	}
	waitWatching(t, oplog)
	order := []string{"B", "A", "C", "B", "C", "A", "B", "A", "C", "C", "B", "A"}
	good, broken := 0, 0
	for i, v := range order {
		failures := counter(t, srv.metrics.reloadFailures)
		if v != "C" {
			require.NotEqual(t, v, installed(), "step %d: a good version must differ from the one in use", i)
		}
		swap(v)
		if i%4 == 3 {
			_ = srv.Reload(ctx) // SIGHUP while the watcher is busy too
		}
		if v == "C" {
			broken++
			require.Eventually(t, func() bool { return counter(t, srv.metrics.reloadFailures) > failures }, 20*time.Second, 5*time.Millisecond,
				"step %d: version C was never refused", i)
			continue
		}
		good++
		require.Eventually(t, func() bool { return installed() == v }, 20*time.Second, 5*time.Millisecond, "step %d: version %s was never installed", i, v)
		gen := srv.Snapshot().Generation
		require.Eventually(t, func() bool { return decidedBy(gen) }, 20*time.Second, 5*time.Millisecond, "step %d: generation %d decided no request", i, gen)
	}
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
	assert.GreaterOrEqual(t, len(genVersion), 1+good, "the first generation and one per good step")
	assert.GreaterOrEqual(t, counter(t, srv.metrics.reloadFailures), float64(broken), "version C was refused at each of its steps")
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

// Custom lint rules ([lint] rules) for TestReloadSeesEditedLintRules: one that finds
// nothing, and one that refuses every Allow statement.
const (
	quietRule = `package acme.ims

deny contains "never" if { false }
`
	noAllowRule = `package acme.ims

deny contains {"msg": "Allow statements are frozen", "code": "ACME-FROZEN"} if {
	some a in input.actions
	a.effect == "Allow"
}
`
)

// TestReloadSeesEditedLintRules: the proxy lints every load with the [lint] rules folder,
// so editing a rule there is a change like editing a policy — the watcher sees it, the
// reload lints with the new rule (and here refuses the set it now finds errors in), and a
// SIGHUP does not call it unchanged.
func TestReloadSeesEditedLintRules(t *testing.T) {
	config := baseConfig + "\n[lint]\nrules = [\"rules\"]\n"
	e := newEnv(t, config, map[string]string{"rules/acme.rego": quietRule}, withWatch(20*time.Millisecond))
	waitWatching(t, e.oplog)
	require.EqualValues(t, 1, e.srv.Snapshot().Generation)
	assert.Contains(t, e.srv.Snapshot().watch, filepath.Join(e.dir, "rules"))

	e.watchedChange(t, "rules/acme.rego", noAllowRule)
	assert.Equal(t, 1.0, counter(t, e.srv.metrics.reloadFailures), "the edited rule was linted with")
	assert.Contains(t, e.oplog.String(), "ACME-FROZEN")
	assert.EqualValues(t, 1, e.srv.Snapshot().Generation, "the last good set keeps deciding")

	// Back to the rule the running set was linted with: unchanged, nothing installed.
	e.watchedChange(t, "rules/acme.rego", quietRule)
	assert.Equal(t, 1.0, counter(t, e.srv.metrics.reloadFailures))
	assert.EqualValues(t, 1, e.srv.Snapshot().Generation)

	// SIGHUP: a rule file added to the folder is a change too.
	e.writeFiles(t, map[string]string{"rules/more/frozen.rego": strings.Replace(noAllowRule, "acme.ims", "acme.more", 1)})
	require.ErrorIs(t, e.srv.Hangup(context.Background()), ErrPolicyLint)
	assert.EqualValues(t, 1, e.srv.Snapshot().Generation)
}
