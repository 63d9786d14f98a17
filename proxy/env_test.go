package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/proxy/stub"
)

// Test policies shared by the tests.
const (
	readOnlyPolicy = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"]}]}`
	adminPolicy    = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]},{"Effect":"Deny","Action":["ims:dataImages:create"]}]}`
	denyAllPolicy  = `{"Version":"1.1","Statement":[{"Effect":"Deny","Action":["ims:*:*"]}]}`
	testAK         = "AKTESTREADER0001"
	testSK         = "test-secret-key-reader"
	adminAK        = "AKTESTADMIN00001"
	adminSK        = "test-secret-key-admin"
)

// baseConfig is the configuration most tests run with; {{UPSTREAM}} and {{IAM}} are
// replaced by the stand-ins' URLs.
const baseConfig = `
listen = "127.0.0.1:0"
upstream = "{{UPSTREAM}}"
project = "ae-ad-1"
default_principal = "workload"
trusted_proxies = ["10.0.0.0/8"]

[metrics]
listen = ""

[iam]
endpoint = "{{IAM}}"

[timeouts]
upstream_response_header = "2s"

[[principals]]
name = "workload"
policies = ["policies/readonly.json"]

[[principals]]
name = "reader"
access_keys = ["` + testAK + `"]
secret_key_env = { ` + testAK + ` = "TEST_READER_SK" }
users = ["alice"]
policies = ["policies/readonly.json"]

[[principals]]
name = "admin"
access_keys = ["` + adminAK + `"]
secret_key_env = { ` + adminAK + ` = "TEST_ADMIN_SK" }
users = ["acme/root"]
policies = ["policies/admin.json"]
`

// syncBuffer is a goroutine-safe buffer for the decision log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines decodes the JSON lines written so far.
func (s *syncBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

// env is a proxy in front of an IMS and an IAM stand-in.
type env struct {
	ims    *stub.IMS
	iam    *stub.IAM
	up     *httptest.Server
	iamSrv *httptest.Server
	dir    string
	srv    *Server
	url    string
	log    *syncBuffer
	oplog  *syncBuffer
	done   chan error
	cancel context.CancelFunc
}

type envOption func(*Options, *Loader)

func withWatch(debounce time.Duration) envOption {
	return func(o *Options, _ *Loader) { o.Watch, o.Debounce = true, debounce }
}

func withDecider(f DeciderFactory) envOption {
	return func(_ *Options, l *Loader) { l.NewDecider = f }
}

// withSecrets adds environment variables (secret keys) to the test environment.
func withSecrets(vars map[string]string) envOption {
	return func(_ *Options, l *Loader) {
		base := testEnv()
		l.LookupEnv = func(k string) (string, bool) {
			if v, ok := vars[k]; ok {
				return v, true
			}
			return base(k)
		}
	}
}

// writeFiles writes files (relative name → content) under dir, replacing placeholders.
func (e *env) writeFiles(t testing.TB, files map[string]string) {
	t.Helper()
	r := strings.NewReplacer("{{UPSTREAM}}", e.up.URL, "{{IAM}}", e.iamSrv.URL)
	for name, content := range files {
		writeTree(t, e.dir, map[string]string{name: r.Replace(content)})
	}
}

// writeTree writes files (path relative to dir → content) under dir, making folders.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
}

func testEnv() func(string) (string, bool) {
	vals := map[string]string{"TEST_READER_SK": testSK, "TEST_ADMIN_SK": adminSK}
	return func(k string) (string, bool) { v, ok := vals[k]; return v, ok }
}

// testLinters holds the lint rules compiled once for the whole test binary.
var testLinters struct {
	once sync.Once
	l    *Linters
}

// sharedLinters returns Linters shared by the tests, so each proxy does not compile the
// lint rules again.
func sharedLinters(t testing.TB) *Linters {
	testLinters.once.Do(func() { testLinters.l = NewLinters(testCatalog(t)) })
	return testLinters.l
}

func testCatalog(t testing.TB) *actions.Catalog {
	t.Helper()
	cat, err := actions.Embedded()
	require.NoError(t, err)
	return cat
}

// newEnv writes config (and the standard policies unless files overrides them), starts
// the stand-ins and the proxy, and stops everything at the end of the test.
func newEnv(t testing.TB, config string, files map[string]string, opts ...envOption) *env {
	t.Helper()
	e := &env{ims: stub.NewIMS(), iam: stub.NewIAM(), dir: t.TempDir(), log: &syncBuffer{}, oplog: &syncBuffer{}}
	e.up = httptest.NewServer(e.ims)
	t.Cleanup(e.up.Close)
	e.iamSrv = httptest.NewServer(e.iam)
	t.Cleanup(e.iamSrv.Close)
	all := map[string]string{"policies/readonly.json": readOnlyPolicy, "policies/admin.json": adminPolicy, "imsguard.toml": config}
	for k, v := range files {
		all[k] = v
	}
	e.writeFiles(t, all)
	l := &Loader{ConfigPath: filepath.Join(e.dir, "imsguard.toml"), Catalog: testCatalog(t), LookupEnv: testEnv(), Linters: sharedLinters(t)}
	o := Options{Loader: l, DecisionLog: e.log, Listener: listen(t), Log: newJSONLogger(e.oplog)}
	for _, opt := range opts {
		opt(&o, l)
	}
	var err error
	e.srv, err = NewServer(context.Background(), o)
	require.NoError(t, err)
	e.url = "http://" + e.srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- e.srv.Run(ctx) }()
	t.Cleanup(func() { e.stop(t) })
	return e
}

// stop shuts the proxy down once and checks it stopped cleanly.
func (e *env) stop(t testing.TB) {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not stop")
	}
}

// do sends a request through the proxy.
func (e *env) do(t testing.TB, method, path string, body io.Reader, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	require.NoError(t, err)
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

// lastDecision returns the most recent decision log line.
func (e *env) lastDecision(t testing.TB) map[string]any {
	t.Helper()
	lines := e.log.lines(t)
	require.NotEmpty(t, lines)
	return lines[len(lines)-1]
}

// listen opens a loopback listener on a free port.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// oplogLines decodes the operational log.
func oplogLines(t testing.TB, b *syncBuffer) []map[string]any { return b.lines(t) }
