package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/proxy/stub"
)

// The hardening suite (issue 9): the real binary between a recording fake IMS and a fake
// IAM, attacked the way the issue reproduced each bypass.

const (
	hDevAK, hDevSK       = "HDEVEPONLYAK0001", "h-dev-secret"
	hFinAK, hFinSK       = "HFINDENYAK000001", "h-fin-secret"
	hLookupAK, hLookupSK = "HLOOKUPAK0000001", "h-lookup-secret"
	hSideAK, hSideSK     = "HSIDECARAK000001", "h-sidecar-secret"
	hImgDev              = "aaaaaaaa-1111-4111-8111-111111111111"
	hImgFin              = "bbbbbbbb-2222-4222-8222-222222222222"
	hMarker              = "QZXHARDENINGMARKERQZX"
)

// hWorld records what reaches IMS, telling the proxy's own enterprise-project lookups apart
// and checking every SDK-HMAC-SHA256 signature the way IMS would.
type hWorld struct {
	ims      *stub.IMS
	iam      *stub.IAM
	imsSrv   *httptest.Server
	iamSrv   *httptest.Server
	dir      string
	mu       sync.Mutex
	badSigs  []string
	lookups  int
	forwards []stub.Request
}

func newHWorld(t *testing.T) *hWorld {
	t.Helper()
	w := &hWorld{ims: stub.NewIMS(), iam: stub.NewIAM(), dir: t.TempDir()}
	w.ims.AddImage(stub.Image{ID: hImgDev, EnterpriseProjectID: "ep-dev"})
	w.ims.AddImage(stub.Image{ID: hImgFin, EnterpriseProjectID: "ep-fin"})
	secrets := map[string]string{hDevAK: hDevSK, hFinAK: hFinSK, hLookupAK: hLookupSK, hSideAK: hSideSK}
	akRe := regexp.MustCompile(`Access=([A-Za-z0-9]+)`)
	w.imsSrv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Header.Get("X-Sdk-Content-Sha256") != "UNSIGNED-PAYLOAD" {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		ak := ""
		if m := akRe.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			ak = m[1]
			if err := proxy.VerifySDKSignature(r, body, secrets[ak], time.Now(), 15*time.Minute); err != nil {
				w.mu.Lock()
				w.badSigs = append(w.badSigs, r.Method+" "+r.URL.Path+": "+err.Error())
				w.mu.Unlock()
			}
		}
		w.mu.Lock()
		if ak == hLookupAK {
			w.lookups++
		} else {
			w.forwards = append(w.forwards, stub.Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()})
		}
		w.mu.Unlock()
		w.ims.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.imsSrv.Close)
	w.iamSrv = httptest.NewServer(w.iam)
	t.Cleanup(w.iamSrv.Close)
	for name, text := range map[string]string{
		"policies/full.json":     `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]}]}`,
		"policies/readonly.json": `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"]}]}`,
		"policies/deny-all.json": `{"Version":"1.1","Statement":[{"Effect":"Deny","Action":["ims:*:*"]}]}`,
		"policies/copy.json":     `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get","ims:images:copy","ims:images:upload","ims:images:update"]}]}`,
	} {
		w.write(t, name, text)
	}
	return w
}

func (w *hWorld) write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(w.dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// config writes imsguard.toml with extra top-level keys (first) and an extra [lint] table.
func (w *hWorld) config(t *testing.T, lint string, top ...string) string {
	t.Helper()
	if !strings.Contains(strings.Join(top, "\n"), "decision_log =") {
		top = append(top, `decision_log = "decisions.jsonl"`)
	}
	return w.write(t, "imsguard.toml", strings.Join(top, "\n")+`
listen = "127.0.0.1:0"
upstream = "`+w.imsSrv.URL+`"
project = "ae-ad-1"
default_principal = "workload"

[metrics]
listen = "127.0.0.1:0"

[iam]
endpoint = "`+w.iamSrv.URL+`"

[enterprise_project_lookup]
access_key = "`+hLookupAK+`"
secret_key_env = "H_LOOKUP_SK"
project_id = "p-guarded"

[[principals]]
name = "dev"
access_keys = ["`+hDevAK+`"]
secret_key_env = { `+hDevAK+` = "H_DEV_SK" }
  [[principals.attachments]]
  policy = "policies/full.json"
  scope = "enterprise_project"
  enterprise_projects = ["ep-dev"]

[[principals]]
name = "fin"
access_keys = ["`+hFinAK+`"]
secret_key_env = { `+hFinAK+` = "H_FIN_SK" }
users = ["acme/alice"]
policies = ["policies/readonly.json"]
  [[principals.attachments]]
  policy = "policies/deny-all.json"
  scope = "enterprise_project"
  enterprise_projects = ["ep-fin"]

[[principals]]
name = "workload"
policies = ["policies/copy.json"]
sign_upstream = { access_key = "`+hSideAK+`", secret_key_env = "H_SIDE_SK" }
`+lint)
}

func (w *hWorld) reset() {
	w.mu.Lock()
	w.forwards, w.lookups = nil, 0
	w.mu.Unlock()
}

func (w *hWorld) forwarded() []stub.Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]stub.Request(nil), w.forwards...)
}

func startHardened(t *testing.T, w *hWorld, top ...string) *proxyProc {
	t.Helper()
	return startProxy(t, w.config(t, "", top...), "H_DEV_SK="+hDevSK, "H_FIN_SK="+hFinSK, "H_LOOKUP_SK="+hLookupSK, "H_SIDE_SK="+hSideSK)
}

// send makes one request through the proxy, signed with ak/sk when given.
func send(t *testing.T, p *proxyProc, method, target string, body []byte, ak, sk string, h http.Header) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, p.url+target, r)
	require.NoError(t, err)
	for k, vs := range h {
		req.Header[k] = vs
	}
	if req.Header.Get("Content-Type") == "" && body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ak != "" {
		require.NoError(t, stub.Sign(req, body, ak, sk, time.Time{}))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestE2EHardening(t *testing.T) {
	w := newHWorld(t)
	p := startHardened(t, w)
	logPath := filepath.Join(w.dir, "decisions.jsonl")

	t.Run("enterprise-project grant is bound to the image, not the query", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, target, body string
			want                       int
		}{
			{"delete another EP's image", "DELETE", "/v2/images/" + hImgFin + "?enterprise_project_id=ep-dev", "", 403},
			{"patch another EP's image", "PATCH", "/v2/images/" + hImgFin + "?enterprise_project_id=ep-dev", `[{"op":"replace","path":"/name","value":"x"}]`, 403},
			{"export another EP's image", "POST", "/v1/cloudimages/" + hImgFin + "/file?enterprise_project_id=ep-dev", `{"bucket_url":"b:o","file_format":"qcow2"}`, 403},
			{"read another EP's image", "GET", "/v2/images/" + hImgFin + "?enterprise_project_id=ep-dev", "", 403},
			{"delete own EP's image", "DELETE", "/v2/images/" + hImgDev, "", 204},
			{"list the grant's EP", "GET", "/v2/cloudimages?enterprise_project_id=ep-dev", "", 200},
			{"create in the grant's EP", "POST", "/v2/cloudimages/action", `{"name":"n","instance_id":"i","enterprise_project_id":"ep-dev"}`, 200},
			{"create elsewhere, claiming the EP in the query", "POST", "/v2/cloudimages/action?enterprise_project_id=ep-dev", `{"name":"n","instance_id":"i","enterprise_project_id":"ep-fin"}`, 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w.reset()
				var body []byte
				if tc.body != "" {
					body = []byte(tc.body)
				}
				code, data := send(t, p, tc.method, tc.target, body, hDevAK, hDevSK, nil)
				assert.Equal(t, tc.want, code, data)
				if tc.want >= 400 {
					assert.Empty(t, w.forwarded(), "nothing reaches IMS")
				} else {
					assert.Len(t, w.forwarded(), 1)
				}
			})
		}
	})

	t.Run("percent-encoded query keys do not dodge an enterprise-project Deny", func(t *testing.T) {
		for _, target := range []string{
			"/v2/cloudimages?enterprise%5Fproject%5Fid=ep-fin",
			"/v2/cloudimages?enterprise_project_i%64=ep-fin",
			"/v2/cloudimages?Enterprise_Project_Id=ep-fin", // not the parameter: unknown, so every EP Deny applies
		} {
			w.reset()
			code, data := send(t, p, "GET", target, nil, hFinAK, hFinSK, nil)
			assert.Equal(t, 403, code, "%s: %s", target, data)
			assert.Contains(t, data, "ExplicitDeny")
			assert.Empty(t, w.forwarded())
		}
		for _, target := range []string{
			"/v2/cloudimages?enterprise_project_id=ep-dev&enterprise%5Fproject%5Fid=ep-fin",
			"/v2/cloudimages?enterprise_project_id=ep-dev;enterprise_project_id=ep-fin",
		} {
			w.reset()
			// Refused before identity: the SDK signer cannot even sign a ';' query.
			code, data := send(t, p, "GET", target, nil, "", "", nil)
			assert.Equal(t, 400, code, "%s: %s", target, data)
			assert.Empty(t, w.forwarded())
		}
		w.reset()
		code, _ := send(t, p, "GET", "/v2/cloudimages?enterprise%5Fproject%5Fid=ep-dev", nil, hFinAK, hFinSK, nil)
		assert.Equal(t, 200, code)
		got := w.forwarded()
		require.Len(t, got, 1)
		assert.Equal(t, "enterprise_project_id=ep-dev", got[0].RawQuery, "IMS gets the decoded form that was authorized")
	})

	t.Run("underscore spellings of refused and credential headers", func(t *testing.T) {
		for _, h := range []http.Header{
			{"X_HTTP_Method_Override": {"DELETE"}},
			{"X_Auth_Token": {"a-token"}},
			{"X_Project_Id": {"p-other"}},
		} {
			w.reset()
			code, data := send(t, p, "GET", "/v2/images", nil, hFinAK, hFinSK, h)
			assert.Equal(t, 400, code, data)
			assert.Empty(t, w.forwarded())
		}
	})

	t.Run("sidecar signing ignores the workload's project headers", func(t *testing.T) {
		w.reset()
		code, data := send(t, p, "GET", "/v2/cloudimages?name=a+b", nil, "", "", http.Header{"X-Project-Id": {"p-chosen"}, "X-Domain-Id": {"d-chosen"}})
		require.Equal(t, 200, code, data)
		got := w.forwarded()
		require.Len(t, got, 1)
		assert.Empty(t, got[0].Header.Values("X-Project-Id"))
		assert.Empty(t, got[0].Header.Values("X-Domain-Id"))
		assert.Contains(t, got[0].Header.Get("Authorization"), "Access="+hSideAK)
		assert.Equal(t, "name=a%20b", got[0].RawQuery)
	})

	t.Run("IAM user names holding a slash map to no principal", func(t *testing.T) {
		good := w.iam.IssueToken(stub.Identity{UserID: "u1", UserName: "alice", DomainName: "acme", Project: "ae-ad-1"}, time.Hour)
		evil := w.iam.IssueToken(stub.Identity{UserID: "u2", UserName: "acme/alice", DomainName: "evil", Project: "ae-ad-1"}, time.Hour)
		w.reset()
		code, _ := send(t, p, "GET", "/v2/images", nil, "", "", http.Header{"X-Auth-Token": {good}})
		assert.Equal(t, 200, code)
		code, data := send(t, p, "GET", "/v2/images", nil, "", "", http.Header{"X-Auth-Token": {evil}})
		assert.Equal(t, 403, code, data)
		assert.Contains(t, data, "not mapped")
		assert.Len(t, w.forwarded(), 1)
	})

	t.Run("nothing secret in any log line or error body", func(t *testing.T) {
		big := strings.Repeat("A", 500<<10) + hMarker
		reqs := []struct {
			method, target, body string
			h                    http.Header
			ak, sk               string
		}{
			{"POST", "/v2/cloudimages/quickimport/action", `{"type":"` + big + `","image_url":"b:f"}`, nil, hDevAK, hDevSK},
			{"POST", "/v2/cloudimages/quickimport/action", `{"type":"ECS","` + hMarker + `":1,"` + hMarker + `":2}`, nil, hDevAK, hDevSK},
			{"POST", "/v2/cloudimages/action", `{"name":"n","enterprise_project_id":"` + hMarker + `"}`, nil, hDevAK, hDevSK},
			{"GET", "/v2/cloudimages?name=" + hMarker + "&name=" + hMarker, "", nil, hFinAK, hFinSK},
			{"GET", "/v2/cloudimages?" + hMarker + "=1;x=" + hMarker, "", nil, "", ""},
			{"GET", "/v2/cloudimages?enterprise_project_id=" + hMarker, "", nil, hFinAK, hFinSK},
			{"GET", "/v2/images", "", http.Header{"X-Auth-Token": {hMarker}}, "", ""},
			{"GET", "/v2/images", "", http.Header{"Authorization": {"SDK-HMAC-SHA256 " + hMarker + "=1"}}, "", ""},
			{"GET", "/v2/images", "", http.Header{"X-Anything": {hMarker}, "X_Auth_Token": {hMarker}}, "", ""},
		}
		for _, r := range reqs {
			var body []byte
			if r.body != "" {
				body = []byte(r.body)
			}
			_, data := send(t, p, r.method, r.target, body, r.ak, r.sk, r.h)
			assert.NotContains(t, data, hMarker, "%s %s", r.method, r.target[:min(len(r.target), 60)])
		}
		// An absolute-form target with a scheme the proxy refuses: only a raw client sends it.
		raw := rawRequest(t, p, "GET ftp://host/v2/images?secret="+hMarker+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		assert.Contains(t, raw, "403")
		assert.NotContains(t, raw, hMarker)
		assertLogsClean(t, p, logPath, hMarker)
	})

	t.Run("a reload applies the [lint] table", func(t *testing.T) {
		before := metricValue(t, p, "imsguard_reload_failures_total")
		// dev's policy grants ims:*:*; making a warning about it an error must fail the reload.
		w.config(t, "[lint.severity]\nW-MISSING-DEPENDENT-ACTION = \"error\"\n")
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		require.Eventually(t, func() bool { return metricValue(t, p, "imsguard_reload_failures_total") > before }, 15*time.Second, 50*time.Millisecond, p.log())
		// stderr is read by another goroutine: the log line may trail the counter.
		require.Eventually(t, func() bool { return strings.Contains(p.log(), "W-MISSING-DEPENDENT-ACTION") }, 15*time.Second, 20*time.Millisecond, p.log())
		assert.Equal(t, "1", metricValue(t, p, "imsguard_config_generation"), "the last good set stays")
	})
}

// TestE2EHardeningReliability: the real binary keeps its audit trail and IAM safe.
func TestE2EHardeningReliability(t *testing.T) {
	w := newHWorld(t)
	require.NoError(t, os.MkdirAll(filepath.Join(w.dir, "logs"), 0o755))
	p := startHardened(t, w, "decision_log_required = true", `decision_log = "logs/d.jsonl"`)
	logPath := filepath.Join(w.dir, "logs", "d.jsonl")
	lines := func() []map[string]any {
		data, err := os.ReadFile(logPath)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		return decisionLines(t, logPath)
	}
	lineWhere := func(f func(map[string]any) bool) map[string]any {
		var found map[string]any
		require.Eventually(t, func() bool {
			for _, l := range lines() {
				if f(l) {
					found = l
					return true
				}
			}
			return false
		}, 15*time.Second, 20*time.Millisecond)
		return found
	}

	t.Run("OPTIONS * is decided and logged", func(t *testing.T) {
		w.reset()
		raw := rawRequest(t, p, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		assert.Contains(t, raw, " 403 ")
		assert.Contains(t, raw, proxy.HeaderDecisionID)
		l := lineWhere(func(l map[string]any) bool { return l["method"] == "OPTIONS" })
		assert.Equal(t, "no_api", l["reason"])
		assert.Empty(t, w.forwarded())
	})

	t.Run("a client that drops mid-upload is canceled, not IMS unreachable", func(t *testing.T) {
		c, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
		require.NoError(t, err)
		_, err = io.WriteString(c, "PUT /v2/images/"+hImgDev+"/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 67108864\r\n\r\n")
		require.NoError(t, err)
		_, err = c.Write(bytes.Repeat([]byte("q"), 1<<20))
		require.NoError(t, err)
		require.NoError(t, c.Close())
		l := lineWhere(func(l map[string]any) bool { return l["method"] == "PUT" })
		assert.Equal(t, float64(499), l["status"])
		assert.Equal(t, "canceled", l["reason"])
		assert.NotEqual(t, "0", metricValue(t, p, `imsguard_upstream_errors_total{kind="canceled"}`))
		assert.Empty(t, metricValue(t, p, `imsguard_upstream_errors_total{kind="unreachable"}`))
	})

	t.Run("garbage tokens do not become IAM load", func(t *testing.T) {
		before := w.iam.Validations()
		for round := range 2 {
			for i := range 20 {
				code, _ := send(t, p, "GET", "/v2/images", nil, "", "", http.Header{"X-Auth-Token": {"garbage-" + strings.Repeat("x", i+1)}})
				assert.Equal(t, 401, code, "round %d", round)
			}
		}
		assert.Equal(t, int64(20), w.iam.Validations()-before, "one IAM call per distinct invalid token")
		assert.Equal(t, "20", metricValue(t, p, `imsguard_token_validations_total{result="negative_cache_hit"}`))
	})

	t.Run("decision_log_required refuses while the log cannot be written", func(t *testing.T) {
		code, _ := send(t, p, "GET", "/v2/images", nil, "", "", nil)
		require.Equal(t, 200, code)
		// logrotate moves the file away and a folder takes its place: the reopen fails.
		require.NoError(t, os.Rename(logPath, logPath+".1"))
		require.NoError(t, os.Mkdir(logPath, 0o755))
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		require.Eventually(t, func() bool { return metricValue(t, p, "imsguard_decision_log_writable") == "0" }, 15*time.Second, 20*time.Millisecond, p.log())
		w.reset()
		code, data := send(t, p, "GET", "/v2/images", nil, "", "", nil)
		assert.Equal(t, 503, code, data)
		assert.Empty(t, w.forwarded(), "nothing is forwarded without its decision line")
		resp, err := http.Get(p.metricsURL + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 503, resp.StatusCode)

		require.NoError(t, os.Remove(logPath))
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		require.Eventually(t, func() bool { return metricValue(t, p, "imsguard_decision_log_writable") == "1" }, 15*time.Second, 20*time.Millisecond, p.log())
		code, _ = send(t, p, "GET", "/v2/images", nil, "", "", nil)
		assert.Equal(t, 200, code)
		lineWhere(func(l map[string]any) bool { return l["reason"] == "decision_log" })
		assert.NotEqual(t, "0", metricValue(t, p, "imsguard_decision_log_write_failures_total"))
	})
}

// rawRequest writes text to the proxy over TCP and returns the response.
func rawRequest(t *testing.T, p *proxyProc, text string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, text)
	require.NoError(t, err)
	data, _ := io.ReadAll(c)
	return string(data)
}

// assertLogsClean sends a sentinel request, waits until its decision line is in the
// decision log (so every earlier line is too), and checks that neither the decision log
// nor the operational log holds marker.
func assertLogsClean(t *testing.T, p *proxyProc, logPath, marker string) {
	t.Helper()
	resp, err := http.Get(p.url + "/v2/images")
	require.NoError(t, err)
	resp.Body.Close()
	id := resp.Header.Get(proxy.HeaderDecisionID)
	require.NotEmpty(t, id)
	var data []byte
	require.Eventually(t, func() bool {
		data, err = os.ReadFile(logPath)
		return err == nil && bytes.Contains(data, []byte(id))
	}, 10*time.Second, 20*time.Millisecond, "the sentinel's decision line is written")
	assert.NotContains(t, string(data), marker, "decision log")
	assert.NotContains(t, p.log(), marker, "operational log")
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		assert.Less(t, len(sc.Bytes()), 8<<10, "a decision line stays small")
	}
}

// metricValue reads one series (a name, with its labels if any) from the proxy's /metrics
// ("" when absent).
func metricValue(t *testing.T, p *proxyProc, name string) string {
	t.Helper()
	resp, err := http.Get(p.metricsURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}
