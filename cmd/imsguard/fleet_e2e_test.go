package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	imsv2 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ims/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/ims/v2/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

// The fleet suite (issue 13): the real binary with opa_config between the fake IMS and an
// OPA control plane (fleettest: a bundle server with ETag, a decision-log collector that
// decodes the gzip batches, a status receiver), bundles built and signed by the real
// binary, real SDK-signed calls.

const (
	fleetResource  = "/bundles/imsguard.tar.gz"
	fleetKeyID     = "fleet"
	fleetQuerySecr = "QZXQUERYVALUEQZX"
)

// fleetWorld is the e2e world plus a control plane and a signing key.
type fleetWorld struct {
	*e2eWorld
	cp        *fleettest.Server
	priv, pub string
	persist   string
}

func newFleetWorld(t *testing.T) *fleetWorld {
	t.Helper()
	fw := &fleetWorld{e2eWorld: newE2EWorld(t), cp: fleettest.New()}
	t.Cleanup(fw.cp.Close)
	fw.priv, fw.pub = writeKeyPair(t, fw.dir, "fleet")
	fw.persist = filepath.Join(fw.dir, "opa-persist")
	return fw
}

// bundle builds revision rev with the real binary from a source configuration whose reader
// holds readerPolicy, signed with the fleet key.
func (fw *fleetWorld) bundle(t *testing.T, rev, readerPolicy string) []byte {
	t.Helper()
	dir := filepath.Join(fw.dir, "src-"+rev)
	writeTree(t, dir, map[string]string{
		"imsguard.toml": `upstream = "https://ims.example.com"
[[principals]]
name = "reader"
users = ["alice"]
access_keys = ["` + e2eReaderAK + `"]
secret_key_env = { ` + e2eReaderAK + ` = "E2E_READER_SK" }
policies = ["policies/reader.json"]

[[principals]]
name = "admin"
access_keys = ["` + e2eAdminAK + `"]
secret_key_env = { ` + e2eAdminAK + ` = "E2E_ADMIN_SK" }
policies = ["policies/admin.json"]
`,
		"policies/reader.json": readerPolicy,
		"policies/admin.json":  `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:*:*"]},{"Effect":"Deny","Action":["ims:dataImages:create"]}]}`,
	})
	out := filepath.Join(dir, "bundle.tar.gz")
	_, stderr, code := runBinary(t, "", "bundle", "build", "--config", filepath.Join(dir, "imsguard.toml"), "-o", out,
		"--revision", rev, "--signing-key", fw.priv, "--signing-key-id", fleetKeyID)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	return data
}

// sidecar writes the sidecar's imsguard.toml (opa_config, a [lint] stricter than the
// default: W-EFFECT-CASE is an error) and opa.yaml.
func (fw *fleetWorld) sidecar(t *testing.T) string {
	t.Helper()
	pub, err := os.ReadFile(fw.pub)
	require.NoError(t, err)
	key := "      " + strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n      ")
	fw.write(t, "opa.yaml", `services:
  control-plane:
    url: `+fw.cp.URL+`
labels:
  cluster: e2e
bundles:
  imsguard:
    service: control-plane
    resource: `+fleetResource+`
    persist: true
    polling: {min_delay_seconds: 1, max_delay_seconds: 1}
    signing:
      keyid: `+fleetKeyID+`
keys:
  `+fleetKeyID+`:
    algorithm: RS256
    key: |
`+key+`
decision_logs:
  service: control-plane
  reporting: {min_delay_seconds: 1, max_delay_seconds: 1}
status:
  service: control-plane
persistence_directory: `+fw.persist+`
`)
	return fw.write(t, "imsguard.toml", `listen = "127.0.0.1:0"
upstream = "`+fw.imsSrv.URL+`"
project = "ae-ad-1"
decision_log = "decisions.jsonl"
opa_config = "opa.yaml"

[metrics]
listen = "127.0.0.1:0"

[iam]
endpoint = "`+fw.iamSrv.URL+`"

[lint.severity]
W-EFFECT-CASE = "error"
`)
}

const (
	readerListGet    = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"]}]}`
	readerMayDelete  = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get","ims:images:delete"]}]}`
	readerEffectCase = `{"Version":"1.1","Statement":[{"Effect":"allow","Action":["ims:images:list","ims:images:get","ims:images:delete"]}]}`
)

func readyz(t *testing.T, p *proxyProc) int {
	t.Helper()
	resp, err := http.Get(p.metricsURL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// imsSDK is the Huawei Cloud SDK's IMS client pointed at the proxy.
func imsSDK(t *testing.T, p *proxyProc, ak, sk string) *imsv2.ImsClient {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk(ak).WithSk(sk).WithProjectId("p-1").SafeBuild()
	require.NoError(t, err)
	hc, err := imsv2.ImsClientBuilder().WithEndpoints([]string{p.url}).WithCredential(cred).
		WithHttpConfig(config.DefaultHttpConfig().WithTimeout(10 * time.Second)).SafeBuild()
	require.NoError(t, err)
	return imsv2.NewImsClient(hc)
}

// assertSDKDecisions checks the SDK calls the e2e policies decide alike: the reader may not
// delete an image, the admin may quick-import an ECS image but not a data image (its
// conditional action is denied), and a wrong secret key is refused.
func assertSDKDecisions(t *testing.T, p *proxyProc, reader, admin *imsv2.ImsClient) {
	t.Helper()
	_, err := reader.GlanceDeleteImage(&model.GlanceDeleteImageRequest{ImageId: stub.SampleImageID})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "IMSGUARD.0403")
	ecs, data := model.GetQuickImportImageByFileRequestBodyTypeEnum().ECS, model.GetQuickImportImageByFileRequestBodyTypeEnum().DATA_IMAGE
	quick := func(typ model.QuickImportImageByFileRequestBodyType) error {
		_, err := admin.ImportImageQuick(&model.ImportImageQuickRequest{Body: &model.QuickImportImageByFileRequestBody{
			Name: "img", OsVersion: "Ubuntu 22.04 server 64bit", ImageUrl: "bucket:img.qcow2", MinDisk: 40, Type: &typ}})
		return err
	}
	require.NoError(t, quick(ecs))
	err = quick(data)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ims:dataImages:create")
	_, err = imsSDK(t, p, e2eAdminAK, "wrong-secret").ListImages(&model.ListImagesRequest{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "IMSGUARD.0401")
}

// revisionsIn returns the bundle revisions of the decision lines in the log, by decision id.
func revisionsIn(lines []map[string]any) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		rev := ""
		if b, ok := l["bundles"].(map[string]any); ok {
			rev, _ = b["imsguard"].(map[string]any)["revision"].(string)
		}
		out[l["decision_id"].(string)] = rev
	}
	return out
}

func TestE2EFleet(t *testing.T) {
	fw := newFleetWorld(t)
	otlp := &stub.OTLP{}
	col := httptest.NewServer(otlp)
	defer col.Close()
	cfg := fw.sidecar(t)
	r1 := fw.bundle(t, "r1", readerListGet)
	r3 := fw.bundle(t, "r3", readerEffectCase) // passes the default lint, not the sidecar's
	r4 := fw.bundle(t, "r4", readerMayDelete)
	logPath := filepath.Join(fw.dir, "decisions.jsonl")

	// No bundle on the server yet: not ready, every request refused with a 503 in the IMS
	// error shape, nothing reaches IMS.
	p := startProxy(t, cfg, "OTEL_EXPORTER_OTLP_ENDPOINT="+col.URL, "OTEL_BSP_SCHEDULE_DELAY=100")
	reader, admin := imsSDK(t, p, e2eReaderAK, e2eReaderSK), imsSDK(t, p, e2eAdminAK, e2eAdminSK)
	assert.Equal(t, 503, readyz(t, p))
	limit := int32(3)
	_, err := reader.ListImages(&model.ListImagesRequest{Limit: &limit})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "IMSGUARD.0503")
	assert.Empty(t, fw.ims.Requests())

	// r1 arrives: ready; the SDK's calls are allowed and denied as r1 says.
	fw.cp.SetBundle(fleetResource, r1)
	require.Eventually(t, func() bool { return readyz(t, p) == 200 }, 30*time.Second, 50*time.Millisecond, p.log())
	name := fleetQuerySecr
	_, err = reader.ListImages(&model.ListImagesRequest{Limit: &limit, Name: &name})
	require.NoError(t, err)
	assertSDKDecisions(t, p, reader, admin)
	tok := fw.iam.IssueToken(stub.Identity{UserID: "u-alice", UserName: "alice", DomainID: "d-acme", DomainName: "acme", ProjectID: "p-1", Project: "ae-ad-1"}, time.Hour)
	req, _ := http.NewRequest("GET", p.url+"/v2/cloudimages?name="+fleetQuerySecr, nil)
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "alice's token: reader")
	tracedID := resp.Header.Get("X-Imsguard-Decision-Id")
	assert.EqualValues(t, 2, fw.goodSigs.Load(), "IMS verified the forwarded signatures (list, quick import)")
	assert.Zero(t, fw.badSigs.Load())

	// The bundle server is polled with If-None-Match and answers 304.
	require.Eventually(t, func() bool { _, nm, _ := fw.cp.Stats(); return nm >= 1 }, 30*time.Second, 50*time.Millisecond)
	_, _, inm := fw.cp.Stats()
	assert.Contains(t, inm, fleettest.ETag(r1))

	failed := func() string { return metricValue(t, p, `imsguard_bundle_activations_total{result="failed"}`) }
	refused := func() string { return metricValue(t, p, `imsguard_bundle_activations_total{result="refused"}`) }
	bundleStatus := func() map[string]any { return fleettest.BundleStatus(fw.cp.LastStatus(), "imsguard") }
	deleteDenied := func() {
		t.Helper()
		_, err := reader.GlanceDeleteImage(&model.GlanceDeleteImageRequest{ImageId: stub.SampleImageID})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "IMSGUARD.0403")
	}

	// A tampered r4 (signed, then changed on the server: the reader may delete) fails
	// OPA's signature check: never active, counted, reported; r1 keeps deciding.
	tampered := tamperBundle(t, r4, `ims:images:delete`, `ims:*:*`)
	fw.cp.SetBundle(fleetResource, tampered)
	require.Eventually(t, func() bool {
		return failed() != "0" && strings.Contains(fmt.Sprint(bundleStatus()["message"]), "digest mismatch")
	}, 30*time.Second, 50*time.Millisecond, "status %v\n%s", fw.cp.LastStatus(), p.log())
	assert.Equal(t, "r1", bundleStatus()["active_revision"])
	deleteDenied()

	// r3 is signed but fails the sidecar's [lint]: refused, counted, reported with the
	// finding's position; r1 keeps deciding.
	fw.cp.SetBundle(fleetResource, r3)
	require.Eventually(t, func() bool {
		return refused() != "0" && strings.Contains(fmt.Sprint(bundleStatus()["message"]), `refused bundle revision "r3"`)
	}, 30*time.Second, 50*time.Millisecond, "status %v", fw.cp.LastStatus())
	assert.Contains(t, bundleStatus()["message"], "policies/reader.json:1:41: W-EFFECT-CASE")
	assert.Equal(t, "r1", bundleStatus()["active_revision"])
	deleteDenied()
	assert.Contains(t, p.log(), `msg="bundle refused; keeping the set in use" revision=r3 serving=r1`)

	// r4 replaces r1 under load: not one request fails.
	var ok, bad atomic.Int64
	var mu sync.Mutex
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", p.url+"/v2/cloudimages?limit=2", nil)
				if err := stub.Sign(req, nil, e2eReaderAK, e2eReaderSK, time.Time{}); err != nil {
					panic(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					bad.Add(1)
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
					mu.Lock()
					failures = append(failures, resp.Status)
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	// Load before the swap, the swap, and load after it: each waits on the clients' count
	// of answered requests, so the swap happens under load however fast the machine is.
	answered := func() int64 { return ok.Load() + bad.Load() }
	require.Eventually(t, func() bool { return answered() >= 30 }, 30*time.Second, 10*time.Millisecond, "the load never started")
	fw.cp.SetBundle(fleetResource, r4)
	require.Eventually(t, func() bool { return bundleStatus()["active_revision"] == "r4" }, 30*time.Second, 50*time.Millisecond)
	after := answered()
	require.Eventually(t, func() bool { return answered() >= after+30 }, 30*time.Second, 10*time.Millisecond, "no load after the swap")
	close(stop)
	wg.Wait()
	assert.Zero(t, bad.Load(), "failed requests across the swap: %v", failures)
	assert.Greater(t, ok.Load(), int64(50), "the load was real")
	_, err = reader.GlanceDeleteImage(&model.GlanceDeleteImageRequest{ImageId: stub.SampleImageID})
	require.NoError(t, err, "r4 decides: the reader may delete")
	require.Eventually(t, func() bool {
		plugins, _ := fw.cp.LastStatus()["plugins"].(map[string]any)
		im, _ := plugins["imsguard"].(map[string]any)
		return strings.Contains(fmt.Sprint(im["message"]), `serving revision "r4"`)
	}, 30*time.Second, 50*time.Millisecond, "status %v", fw.cp.LastStatus())
	assert.Equal(t, "2", metricValue(t, p, `imsguard_bundle_activations_total{result="activated"}`))
	assert.Equal(t, "1", metricValue(t, p, `imsguard_bundle_info{revision="r4"}`))

	// Stop: the decision_logs plugin uploads what it buffered.
	p.stop(t)
	lines := decisionLines(t, logPath)
	revs := revisionsIn(lines)
	counts := map[string]int{}
	for _, r := range revs {
		counts[r]++
	}
	assert.Greater(t, counts["r1"], 10, "r1 decided during the load")
	assert.Greater(t, counts["r4"], 10, "r4 decided during the load")
	assert.NotContains(t, counts, "r3")
	assert.Equal(t, 1, counts[""], "the request before r1 (no bundle yet)")
	assert.Len(t, counts, 3)

	// Every decision reached the collector, gzip batches decoded, in OPA's event shape
	// with the revision that decided it and the names of the local line.
	events := fw.cp.Events()
	assert.Greater(t, fw.cp.Batches(), 1)
	byID := map[string]map[string]any{}
	for _, ev := range events {
		byID[ev["decision_id"].(string)] = ev
	}
	require.Len(t, byID, len(lines), "one event per decision line")
	for _, line := range lines {
		ev := byID[line["decision_id"].(string)]
		require.NotNil(t, ev, line["decision_id"])
		assert.Equal(t, "imsguard/decision", ev["path"])
		assert.Equal(t, line["bundles"], ev["bundles"])
		assert.Equal(t, line["trace_id"], ev["trace_id"])
		labels := ev["labels"].(map[string]any)
		assert.Equal(t, "e2e", labels["cluster"])
		assert.NotEmpty(t, labels["id"])
		for k, v := range ev["input"].(map[string]any) {
			assert.Equal(t, line[k], v, "input.%s", k)
		}
		for k, v := range ev["result"].(map[string]any) {
			assert.Equal(t, line[k], v, "result.%s", k)
		}
		_, err := time.Parse(time.RFC3339Nano, ev["timestamp"].(string))
		assert.NoError(t, err)
		assert.Contains(t, ev["metrics"], "timer_server_handler_ns")
	}
	traced := byID[tracedID]
	require.NotNil(t, traced)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", traced["trace_id"], "the caller's trace")
	assert.Equal(t, "token", traced["input"].(map[string]any)["auth"])

	// No secret in what was shipped, logged or reported: secret keys, tokens, signatures,
	// full access keys, query values.
	shipped := fw.cp.RawLogs()
	status, _ := json.Marshal(fw.cp.Statuses())
	local, _ := os.ReadFile(logPath)
	for _, secret := range []string{e2eReaderSK, e2eAdminSK, tok, "Signature=", e2eReaderAK, e2eAdminAK, fleetQuerySecr, "X-Auth-Token", "Authorization"} {
		for where, text := range map[string]string{"shipped decision events": string(shipped), "local decision log": string(local),
			"status reports": string(status), "operational log": p.log()} {
			assert.False(t, strings.Contains(text, secret), "%s holds %q", where, secret)
		}
	}
	assert.Contains(t, string(shipped), "E2ER****", "the access key, shortened")

	// The traced request is in the exported spans, under the caller's trace.
	var names []string
	for _, s := range otlp.Spans() {
		if s.TraceID == "4bf92f3577b34da6a3ce929d0e0e4736" {
			names = append(names, s.Name)
		}
	}
	assert.ElementsMatch(t, []string{"imsguard GET", "route", "identify", "decide", "upstream"}, names)
}

// TestE2EFleetPersisted: a sidecar restarted while the bundle server is down serves the
// bundle it persisted.
func TestE2EFleetPersisted(t *testing.T) {
	fw := newFleetWorld(t)
	cfg := fw.sidecar(t)
	fw.cp.SetBundle(fleetResource, fw.bundle(t, "r1", readerListGet))
	p := startProxy(t, cfg)
	require.Eventually(t, func() bool { return readyz(t, p) == 200 }, 30*time.Second, 50*time.Millisecond, p.log())
	p.stop(t)
	persisted, err := os.ReadFile(filepath.Join(fw.persist, "bundles", "imsguard", "bundle.tar.gz"))
	require.NoError(t, err, "OPA persisted the bundle")
	assert.NotEmpty(t, persisted)

	fw.cp.SetDown(true)
	p = startProxy(t, cfg)
	assert.Equal(t, 200, readyz(t, p), "ready as soon as it serves: the persisted bundle is active")
	reader := imsSDK(t, p, e2eReaderAK, e2eReaderSK)
	_, err = reader.ListImages(&model.ListImagesRequest{})
	require.NoError(t, err)
	_, err = reader.GlanceDeleteImage(&model.GlanceDeleteImageRequest{ImageId: stub.SampleImageID})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "IMSGUARD.0403")
	require.Eventually(t, func() bool {
		v := metricValue(t, p, `imsguard_bundle_activations_total{result="failed"}`)
		return v != "" && v != "0"
	}, 30*time.Second, 50*time.Millisecond, "the server being down is counted")
	p.stop(t)
	lines := decisionLines(t, filepath.Join(fw.dir, "decisions.jsonl"))
	last := lines[len(lines)-1]
	assert.Equal(t, map[string]any{"imsguard": map[string]any{"revision": "r1"}}, last["bundles"])
	assert.Contains(t, p.log(), "bundle activated")

	// A lint-refused revision is never persisted: the next restart still has r1.
	fw.cp.SetDown(false)
	fw.cp.SetBundle(fleetResource, fw.bundle(t, "r2", readerEffectCase))
	p = startProxy(t, cfg)
	require.Eventually(t, func() bool {
		return strings.Contains(p.log(), `msg="bundle refused; keeping the set in use" revision=r2 serving=r1`)
	}, 30*time.Second, 50*time.Millisecond, p.log())
	p.stop(t)
	after, err := os.ReadFile(filepath.Join(fw.persist, "bundles", "imsguard", "bundle.tar.gz"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(persisted, after), "r2 was not persisted")
}
