package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The proxy benchmark's three policy cases (issue 12): what is attached to the caller of
// GET /v2/images?limit=10, each run by its own imsguard Server in front of the same fake
// IMS as a tuned bare httputil.ReverseProxy. BenchmarkProxy (closed loop) and
// TestLoadTail (open loop) use them; TestPerfCasesAllowed checks in every test run that
// each case still allows every caller it sends.

// perfCallers is the number of distinct callers of the conditional case: X-Forwarded-For
// addresses from 198.18.0.0/15 (the benchmarking range, RFC 2544; only ever a header
// value, never a destination), sent through the trusted proxy 127.0.0.1.
const perfCallers = 5000

// perfCallerAddr is the i-th caller's address: 198.18.0.1 … 198.18.19.250.
func perfCallerAddr(i int) string {
	i %= perfCallers
	return "198.18." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1)
}

// perfCase is one row of the proxy benchmark.
type perfCase struct {
	name     string
	title    string            // as in BENCHMARKS.md
	policies map[string]string // file name under policies/ → content
	xff      bool              // each request comes from the next caller through a trusted proxy
}

// timeWindow is a g:CurrentTime window that holds while the benchmarks run.
const timeWindow = `"DateGreaterThan":{"g:CurrentTime":["2020-01-01T00:00:00Z"]},"DateLessThan":{"g:CurrentTime":["2099-12-31T23:59:59Z"]}`

var perfCases = []perfCase{
	{name: "readonly", title: "read-only, no conditions",
		policies: map[string]string{"readonly.json": readOnlyPolicy}},
	{name: "timewindow", title: "read-only with a time window (`DateLessThan g:CurrentTime`)",
		policies: map[string]string{"window.json": `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"],` +
			`"Condition":{"DateLessThan":{"g:CurrentTime":["2099-12-31T23:59:59Z"]}}}]}`}},
	{name: "conditions-8x8", title: "8 policies × 8 statements, `IpAddress g:SourceIp` and time conditions, 5,000 callers",
		policies: conditionalPolicies(), xff: true},
}

// conditionalPolicies is 8 policies × 8 statements in the shape of least-privilege
// grants: IMS and non-IMS actions, wildcards, most statements bound to source ranges
// (/15 down to /24, so the 5,000 callers fall into different combinations of them) and a
// time window, an explicit Deny of deletes from part of the range in every other policy.
// Every caller is allowed ims:images:list by policy 0, statement 0.
func conditionalPolicies() map[string]string {
	acts := []string{"ims:images:list", "ims:images:get", "ims:images:update", "ims:*:get*", "ecs:servers:list", "evs:volumes:get*", "ims:images:share", "ims:quotas:get"}
	ranges := []string{"198.18.0.0/15", "198.18.0.0/20", "198.18.16.0/22", "198.18.4.0/24", "198.19.0.0/16", "198.18.8.0/21", "198.18.0.0/17", "203.0.113.0/24"}
	out := map[string]string{}
	for p := range 8 {
		var stmts []string
		for s := range 8 {
			effect, action := "Allow", acts[(p+s)%len(acts)]
			cond := `"IpAddress":{"g:SourceIp":["` + ranges[(p*3+s)%len(ranges)] + `"]},` + timeWindow
			switch {
			case s == 7 && p%2 == 1:
				effect, action = "Deny", "ims:images:delete"
				cond = `"IpAddress":{"g:SourceIp":["198.18.12.0/22"]}`
			case s == 6:
				cond = timeWindow // time only
			}
			stmts = append(stmts, fmt.Sprintf(`{"Effect":%q,"Action":[%q,"vpc:ports:get"],"Condition":{%s}}`, effect, action, cond))
		}
		out[fmt.Sprintf("p%d.json", p)] = `{"Version":"1.1","Statement":[` + strings.Join(stmts, ",") + `]}`
	}
	// policy 0, statement 0: ims:images:list from 198.18.0.0/15 in the window.
	return out
}

// perfWorld is the benchmark setup: a fake IMS, a tuned bare reverse proxy and one
// imsguard Server per case, all on 127.0.0.1 in this process.
type perfWorld struct {
	upstream *httptest.Server
	bare     string
	guards   map[string]*Server // case name → server
	urls     map[string]string  // case name (or "bare") → base URL
}

// perfTarget is a proxy the load is sent to: the bare proxy or the server of a case.
type perfTarget struct {
	name, url string
}

// bareMaxIdlePerHost is the bare proxy's idle upstream connections per host: above any
// client concurrency used here, so the baseline is not throttled by reconnecting (the
// default of 2 would be).
const bareMaxIdlePerHost = 256

// newBareProxy is the baseline: httputil.ReverseProxy with Rewrite (SetURL and
// SetXForwarded), a buffer pool and a transport keeping enough idle connections.
func newBareProxy(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: bareMaxIdlePerHost,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		BufferPool: newBufferPool(),
	}
}

// perfConfig is the configuration of a case's server: the case's policies attached to the
// default principal, the decision log to a file, 127.0.0.1 trusted for X-Forwarded-For.
func perfConfig(c perfCase, upstream string, extra string) string {
	var files []string
	for name := range c.policies {
		files = append(files, strconv.Quote("policies/"+name))
	}
	return `listen = "127.0.0.1:0"
upstream = "` + upstream + `"
default_principal = "workload"
decision_log = "decisions.jsonl"
trusted_proxies = ["127.0.0.1/32"]
[metrics]
listen = ""
` + extra + `
[[principals]]
name = "workload"
policies = [` + strings.Join(files, ", ") + `]
`
}

// startCaseServer writes the case's configuration (extra: more TOML tables) and policies
// to a fresh folder and starts an imsguard Server for it, deciding with decider (nil: the
// Rego engine); it stops at the end of the test.
func startCaseServer(tb testing.TB, c perfCase, upstream, extra string, decider DeciderFactory) *Server {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{"imsguard.toml": perfConfig(c, upstream, extra)}
	for name, content := range c.policies {
		files["policies/"+name] = content
	}
	writeTree(tb, dir, files)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	srv, err := NewServer(context.Background(), Options{
		Loader:   &Loader{ConfigPath: filepath.Join(dir, "imsguard.toml"), Catalog: testCatalog(tb), LookupEnv: testEnv(), Linters: sharedLinters(tb), NewDecider: decider},
		Listener: ln,
	})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
	})
	return srv
}

// newPerfWorld starts the fake IMS, the bare proxy and a server per case.
func newPerfWorld(tb testing.TB, extra string) *perfWorld {
	tb.Helper()
	w := &perfWorld{guards: map[string]*Server{}, urls: map[string]string{}}
	w.upstream = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(upstreamBody)
	}))
	tb.Cleanup(w.upstream.Close)
	target, _ := url.Parse(w.upstream.URL)
	bareSrv := httptest.NewServer(newBareProxy(target))
	tb.Cleanup(bareSrv.Close)
	w.urls["bare"] = bareSrv.URL
	for _, c := range perfCases {
		srv := startCaseServer(tb, c, w.upstream.URL, extra, nil)
		w.guards[c.name] = srv
		w.urls[c.name] = "http://" + srv.Addr().String()
	}
	return w
}

// perfRequester sends the requests of one case: GET /v2/images?limit=10, from the next of
// perfCallers callers when the case says so. Safe for concurrent use.
type perfRequester struct {
	client *http.Client
	xff    bool
	next   atomic.Int64
}

func newPerfRequester(c perfCase) *perfRequester {
	return &perfRequester{client: benchClient(), xff: c.xff}
}

// do sends one request to base and drains the answer; anything but 200 is an error.
func (p *perfRequester) do(base string) error {
	req, err := http.NewRequest("GET", base+"/v2/images?limit=10", nil)
	if err != nil {
		return err
	}
	if p.xff {
		req.Header["X-Forwarded-For"] = []string{perfCallerAddr(int(p.next.Add(1)))}
	}
	return drainOK(p.client.Do(req))
}

func (p *perfRequester) close() { p.client.CloseIdleConnections() }

// TestPerfCasesAllowed keeps the benchmark cases honest in every test run: each case's
// server allows its request for every caller it sends (so no row measures fast 403s), and
// the decision lines say which statements allowed it.
func TestPerfCasesAllowed(t *testing.T) {
	for _, c := range perfCases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, perfConfig(c, "{{UPSTREAM}}", ""), prefixed("policies/", c.policies))
			// Conditional case: every 9th caller (556 of them, every /24 of the range);
			// the decision depends only on which ranges an address falls in.
			callers := []int{0}
			if c.xff {
				callers = callers[:0]
				for i := 0; i < perfCallers; i += 9 {
					callers = append(callers, i)
				}
				callers = append(callers, perfCallers-1)
			}
			client := benchClient()
			defer client.CloseIdleConnections()
			for _, i := range callers {
				req, err := http.NewRequest("GET", e.url+"/v2/images?limit=10", nil)
				require.NoError(t, err)
				if c.xff {
					req.Header.Set("X-Forwarded-For", perfCallerAddr(i))
				}
				resp, err := client.Do(req)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, 200, resp.StatusCode, "caller %s", perfCallerAddr(i))
			}
			lines := e.log.lines(t)
			require.Len(t, lines, len(callers))
			last := lines[len(lines)-1]
			require.Equal(t, "Allow", last["decision"])
			if c.xff {
				require.Equal(t, perfCallerAddr(perfCallers-1), last["source_ip"])
				require.Contains(t, last["matched"], "ims:images:list=policies/p0.json#0:Allow")
			}
		})
	}
}

// prefixed returns files with prefix put in front of every name.
func prefixed(prefix string, files map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[prefix+k] = v
	}
	return out
}
