package proxy

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

func TestSignUpstream(t *testing.T) {
	const sidecarAK, sidecarSK = "AKSIDECAR0000001", "sidecar-secret"
	cfg := strings.Replace(baseConfig, `name = "workload"
policies = ["policies/readonly.json"]`, `name = "workload"
policies = ["policies/admin.json"]
sign_upstream = { access_key = "`+sidecarAK+`", secret_key_env = "TEST_SIDECAR_SK", project_id = "p-1" }`, 1)
	e := newEnv(t, cfg, nil, withSecrets(map[string]string{"TEST_SIDECAR_SK": sidecarSK}))
	var mu sync.Mutex
	var verdicts []error
	e.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Header.Get(headerContentSha256) != unsignedPayload {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if strings.Contains(r.Header.Get("Authorization"), "Access="+sidecarAK) {
			err := VerifySDKSignature(r, body, sidecarSK, time.Now(), time.Minute)
			mu.Lock()
			verdicts = append(verdicts, err)
			mu.Unlock()
			assert.Equal(t, "p-1", r.Header.Get("X-Project-Id"))
		}
		e.ims.ServeHTTP(w, r)
	})
	for _, tc := range []struct {
		method, path, ctype, body string
		status                    int
	}{
		{"GET", "/v2/cloudimages?__imagetype=private&name=a%20b", "", "", 200},
		{"POST", "/v2/cloudimages/quickimport/action", "application/json", `{"type":"ECS","name":"x","image_url":"b:f"}`, 200},
		{"POST", "/v2/cloudimages/action", "application/json;charset=UTF-8", `{"name":"x","instance_id":"i-1"}`, 200},
		{"PUT", "/v2/images/" + stub.SampleImageID + "/file", "application/octet-stream", strings.Repeat("x", 100_000), 204},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		resp, data := e.do(t, tc.method, tc.path, body, hdr("Content-Type", tc.ctype))
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s: %s %v", tc.method, tc.path, data, e.lastDecision(t))
		line := e.lastDecision(t)
		assert.Equal(t, true, line["signed_upstream"])
		assert.Equal(t, "default", line["auth"])
	}
	// A caller with its own credential is forwarded as it is, never re-signed.
	h := signed(t, e, "GET", "/v2/images", nil, testAK, testSK, nil)
	resp, _ := e.do(t, "GET", "/v2/images", nil, h)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Nil(t, e.lastDecision(t)["signed_upstream"])
	got := e.ims.Requests()
	assert.Equal(t, h.Get("Authorization"), got[len(got)-1].Header.Get("Authorization"))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, verdicts, 4)
	for i, err := range verdicts {
		assert.NoError(t, err, "request %d arrives with a valid signature", i)
	}
	assert.NotContains(t, e.log.String(), sidecarSK)
}
