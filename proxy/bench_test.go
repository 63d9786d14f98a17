package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
	"github.com/imsguard/imsguard/rego/authz"
)

// benchWorld is an upstream answering like IMS (a small JSON list), an imsguard proxy and a
// bare httputil.ReverseProxy in front of it, all on 127.0.0.1, so both are measured against
// the same upstream in the same run.
type benchWorld struct {
	upstream *httptest.Server
	guard    string // imsguard base URL
	bare     string // bare reverse proxy base URL
	srv      *Server
	iam      *stub.IAM
	received atomic.Int64 // request body bytes the upstream read
	stop     func()
}

const benchConfig = `
listen = "127.0.0.1:0"
upstream = "{{UPSTREAM}}"
default_principal = "workload"
decision_log = "decisions.jsonl"
[metrics]
listen = ""
[iam]
endpoint = "{{IAM}}"
[[principals]]
name = "workload"
policies = ["policies/readonly.json"]
[[principals]]
name = "admin"
access_keys = ["` + adminAK + `"]
secret_key_env = { ` + adminAK + ` = "TEST_ADMIN_SK" }
users = ["alice"]
policies = ["policies/admin.json"]
`

// upstreamBody is what the benchmark upstream answers: an IMS-sized image list.
var upstreamBody = []byte(`{"images":[{"id":"` + stub.SampleImageID + `","name":"ubuntu-22.04","status":"active","visibility":"private","disk_format":"qcow2","min_disk":40,"size":1073741824}]}`)

func newBenchWorld(tb testing.TB) *benchWorld {
	tb.Helper()
	w := &benchWorld{iam: stub.NewIAM()}
	w.upstream = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.received.Add(n)
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(upstreamBody)
	}))
	iamSrv := httptest.NewServer(w.iam)
	dir := tb.TempDir()
	files := map[string]string{"imsguard.toml": benchConfig, "policies/readonly.json": readOnlyPolicy, "policies/admin.json": adminPolicy}
	r := strings.NewReplacer("{{UPSTREAM}}", w.upstream.URL, "{{IAM}}", iamSrv.URL)
	for name, content := range files {
		files[name] = r.Replace(content)
	}
	writeTree(tb, dir, files)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	w.srv, err = NewServer(context.Background(), Options{
		Loader:   &Loader{ConfigPath: filepath.Join(dir, "imsguard.toml"), Catalog: testCatalog(tb), LookupEnv: testEnv()},
		Listener: ln,
	})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.srv.Run(ctx) }()
	w.guard = "http://" + w.srv.Addr().String()

	// The bare proxy: the same transport settings, Rewrite with SetURL only.
	target, _ := url.Parse(w.upstream.URL)
	bare := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  w.srv.Snapshot().fwd.transport.Clone(),
		BufferPool: newBufferPool(),
	}
	bareSrv := httptest.NewServer(bare)
	w.bare = bareSrv.URL
	w.stop = func() {
		cancel()
		<-done
		bareSrv.Close()
		iamSrv.Close()
		w.upstream.Close()
	}
	tb.Cleanup(w.stop)
	return w
}

// benchClient is a keep-alive client sized for parallel load.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute, DisableCompression: true}}
}

// BenchmarkThroughput measures requests through imsguard and through a bare
// httputil.ReverseProxy to the same upstream, in the same run (compare ns/op; req/s =
// 1e9 / ns/op). The request is GET /v2/images by the default principal: routing, identity,
// decision (cached after the first), forwarding, decision log line to a file.
func BenchmarkThroughput(b *testing.B) {
	w := newBenchWorld(b)
	tok := w.iam.IssueToken(stub.Identity{UserID: "u1", UserName: "alice", DomainName: "acme", Project: "ae-ad-1"}, time.Hour)
	for _, tc := range []struct {
		name, base string
		hdr        http.Header
	}{
		{"bare", w.bare, nil},
		{"imsguard", w.guard, nil},
		{"imsguard-token", w.guard, http.Header{"X-Auth-Token": {tok}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := benchClient()
			defer client.CloseIdleConnections()
			b.SetParallelism(8)
			b.ReportAllocs()
			cpu0 := processCPU()
			defer func() { b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op") }()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", tc.base+"/v2/images?limit=10", nil)
					for k, v := range tc.hdr {
						req.Header[k] = v
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}

// BenchmarkDecide measures the decision alone (no network): routing, identity, engine.
func BenchmarkDecide(b *testing.B) {
	w := newBenchWorld(b)
	s := w.srv.Snapshot()
	tok := w.iam.IssueToken(stub.Identity{UserID: "u1", UserName: "alice", DomainName: "acme", Project: "ae-ad-1"}, time.Hour)
	c, _ := http.NewRequest("GET", "http://example.com/v2/images?limit=10", nil)
	c.Header.Set("X-Project-Id", "p1")
	require.NoError(b, stub.Sign(c, nil, adminAK, adminSK, time.Time{}))
	signedHdr := c.Header
	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"default-principal", func() *http.Request { return httptest.NewRequest("GET", "/v2/images?limit=10", nil) }},
		{"token-cached", func() *http.Request {
			r := httptest.NewRequest("GET", "/v2/images?limit=10", nil)
			r.Header.Set("X-Auth-Token", tok)
			return r
		}},
		{"aksk-verified", func() *http.Request {
			r := httptest.NewRequest("GET", "/v2/images?limit=10", nil)
			r.Header = signedHdr.Clone()
			return r
		}},
		{"conditional-body", func() *http.Request {
			r := httptest.NewRequest("POST", "/v2/cloudimages/quickimport/action", strings.NewReader(`{"name":"x","type":"ECS","image_url":"b:f"}`))
			r.Header.Set("X-Auth-Token", tok)
			return r
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := tc.req()
				rec := &record{}
				rw := httptest.NewRecorder()
				bb := &bodyBuffer{w: rw, r: r, max: s.cat.MaxBody(), deadline: time.Second}
				if d := w.srv.decide(rw, r, s, rec, &forwarding{rec: rec}, bb, &authz.Globals{}, time.Now()); d != nil {
					b.Fatalf("denied: %s", d.msg)
				}
			}
		})
	}
}

// BenchmarkUploadStream streams a 64 MiB image upload (PUT /v2/images/{id}/file, AK/SK with
// UNSIGNED-PAYLOAD) through imsguard; B/op stays flat whatever the size: the body is never
// buffered.
func BenchmarkUploadStream(b *testing.B) {
	w := newBenchWorld(b)
	const size = 64 << 20
	client := benchClient()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("PUT", w.guard+"/v2/images/"+stub.SampleImageID+"/file", io.LimitReader(zeroReader{}, size))
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		if err := stub.Sign(req, nil, adminAK, adminSK, time.Time{}); err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// processCPU is the CPU time (user + system) this process has used: client, proxy and
// upstream together. Per request it is a measure of cost that background load on the
// machine disturbs far less than wall-clock throughput.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cannedTransport answers every request with the upstream body without any network, so
// BenchmarkHandler measures only the proxies' own work.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(upstreamBody)),
		Body: io.NopCloser(strings.NewReader(string(upstreamBody))), Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
}

// BenchmarkHandler compares the CPU cost per request of the imsguard handler and a bare
// httputil.ReverseProxy, in process, with a transport that answers without a network: the
// difference is what imsguard adds (routing, identity, decision, log line, metrics).
func BenchmarkHandler(b *testing.B) {
	w := newBenchWorld(b)
	target, _ := url.Parse(w.upstream.URL)
	bare := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  cannedTransport{},
		BufferPool: newBufferPool(),
	}
	w.srv.Snapshot().fwd.rp.Transport = cannedTransport{}
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"imsguard", w.srv}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "/v2/images?limit=10", nil)
				r.RemoteAddr = "127.0.0.1:40000"
				rec := httptest.NewRecorder()
				tc.h.ServeHTTP(rec, r)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
