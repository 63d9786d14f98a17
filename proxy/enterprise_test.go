package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

const (
	epDevAK    = "AKEPDEVONLY00001"
	epDevSK    = "ep-dev-secret"
	epFinAK    = "AKEPFINDENY00001"
	epFinSK    = "ep-fin-secret"
	lookupAK   = "AKLOOKUP00000001"
	lookupSK   = "lookup-secret"
	imgDev     = "11111111-1111-4111-8111-111111111111"
	imgFin     = "22222222-2222-4222-8222-222222222222"
	imgShared  = "33333333-3333-4333-8333-333333333333"
	imgUnknown = "44444444-4444-4444-8444-444444444444"
)

// epConfig: "dev" holds ims:*:* on enterprise project ep-dev only; "fin" may read images
// in every project but is denied everything on enterprise project ep-fin.
const epConfig = `
listen = "127.0.0.1:0"
upstream = "{{UPSTREAM}}"
project = "ae-ad-1"

[metrics]
listen = ""

[enterprise_project_lookup]
access_key = "` + lookupAK + `"
secret_key_env = "TEST_LOOKUP_SK"
project_id = "p-guarded"

[[principals]]
name = "dev"
access_keys = ["` + epDevAK + `"]
secret_key_env = { ` + epDevAK + ` = "TEST_EPDEV_SK" }

[[principals.attachments]]
policy = "policies/full.json"
scope = "enterprise_project"
enterprise_projects = ["ep-dev"]

[[principals]]
name = "fin"
access_keys = ["` + epFinAK + `"]
secret_key_env = { ` + epFinAK + ` = "TEST_EPFIN_SK" }
policies = ["policies/readonly.json"]

[[principals.attachments]]
policy = "policies/deny-all.json"
scope = "enterprise_project"
enterprise_projects = ["ep-fin"]
`

// epWorld is the proxy with epConfig in front of an IMS stand-in that knows three images
// and answers the proxy's enterprise-project lookups, which it counts (and verifies).
type epWorld struct {
	*env
	lookups    atomic.Int64
	failLookup atomic.Bool
	badLookups atomic.Int64
}

func newEPWorld(t *testing.T, config string) *epWorld {
	t.Helper()
	w := &epWorld{}
	files := map[string]string{
		"policies/full.json":     `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]}]}`,
		"policies/deny-all.json": denyAllPolicy,
	}
	w.env = newEnv(t, config, files, withSecrets(map[string]string{"TEST_EPDEV_SK": epDevSK, "TEST_EPFIN_SK": epFinSK, "TEST_LOOKUP_SK": lookupSK}))
	w.ims.AddImage(stub.Image{ID: imgDev, EnterpriseProjectID: "ep-dev"})
	w.ims.AddImage(stub.Image{ID: imgFin, EnterpriseProjectID: "ep-fin"})
	w.ims.AddImage(stub.Image{ID: imgShared, EnterpriseProjectID: "ep-dev", ImageType: "shared"})
	w.up.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), "Access="+lookupAK) {
			w.lookups.Add(1)
			if VerifySDKSignature(r, nil, lookupSK, time.Now(), time.Minute) != nil || r.Header.Get("X-Project-Id") != "p-guarded" ||
				r.Method != http.MethodGet || r.URL.Path != "/v2/cloudimages" {
				w.badLookups.Add(1)
			}
			if w.failLookup.Load() {
				http.Error(rw, `{"error_code":"IMS.0500"}`, http.StatusInternalServerError)
				return
			}
		}
		w.ims.ServeHTTP(rw, r)
	})
	return w
}

// forwarded lists the requests that reached IMS other than the proxy's own lookups.
func (w *epWorld) forwarded() []stub.Request {
	var out []stub.Request
	for _, r := range w.ims.Requests() {
		if !strings.Contains(r.Header.Get("Authorization"), "Access="+lookupAK) {
			out = append(out, r)
		}
	}
	return out
}

// TestEnterpriseProjectGrantsNeedFacts: an enterprise-project grant allows a request only
// where its enterprise project is a fact — the list filter, the body of a create, the
// image looked up from IMS — and a client's query claim never counts.
func TestEnterpriseProjectGrantsNeedFacts(t *testing.T) {
	w := newEPWorld(t, epConfig)
	cases := []struct {
		name, ak, sk, method, path, body string
		want                             int
		eps                              []any // enterprise_projects in the log
	}{
		// "dev": ims:*:* on ep-dev only
		{"delete another EP's image, claiming ep-dev", epDevAK, epDevSK, "DELETE", "/v2/images/" + imgFin + "?enterprise_project_id=ep-dev", "", 403, []any{"image=other"}},
		{"delete own EP's image", epDevAK, epDevSK, "DELETE", "/v2/images/" + imgDev, "", 204, []any{"image=ep-dev"}},
		{"update another EP's image, claiming ep-dev", epDevAK, epDevSK, "PATCH", "/v2/images/" + imgFin + "?enterprise_project_id=ep-dev", `[{"op":"replace","path":"/name","value":"x"}]`, 403, []any{"image=other"}},
		{"export another EP's image, claiming ep-dev", epDevAK, epDevSK, "POST", "/v1/cloudimages/" + imgFin + "/file?enterprise_project_id=ep-dev", `{"bucket_url":"b:o","file_format":"qcow2"}`, 403, []any{"image=other"}},
		{"read another EP's image, claiming ep-dev", epDevAK, epDevSK, "GET", "/v2/images/" + imgFin + "?enterprise_project_id=ep-dev", "", 403, []any{"image=other"}},
		{"read own EP's image", epDevAK, epDevSK, "GET", "/v2/images/" + imgDev, "", 200, []any{"image=ep-dev"}},
		{"a shared image is not ours", epDevAK, epDevSK, "GET", "/v2/images/" + imgShared, "", 403, []any{"image=?"}},
		{"an image IMS does not show", epDevAK, epDevSK, "GET", "/v2/images/" + imgUnknown, "", 403, []any{"image=?"}},
		{"list filtered by the grant's EP", epDevAK, epDevSK, "GET", "/v2/cloudimages?enterprise_project_id=ep-dev", "", 200, []any{"query=ep-dev"}},
		{"list filter with an encoded key", epDevAK, epDevSK, "GET", "/v2/cloudimages?enterprise%5Fproject%5Fid=ep-dev", "", 200, []any{"query=ep-dev"}},
		{"list unfiltered", epDevAK, epDevSK, "GET", "/v2/cloudimages", "", 403, []any{"query=?"}},
		{"list all granted EPs", epDevAK, epDevSK, "GET", "/v2/cloudimages?enterprise_project_id=all_granted_eps", "", 403, []any{"query=?"}},
		{"list another EP", epDevAK, epDevSK, "GET", "/v2/cloudimages?enterprise_project_id=ep-fin", "", 403, []any{"query=other"}},
		{"create in the grant's EP", epDevAK, epDevSK, "POST", "/v2/cloudimages/action", `{"name":"n","instance_id":"i","enterprise_project_id":"ep-dev"}`, 200, []any{"body=ep-dev"}},
		{"create in another EP", epDevAK, epDevSK, "POST", "/v2/cloudimages/action", `{"name":"n","instance_id":"i","enterprise_project_id":"ep-fin"}`, 403, []any{"body=other"}},
		{"create naming no EP", epDevAK, epDevSK, "POST", "/v2/cloudimages/action?enterprise_project_id=ep-dev", `{"name":"n","instance_id":"i"}`, 403, []any{"body=?"}},
		{"quick import in the grant's EP", epDevAK, epDevSK, "POST", "/v2/cloudimages/quickimport/action", `{"name":"n","type":"ECS","image_url":"b:f","enterprise_project_id":"ep-dev"}`, 200, []any{"body=ep-dev"}},
		{"copy own image within the EP", epDevAK, epDevSK, "POST", "/v1/cloudimages/" + imgDev + "/copy", `{"name":"c","enterprise_project_id":"ep-dev"}`, 200, []any{"image=ep-dev", "body=ep-dev"}},
		{"copy own image out of the EP", epDevAK, epDevSK, "POST", "/v1/cloudimages/" + imgDev + "/copy", `{"name":"c","enterprise_project_id":"ep-fin"}`, 403, []any{"image=ep-dev", "body=other"}},
		{"copy another EP's image into the EP", epDevAK, epDevSK, "POST", "/v1/cloudimages/" + imgFin + "/copy", `{"name":"c","enterprise_project_id":"ep-dev"}`, 403, []any{"image=other", "body=ep-dev"}},
		{"move own image to another EP", epDevAK, epDevSK, "PATCH", "/v2/cloudimages/" + imgDev, `[{"op":"replace","path":"/enterprise_project_id","value":"ep-fin"}]`, 403, []any{"image=ep-dev", "patch=other"}},
		{"rename own image", epDevAK, epDevSK, "PATCH", "/v2/cloudimages/" + imgDev, `[{"op":"replace","path":"/name","value":"x"}]`, 200, []any{"image=ep-dev"}},
		{"quota establishes no EP", epDevAK, epDevSK, "GET", "/v1/cloudimages/quota?enterprise_project_id=ep-dev", "", 403, nil},
		{"a non-EP API ignores EP grants", epDevAK, epDevSK, "GET", "/v2/images?enterprise_project_id=ep-dev", "", 403, nil},

		// "fin": reads anywhere, denied on ep-fin
		{"read an image outside ep-fin", epFinAK, epFinSK, "GET", "/v2/images/" + imgDev, "", 200, []any{"image=other"}},
		{"read an image in ep-fin", epFinAK, epFinSK, "GET", "/v2/images/" + imgFin, "", 403, []any{"image=ep-fin"}},
		{"read an image in ep-fin, claiming another EP", epFinAK, epFinSK, "GET", "/v2/images/" + imgFin + "?enterprise_project_id=ep-dev", "", 403, []any{"image=ep-fin"}},
		{"list ep-fin with an encoded key", epFinAK, epFinSK, "GET", "/v2/cloudimages?enterprise%5Fproject%5Fid=ep-fin", "", 403, []any{"query=ep-fin"}},
		{"list ep-fin with another encoded letter", epFinAK, epFinSK, "GET", "/v2/cloudimages?enterprise_project_i%64=ep-fin", "", 403, []any{"query=ep-fin"}},
		{"list unfiltered may include ep-fin", epFinAK, epFinSK, "GET", "/v2/cloudimages", "", 403, []any{"query=?"}},
		{"list another EP", epFinAK, epFinSK, "GET", "/v2/cloudimages?enterprise_project_id=ep-dev", "", 200, []any{"query=other"}},
		{"native list: not an EP API", epFinAK, epFinSK, "GET", "/v2/images", "", 200, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.ims.Reset()
			var body io.Reader
			var raw []byte
			if tc.body != "" {
				raw = []byte(tc.body)
				body = bytes.NewReader(raw)
			}
			h := signed(t, w.env, tc.method, tc.path, raw, tc.ak, tc.sk, hdr("Content-Type", "application/json"))
			resp, data := w.do(t, tc.method, tc.path, body, h)
			assert.Equal(t, tc.want, resp.StatusCode, string(data))
			line := w.lastDecision(t)
			if tc.eps == nil {
				assert.NotContains(t, line, "enterprise_projects")
			} else {
				assert.Equal(t, tc.eps, line["enterprise_projects"])
			}
			if tc.want >= 400 {
				assert.Empty(t, w.forwarded(), "a denied request never reaches IMS")
			} else {
				assert.Len(t, w.forwarded(), 1)
			}
		})
	}
	assert.Zero(t, w.badLookups.Load(), "every lookup is a GET /v2/cloudimages signed with the lookup credential in its project")
}

// TestEnterpriseProjectLookupCachesAndFailsClosed: lookups are cached (found or not),
// shared, and a failed one leaves the enterprise project unknown.
func TestEnterpriseProjectLookupCachesAndFailsClosed(t *testing.T) {
	w := newEPWorld(t, epConfig)
	get := func(path string) (int, string) {
		h := signed(t, w.env, "GET", path, nil, epDevAK, epDevSK, nil)
		resp, data := w.do(t, "GET", path, nil, h)
		return resp.StatusCode, string(data)
	}
	for range 3 {
		code, _ := get("/v2/images/" + imgDev)
		assert.Equal(t, 200, code)
		code, _ = get("/v2/images/" + imgUnknown)
		assert.Equal(t, 403, code)
	}
	assert.Equal(t, int64(2), w.lookups.Load(), "one lookup per image, then the cache")

	w.failLookup.Store(true)
	code, data := get("/v2/images/" + imgFin)
	assert.Equal(t, 403, code)
	assert.Contains(t, data, "could not be looked up")
	line := w.lastDecision(t)
	assert.Contains(t, line["error"], "IMS answered 500")
	code, _ = get("/v2/images/" + imgFin)
	assert.Equal(t, 403, code)
	assert.Equal(t, int64(4), w.lookups.Load(), "failures are not cached")
	code, _ = get("/v2/images/" + imgDev)
	assert.Equal(t, 200, code, "the earlier answer is still cached")

	m := httptest.NewServer(w.srv.MetricsHandler())
	defer m.Close()
	resp, err := http.Get(m.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, s := range []string{`imsguard_ep_lookups_total{result="found"} 1`, `imsguard_ep_lookups_total{result="not_found"} 1`, `imsguard_ep_lookups_total{result="error"} 2`, `imsguard_ep_lookups_total{result="cache_hit"}`} {
		assert.Contains(t, string(text), s)
	}
}

// TestEnterpriseProjectWithoutLookup: without [enterprise_project_lookup] no single-image
// call is allowed through an enterprise-project grant, and the answer says why.
func TestEnterpriseProjectWithoutLookup(t *testing.T) {
	cfg := strings.Replace(epConfig, `[enterprise_project_lookup]
access_key = "`+lookupAK+`"
secret_key_env = "TEST_LOOKUP_SK"
project_id = "p-guarded"
`, "", 1)
	w := newEPWorld(t, cfg)
	h := signed(t, w.env, "DELETE", "/v2/images/"+imgDev, nil, epDevAK, epDevSK, nil)
	resp, data := w.do(t, "DELETE", "/v2/images/"+imgDev, nil, h)
	assert.Equal(t, 403, resp.StatusCode)
	assert.Contains(t, string(data), "[enterprise_project_lookup] is not configured")
	assert.Zero(t, w.lookups.Load())
	assert.Empty(t, w.forwarded())
}

// TestImageEPLookupBounded: at most max_concurrent lookups are in flight; the rest wait
// queue_wait and give up (the enterprise project stays unknown).
func TestImageEPLookupBounded(t *testing.T) {
	release := make(chan struct{})
	var inflight, peak atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inflight.Add(-1)
		_, _ = rw.Write([]byte(`{"images":[{"id":"` + r.URL.Query().Get("id") + `","enterprise_project_id":"e","__imagetype":"private"}]}`))
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	var mu sync.Mutex
	results := map[string]int{}
	cfg := Defaults().EPLookup
	cfg.AccessKey, cfg.SecretKeyEnv, cfg.MaxConcurrent, cfg.QueueWait = lookupAK, "X", 2, 50*time.Millisecond
	l, err := newImageEPs(u, nil, cfg, lookupSK, func(r string) { mu.Lock(); results[r]++; mu.Unlock() })
	require.NoError(t, err)
	defer l.close()
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.lookup(context.Background(), "img-"+string(rune('a'+i)))
			errs <- err
		}()
	}
	// Four lookups give up after queue_wait while two hold the slots.
	busy := 0
	for busy < 4 {
		if err := <-errs; err != nil {
			assert.ErrorIs(t, err, errLookupBusy)
			busy++
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int64(2), peak.Load())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 4, results["busy"])
	assert.Equal(t, 2, results["found"])
}
