package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/proxy/stub"
	"github.com/imsguard/imsguard/rego/authz"
)

// fakeDecider records inputs and answers with a fixed decision or error.
type fakeDecider struct {
	mu     sync.Mutex
	inputs []authz.Input
	effect authz.Effect
	err    error
	delay  time.Duration
}

func (f *fakeDecider) Decide(_ context.Context, in authz.Input) (authz.Decision, error) {
	time.Sleep(f.delay)
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	f.mu.Unlock()
	if f.err != nil {
		return authz.Decision{Effect: authz.ImplicitDeny}, f.err
	}
	d := authz.Decision{Effect: f.effect}
	for _, a := range in.Actions {
		d.Actions = append(d.Actions, authz.ActionDecision{Action: a, Effect: f.effect})
	}
	return d, nil
}

func (f *fakeDecider) last() authz.Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs[len(f.inputs)-1]
}

func fakeFactory(f *fakeDecider) DeciderFactory {
	return func(context.Context, *actions.Catalog, []authz.Attachment, authz.Options) (Decider, error) {
		return f, nil
	}
}

func TestEngineErrorDenies(t *testing.T) {
	f := &fakeDecider{err: errors.New("rego: evaluation exploded")}
	e := newEnv(t, baseConfig, nil, withDecider(fakeFactory(f)))
	resp, data := e.do(t, "GET", "/v2/images", nil, nil)
	assert.Equal(t, 500, resp.StatusCode)
	assert.Contains(t, string(data), `"error_code":"IMSGUARD.0500"`)
	assert.Contains(t, string(data), `"denied_actions":["ims:images:list"]`)
	assert.Empty(t, e.ims.Requests())
	line := e.lastDecision(t)
	assert.Equal(t, reasonEngine, line["reason"])
	assert.Contains(t, line["error"], "exploded")
}

func TestSlowDecisionDenies(t *testing.T) {
	f := &fakeDecider{effect: authz.Allow, delay: 300 * time.Millisecond}
	cfg := strings.Replace(baseConfig, `upstream_response_header = "2s"`, "upstream_response_header = \"2s\"\ndecision = \"100ms\"", 1)
	e := newEnv(t, cfg, nil, withDecider(fakeFactory(f)))
	resp, data := e.do(t, "GET", "/v2/images", nil, nil)
	assert.Equal(t, 500, resp.StatusCode, string(data))
	assert.Empty(t, e.ims.Requests())
	assert.Contains(t, e.lastDecision(t)["error"], "timeouts.decision")
}

func TestDecisionInput(t *testing.T) {
	f := &fakeDecider{effect: authz.Allow}
	cfg := strings.Replace(baseConfig, `users = ["alice"]
policies = ["policies/readonly.json"]`, `users = ["alice"]
policies = ["policies/readonly.json"]

[[principals.attachments]]
policy = "policies/admin.json"
scope = "enterprise_project"
enterprise_projects = ["ep-7"]`, 1)
	e := newEnv(t, cfg, nil, withDecider(fakeFactory(f)))
	tok := e.iam.IssueToken(stub.Identity{UserID: "u-alice", UserName: "alice", DomainID: "d1", DomainName: "acme", ProjectID: "p9", Project: "ae-ad-1_dev"}, time.Hour)
	resp, _ := e.do(t, "GET", "/v2/cloudimages?enterprise_project_id=ep-7&limit=1", nil, hdr("X-Auth-Token", tok))
	require.Equal(t, 200, resp.StatusCode)
	in := f.last()
	assert.Equal(t, []string{"ims:images:list"}, in.Actions)
	assert.Equal(t, "list_cloudimages", in.API.ID)
	assert.Equal(t, "/v2/cloudimages?enterprise_project_id=ep-7&limit=1", in.URL)
	assert.Equal(t, "ae-ad-1_dev", in.Project, "the token's project")
	assert.Equal(t, "ep-7", in.EnterpriseProjectID, "a list filtered by enterprise project: a fact")
	assert.False(t, in.EnterpriseProjectUnknown)
	assert.Nil(t, in.Globals, "a custom decider gets the condition keys as Context")
	assert.Equal(t, []string{"alice"}, in.Context["g:UserName"])
	assert.Equal(t, []string{"u-alice"}, in.Context["g:UserId"])
	assert.Equal(t, []string{"acme"}, in.Context["g:DomainName"])
	assert.Equal(t, []string{"ae-ad-1_dev"}, in.Context["g:ProjectName"])
	assert.Equal(t, []string{"127.0.0.1"}, in.Context["g:SourceIp"])
	ct, err := time.Parse(time.RFC3339, in.Context["g:CurrentTime"][0])
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ct, 5*time.Second)

	resp, _ = e.do(t, "GET", "/v2/images", nil, nil)
	require.Equal(t, 200, resp.StatusCode)
	in = f.last()
	assert.Equal(t, "ae-ad-1", in.Project, "the configured project for the default principal")
	assert.NotContains(t, in.Context, "g:UserName")

	resp, _ = e.do(t, "GET", "/v2/images/"+stub.SampleImageID+"?enterprise_project_id=ep-7", nil, hdr("X-Auth-Token", tok))
	require.Equal(t, 200, resp.StatusCode)
	in = f.last()
	assert.Equal(t, "glance_show_image", in.API.ID)
	assert.Empty(t, in.EnterpriseProjectID, "IMS ignores the parameter on a single-image call: a claim, not a fact")
	assert.True(t, in.EnterpriseProjectUnknown)

	resp, _ = e.do(t, "GET", "/v2/cloudimages?enterprise_project_id=a&enterprise_project_id=b", nil, nil)
	assert.Equal(t, 400, resp.StatusCode, "ambiguous enterprise project")
	resp, _ = e.do(t, "GET", "/v2/cloudimages?enterprise_project_id=a&enterprise%5Fproject%5Fid=b", nil, nil)
	assert.Equal(t, 400, resp.StatusCode, "the same key, percent-encoded")
}

func TestMetricsAndHealth(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	e.do(t, "GET", "/v2/images", nil, nil)
	e.do(t, "DELETE", "/v2/images/x", nil, nil)
	e.do(t, "GET", "/nope", nil, nil)
	m := httptest.NewServer(e.srv.MetricsHandler())
	defer m.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(m.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	require.Equal(t, 200, code)
	for _, want := range []string{
		`imsguard_decisions_total{action="ims:images:list",api="glance_list_images",result="allow"} 1`,
		`imsguard_decisions_total{action="ims:images:delete",api="glance_delete_image",result="implicit_deny"} 1`,
		`imsguard_decisions_total{action="none",api="none",result="no_api"} 1`,
		`imsguard_responses_total{code="403",forwarded="false"} 2`,
		`imsguard_decision_duration_seconds_count 3`,
		`imsguard_upstream_duration_seconds_count 1`,
		`imsguard_config_generation 1`,
		`imsguard_reload_failures_total 0`,
	} {
		assert.Contains(t, body, want)
	}
	code, _ = get("/healthz")
	assert.Equal(t, 200, code)
	require.Eventually(t, func() bool { c, _ := get("/readyz"); return c == 200 }, 5*time.Second, 10*time.Millisecond)
	e.stop(t)
	code, _ = get("/readyz")
	assert.Equal(t, 503, code, "not ready once stopping")
}

func TestGracefulShutdownDrains(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	arrived, release := make(chan struct{}), make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // a failed test must not leave the upstream handler (and its Close) waiting
	e.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		_, _ = w.Write([]byte(`{"images":[]}`))
	})
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(e.url + "/v2/images")
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{code: resp.StatusCode}
	}()
	select {
	case <-arrived:
	case r := <-done:
		t.Fatalf("request finished before reaching upstream: %+v; log: %s; oplog: %s", r, e.log.String(), e.oplog.String())
	}
	e.cancel()
	e.cancel = nil
	// Shutdown has begun once the proxy refuses new connections: http.Server.Shutdown closes
	// the listener first, then waits for the request in flight.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", e.srv.Addr().String())
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, 10*time.Second, 5*time.Millisecond, "shutdown never began")
	assert.False(t, e.srv.isReady(), "/readyz fails while draining")
	select {
	case err := <-e.done:
		t.Fatalf("Run returned with a request in flight (err %v)", err)
	default:
	}
	unblock()
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, 200, r.code, "in-flight request finished during shutdown")
	require.NoError(t, <-e.done)
	line := e.lastDecision(t)
	assert.Equal(t, true, line["forwarded"])
	assert.EqualValues(t, 200, line["upstream_status"], "the drained request was logged")
}

func TestUploadStreams(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	const size = 32 << 20
	path := "/v2/images/" + stub.SampleImageID + "/file"
	req, err := http.NewRequest("PUT", e.url+path, io.LimitReader(zeroReader{}, size))
	require.NoError(t, err)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	require.NoError(t, stub.Sign(req, nil, adminAK, adminSK, time.Time{}))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 204, resp.StatusCode)
	got := e.ims.Requests()
	require.Len(t, got, 1)
	assert.EqualValues(t, size, got[0].BodyLen)
	h := sha256.New()
	_, _ = io.Copy(h, io.LimitReader(zeroReader{}, size))
	assert.Equal(t, hex.EncodeToString(h.Sum(nil)), got[0].BodySHA256)
	assert.Equal(t, "aksk", e.lastDecision(t)["auth"])

	// The read-only default principal may not upload: denied before a byte is forwarded.
	e.ims.Reset()
	resp, _ = e.do(t, "PUT", path, strings.NewReader("data"), hdr("Content-Type", "application/octet-stream"))
	assert.Equal(t, 403, resp.StatusCode)
	assert.Empty(t, e.ims.Requests())
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestStartFailures(t *testing.T) {
	cat := testCatalog(t)
	_, err := NewServer(context.Background(), Options{Loader: &Loader{ConfigPath: "/does/not/exist.toml", Catalog: cat}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read config /does/not/exist.toml")
}
