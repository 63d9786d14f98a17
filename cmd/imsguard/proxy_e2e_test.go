package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ims/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/proxy/stub"
)

const (
	e2eReaderAK = "E2EREADERAK00001"
	e2eReaderSK = "e2e-reader-secret"
	e2eAdminAK  = "E2EADMINAK000001"
	e2eAdminSK  = "e2e-admin-secret"
)

// e2eWorld is a fake IMS (which verifies AK/SK signatures the way IMS does and records
// what reaches it) and a fake IAM, for a real imsguard binary to sit between.
type e2eWorld struct {
	ims      *stub.IMS
	iam      *stub.IAM
	imsSrv   *httptest.Server
	iamSrv   *httptest.Server
	badSigs  atomic.Int64
	goodSigs atomic.Int64
	dir      string
}

func newE2EWorld(t *testing.T) *e2eWorld {
	t.Helper()
	w := &e2eWorld{ims: stub.NewIMS(), iam: stub.NewIAM(), dir: t.TempDir()}
	secrets := map[string]string{e2eReaderAK: e2eReaderSK, e2eAdminAK: e2eAdminSK}
	w.imsSrv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Authorization"), "SDK-HMAC-SHA256 ") && r.Header.Get("X-Sdk-Content-Sha256") != "UNSIGNED-PAYLOAD" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			ak := regexp.MustCompile(`Access=([A-Za-z0-9]+)`).FindStringSubmatch(r.Header.Get("Authorization"))
			if len(ak) == 2 && proxy.VerifySDKSignature(r, body, secrets[ak[1]], time.Now(), 15*time.Minute) == nil {
				w.goodSigs.Add(1)
			} else {
				w.badSigs.Add(1)
			}
		}
		w.ims.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.imsSrv.Close)
	w.iamSrv = httptest.NewServer(w.iam)
	t.Cleanup(w.iamSrv.Close)
	w.iam.AddUser("alice-password", stub.Identity{UserID: "u-alice", UserName: "alice", DomainID: "d-acme", DomainName: "acme", ProjectID: "p-1", Project: "ae-ad-1"})
	files := map[string]string{
		"policies/readonly.json": `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"]}]}`,
		"policies/admin.json":    `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]},{"Effect":"Deny","Action":["ims:dataImages:create"]}]}`,
	}
	for name, content := range files {
		w.write(t, name, content)
	}
	return w
}

func (w *e2eWorld) write(t *testing.T, name, content string) string {
	t.Helper()
	return writeFile(t, w.dir, name, content, 0o600)
}

// config writes an imsguard.toml for mode.
func (w *e2eWorld) config(t *testing.T, mode string) string {
	t.Helper()
	return w.write(t, "imsguard.toml", `listen = "127.0.0.1:0"
upstream = "`+w.imsSrv.URL+`"
mode = "`+mode+`"
project = "ae-ad-1"
decision_log = "decisions.jsonl"

[metrics]
listen = "127.0.0.1:0"

[iam]
endpoint = "`+w.iamSrv.URL+`"

[[principals]]
name = "reader"
users = ["alice"]
access_keys = ["`+e2eReaderAK+`"]
secret_key_env = { `+e2eReaderAK+` = "E2E_READER_SK" }
policies = ["policies/readonly.json"]

[[principals]]
name = "admin"
access_keys = ["`+e2eAdminAK+`"]
secret_key_env = { `+e2eAdminAK+` = "E2E_ADMIN_SK" }
policies = ["policies/admin.json"]
`)
}

// proxyProc is a running imsguard proxy binary.
type proxyProc struct {
	cmd        *exec.Cmd
	url        string
	metricsURL string
	mu         sync.Mutex
	stderr     strings.Builder
	done       chan error
}

var servingRe = regexp.MustCompile(`msg="imsguard proxy serving" listen=(\S+) .* metrics=(\S+)`)

// startProxy starts the binary on cfg with the reader and admin secrets (and env, as
// NAME=value) in its environment and waits until it serves.
func startProxy(t *testing.T, cfg string, env ...string) *proxyProc {
	t.Helper()
	p := &proxyProc{cmd: exec.Command(binPath, "proxy", "--config", cfg), done: make(chan error, 1)}
	p.cmd.Env = append(append(os.Environ(), "E2E_READER_SK="+e2eReaderSK, "E2E_ADMIN_SK="+e2eAdminSK), env...)
	p.cmd.Stdout = io.Discard
	stderr, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	ready := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := servingRe.FindStringSubmatch(sc.Text()); m != nil {
				ready <- [2]string{m[1], m[2]}
			}
		}
		p.done <- p.cmd.Wait()
	}()
	select {
	case addrs := <-ready:
		p.url, p.metricsURL = "http://"+addrs[0], "http://"+addrs[1]
	case err := <-p.done:
		t.Fatalf("proxy exited: %v\n%s", err, p.log())
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("proxy did not start:\n%s", p.log())
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *proxyProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// stop sends SIGTERM and expects a clean exit.
func (p *proxyProc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil || p.done == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		assert.NoError(t, err, p.log())
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Error("proxy did not stop on SIGTERM")
	}
	p.done = nil
}

func decisionLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		out = append(out, m)
	}
	return out
}

func statusOf(err error) int {
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return ue.Actual
	}
	return 0
}

func TestE2EProxyWithRealClients(t *testing.T) {
	w := newE2EWorld(t)
	p := startProxy(t, w.config(t, "enforce"))
	w.iam.SetImageEndpoint(p.url + "/")
	ctx := context.Background()

	// gophercloud: password auth against IAM, then the image service (the proxy) with the token.
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: w.iamSrv.URL + "/v3/", Username: "alice", Password: "alice-password", DomainName: "acme", TenantName: "ae-ad-1",
	})
	require.NoError(t, err)
	glance, err := openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: "ae-ad-1"})
	require.NoError(t, err)
	pages, err := images.List(glance, images.ListOpts{Limit: 5, Visibility: images.ImageVisibilityPrivate}).AllPages(ctx)
	require.NoError(t, err)
	list, err := images.ExtractImages(pages)
	require.NoError(t, err)
	require.NotEmpty(t, list)
	img, err := images.Get(ctx, glance, stub.SampleImageID).Extract()
	require.NoError(t, err)
	assert.Equal(t, stub.SampleImageID, img.ID)
	err = images.Delete(ctx, glance, stub.SampleImageID).ExtractErr()
	assert.Equal(t, 403, statusOf(err), "%v", err)
	err = imagedata.Upload(ctx, glance, stub.SampleImageID, strings.NewReader("qcow2 bytes")).ExtractErr()
	assert.Equal(t, 403, statusOf(err), "%v", err)

	got := w.ims.Requests()
	var seen []string
	for _, r := range got {
		seen = append(seen, r.Method+" "+r.Path)
		assert.NotEmpty(t, r.Header.Get("X-Auth-Token"), "token forwarded unchanged")
	}
	assert.Equal(t, []string{"GET /", "GET /v2/images", "GET /v2/images/" + stub.SampleImageID}, seen, "allowed calls arrive, denied never do")
	assert.Equal(t, "limit=5&visibility=private", got[1].RawQuery)

	// Huawei Cloud SDK v3 IMS client with AK/SK, endpoint overridden to the proxy.
	w.ims.Reset()
	reader, admin := imsSDK(t, p, e2eReaderAK, e2eReaderSK), imsSDK(t, p, e2eAdminAK, e2eAdminSK)
	limit := int32(3)
	_, err = reader.ListImages(&model.ListImagesRequest{Limit: &limit})
	require.NoError(t, err)
	assertSDKDecisions(t, p, reader, admin)

	seen = nil
	for _, r := range w.ims.Requests() {
		seen = append(seen, r.Method+" "+r.Path)
	}
	assert.Equal(t, []string{"GET /v2/cloudimages", "POST /v2/cloudimages/quickimport/action"}, seen)
	assert.EqualValues(t, 2, w.goodSigs.Load(), "IMS verified the forwarded signatures: requests arrived unchanged")
	assert.Zero(t, w.badSigs.Load())

	// Metrics and health on the separate listener.
	resp, err := http.Get(p.metricsURL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `imsguard_decisions_total{action="ims:images:delete",api="glance_delete_image",result="implicit_deny"} 2`)
	assert.Contains(t, string(body), `imsguard_token_validations_total{result="cache_hit"}`)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(p.metricsURL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode, path)
	}

	// logrotate without copytruncate, then SIGHUP with unchanged files: the decision log is
	// reopened (created again) and the generation kept.
	logPath := filepath.Join(w.dir, "decisions.jsonl")
	require.NoError(t, os.Rename(logPath, logPath+".1"))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(p.log(), "nothing reloaded") }, 20*time.Second, 20*time.Millisecond, p.log())
	assert.NotContains(t, p.log(), "msg=reloaded")
	require.Eventually(t, func() bool { _, err := os.Stat(logPath); return err == nil }, 20*time.Second, 20*time.Millisecond, p.log())
	assert.Contains(t, p.log(), `msg="decision log file reopened"`)

	// SIGHUP reloads: the reader may now delete.
	w.write(t, "policies/readonly.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get","ims:images:delete"]}]}`)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(p.log(), "generation=2") }, 20*time.Second, 20*time.Millisecond, p.log())
	_, err = reader.GlanceDeleteImage(&model.GlanceDeleteImageRequest{ImageId: stub.SampleImageID})
	require.NoError(t, err)

	p.stop(t)
	rotated, _ := os.ReadFile(logPath + ".1")
	current, _ := os.ReadFile(logPath)
	raw := append(rotated, current...)
	rawPath := w.write(t, "all-decisions.jsonl", string(raw))
	lines := decisionLines(t, rawPath)
	assert.Len(t, lines, 11, "one line per request, across the rotation")
	for _, secret := range []string{provider.TokenID, e2eReaderSK, e2eAdminSK, "Signature=", "alice-password", "visibility=private"} {
		assert.NotContains(t, string(raw), secret)
	}
}

func TestE2EAuditMode(t *testing.T) {
	w := newE2EWorld(t)
	p := startProxy(t, w.config(t, "audit"))
	req, _ := http.NewRequest("DELETE", p.url+"/v2/images/"+stub.SampleImageID, nil)
	require.NoError(t, stub.Sign(req, nil, e2eReaderAK, e2eReaderSK, time.Time{}))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 204, resp.StatusCode, "audit mode forwards")
	require.Len(t, w.ims.Requests(), 1)
	p.stop(t)
	line := decisionLines(t, filepath.Join(w.dir, "decisions.jsonl"))[0]
	assert.Equal(t, "ImplicitDeny", line["decision"], "the log says what enforce would have done")
	assert.Equal(t, false, line["enforced"])
	assert.Equal(t, true, line["forwarded"])
	assert.Equal(t, "reader", line["principal"])
}

func TestE2EValidate(t *testing.T) {
	t.Setenv("E2E_READER_SK", e2eReaderSK)
	t.Setenv("E2E_ADMIN_SK", e2eAdminSK)
	w := newE2EWorld(t)
	cfg := w.config(t, "enforce")
	out, stderr, code := runBinary(t, "", "validate", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "valid")
	assert.Contains(t, out, "reader: 1 policy document(s); 1 access key(s), 1 verified, 1 user(s)")

	out, stderr, code = runBinary(t, "", "validate")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "imsguard.toml (embedded): valid")
	assert.Contains(t, out, "default principal  workload")

	data, _ := os.ReadFile(cfg)
	bad := w.write(t, "bad.toml", strings.Replace(string(data), "[iam]\n", "[iam]\ntimeout_ms = 5\n", 1))
	_, stderr, code = runBinary(t, "", "validate", "--config", bad)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `^imsguard: config .*bad.toml:11: iam.timeout_ms: invalid configuration: unknown key`, stderr)
	assert.Equal(t, 1, strings.Count(stderr, "\n"))

	w.write(t, "policies/readonly.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"]},]}`)
	_, stderr, code = runBinary(t, "", "validate", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "readonly.json:1:")
	assert.Equal(t, 1, strings.Count(stderr, "\n"))

	// The Rego linter runs too: a statement key IAM rejects blocks the configuration.
	w.write(t, "policies/readonly.json", `{"Version":"1.1","Statement":[{"Sid":"x","Effect":"Allow","Action":["ims:images:list"]},{"Effect":"Allow","Action":["ims:images"]}]}`)
	_, stderr, code = runBinary(t, "", "validate", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "E-UNKNOWN-KEY")
	assert.Contains(t, stderr, "readonly.json:1:")
	assert.Equal(t, 1, strings.Count(stderr, "\n"))

	_, stderr, code = runBinary(t, "", "validate", "--config", filepath.Join(w.dir, "missing.toml"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no such file")
}

func TestE2EDemo(t *testing.T) {
	start := time.Now()
	out, stderr, code := runBinary(t, "", "demo")
	require.Equal(t, 0, code, stderr)
	assert.Less(t, time.Since(start), time.Minute)
	assert.Contains(t, out, "200 allowed")
	assert.Contains(t, out, "403 denied")
	assert.Contains(t, out, "IMS received 3 of 10 requests")
	assert.NotContains(t, out, "demo-reader-secret")
}
