package proxy

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

// signed returns headers of a request signed with ak/sk for method, path and body.
func signed(t testing.TB, e *env, method, path string, body []byte, ak, sk string, extra http.Header) http.Header {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("X-Project-Id", "0a1b2c3d4e5f")
	for k, vs := range extra {
		req.Header[k] = vs
	}
	require.NoError(t, stub.Sign(req, body, ak, sk, time.Time{}))
	return req.Header
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestEnforce(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	alice := e.iam.IssueToken(stub.Identity{UserID: "u-alice", UserName: "alice", DomainID: "d-acme", DomainName: "acme", ProjectID: "p1", Project: "ae-ad-1"}, time.Hour)
	root := e.iam.IssueToken(stub.Identity{UserID: "u-root", UserName: "root", DomainID: "d-acme", DomainName: "acme", ProjectID: "p1", Project: "ae-ad-1"}, time.Hour)
	bob := e.iam.IssueToken(stub.Identity{UserID: "u-bob", UserName: "bob", DomainID: "d-acme", DomainName: "acme", Project: "ae-ad-1"}, time.Hour)
	expired := e.iam.IssueToken(stub.Identity{UserID: "u-alice", UserName: "alice", DomainName: "acme"}, -time.Minute)
	dataImage := []byte(`{"name":"d","type":"DataImage","image_url":"bucket:file.qcow2"}`)
	ecsImage := []byte(`{"name":"s","type":"ECS","image_url":"bucket:file.qcow2"}`)

	cases := []struct {
		name      string
		method    string
		path      string
		body      []byte
		header    func() http.Header
		status    int
		arrives   bool
		principal string
		decision  string
		reason    string
		denied    []string
		wantPath  string // path upstream, when it differs from the request's
	}{
		{name: "default principal may list", method: "GET", path: "/v2/cloudimages?__imagetype=private&limit=2", status: 200, arrives: true, principal: "workload", decision: "Allow"},
		{name: "default principal may not delete", method: "DELETE", path: "/v2/images/" + stub.SampleImageID, status: 403, principal: "workload", decision: "ImplicitDeny", reason: reasonPolicy, denied: []string{"ims:images:delete"}},
		{name: "no action needed", method: "GET", path: "/", status: 300, arrives: true, principal: "workload", decision: "Allow"},
		{name: "encoded unreserved is forwarded canonical", method: "GET", path: "/v2/images/%37f2d", status: 200, arrives: true, decision: "Allow", wantPath: "/v2/images/7f2d"},
		{name: "trailing slash dropped", method: "GET", path: "/v2/images/", status: 200, arrives: true, decision: "Allow", wantPath: "/v2/images"},
		{name: "dot segment is no API", method: "GET", path: "/v2/images/%2e%2e/x", status: 403, reason: reasonNoAPI, decision: "Deny"},
		{name: "unknown path", method: "GET", path: "/v3/secrets", status: 403, reason: reasonNoAPI, decision: "Deny"},
		{name: "method not allowed", method: "DELETE", path: "/v2/cloudimages", status: 403, reason: reasonNoAPI, decision: "Deny"},
		{name: "method override header", method: "GET", path: "/v2/images", header: func() http.Header { return hdr("X-HTTP-Method-Override", "DELETE") }, status: 400, reason: reasonBadRequest, decision: "Deny"},
		{name: "token user allowed", method: "GET", path: "/v2/images", header: func() http.Header { return hdr("X-Auth-Token", alice) }, status: 200, arrives: true, principal: "reader", decision: "Allow"},
		{name: "token user denied", method: "DELETE", path: "/v2/images/x", header: func() http.Header { return hdr("X-Auth-Token", alice) }, status: 403, principal: "reader", decision: "ImplicitDeny", denied: []string{"ims:images:delete"}},
		{name: "domain-qualified user", method: "DELETE", path: "/v2/images/x", header: func() http.Header { return hdr("X-Auth-Token", root) }, status: 204, arrives: true, principal: "admin", decision: "Allow"},
		{name: "unmapped token user", method: "GET", path: "/v2/images", header: func() http.Header { return hdr("X-Auth-Token", bob) }, status: 403, reason: reasonIdentity, decision: "Deny"},
		{name: "expired token", method: "GET", path: "/v2/images", header: func() http.Header { return hdr("X-Auth-Token", expired) }, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "unknown token", method: "GET", path: "/v2/images", header: func() http.Header { return hdr("X-Auth-Token", "MIIEnotissued") }, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "two credentials", method: "GET", path: "/v2/images", header: func() http.Header {
			h := signed(t, e, "GET", "/v2/images", nil, testAK, testSK, nil)
			h.Set("X-Auth-Token", alice)
			return h
		}, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "aksk allowed", method: "GET", path: "/v2/images?limit=1&name=a%20b", header: func() http.Header {
			return signed(t, e, "GET", "/v2/images?limit=1&name=a%20b", nil, testAK, testSK, nil)
		}, status: 200, arrives: true, principal: "reader", decision: "Allow"},
		{name: "aksk signature over another path", method: "GET", path: "/v2/images/abc", header: func() http.Header {
			return signed(t, e, "GET", "/v2/images/xyz", nil, testAK, testSK, nil)
		}, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "aksk signature with wrong secret", method: "GET", path: "/v2/images", header: func() http.Header {
			return signed(t, e, "GET", "/v2/images", nil, testAK, "wrong", nil)
		}, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "aksk unknown access key", method: "GET", path: "/v2/images", header: func() http.Header {
			return signed(t, e, "GET", "/v2/images", nil, "AKUNKNOWN0000001", "x", nil)
		}, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "aksk stale date", method: "GET", path: "/v2/images", header: func() http.Header {
			req, _ := http.NewRequest("GET", e.url+"/v2/images", nil)
			require.NoError(t, stub.Sign(req, nil, testAK, testSK, time.Now().Add(-time.Hour)))
			return req.Header
		}, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "conditional body resolved and allowed", method: "POST", path: "/v2/cloudimages/quickimport/action", body: ecsImage, header: func() http.Header {
			return signed(t, e, "POST", "/v2/cloudimages/quickimport/action", ecsImage, adminAK, adminSK, hdr("Content-Type", "application/json"))
		}, status: 200, arrives: true, principal: "admin", decision: "Allow"},
		{name: "conditional body resolved and denied", method: "POST", path: "/v2/cloudimages/quickimport/action", body: dataImage, header: func() http.Header {
			return signed(t, e, "POST", "/v2/cloudimages/quickimport/action", dataImage, adminAK, adminSK, hdr("Content-Type", "application/json"))
		}, status: 403, principal: "admin", decision: "ExplicitDeny", reason: reasonPolicy, denied: []string{"ims:dataImages:create"}},
		{name: "signed body tampered", method: "POST", path: "/v2/cloudimages/quickimport/action", body: dataImage, header: func() http.Header {
			return signed(t, e, "POST", "/v2/cloudimages/quickimport/action", ecsImage, adminAK, adminSK, hdr("Content-Type", "application/json"))
		}, status: 401, reason: reasonIdentity, decision: "Deny"},
		{name: "conditional body invalid", method: "POST", path: "/v2/cloudimages/quickimport/action", body: []byte(`{"type":"DataImage","TYPE":"ECS"}`), status: 400, principal: "workload", reason: reasonBody, decision: "Deny"},
		{name: "conditional body empty", method: "POST", path: "/v2/cloudimages/quickimport/action", status: 400, principal: "workload", reason: reasonBody, decision: "Deny"},
		{name: "conditional body too large", method: "POST", path: "/v2/cloudimages/quickimport/action", body: bytes.Repeat([]byte(" "), 2<<20), status: 413, principal: "workload", reason: reasonBody, decision: "Deny"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.ims.Reset()
			var h http.Header
			if tc.header != nil {
				h = tc.header()
			}
			var body *bytes.Reader
			if tc.body != nil {
				body = bytes.NewReader(tc.body)
			}
			var resp *http.Response
			var data []byte
			if body != nil {
				resp, data = e.do(t, tc.method, tc.path, body, h)
			} else {
				resp, data = e.do(t, tc.method, tc.path, nil, h)
			}
			assert.Equal(t, tc.status, resp.StatusCode, string(data))
			id := resp.Header.Get(HeaderDecisionID)
			assert.Len(t, id, 16)
			got := e.ims.Requests()
			if tc.arrives {
				require.Len(t, got, 1)
				want := tc.wantPath
				if want == "" {
					want, _, _ = strings.Cut(tc.path, "?")
				}
				assert.Equal(t, want, got[0].RawPath)
				assert.Equal(t, tc.method, got[0].Method)
				if _, q, ok := strings.Cut(tc.path, "?"); ok {
					assert.Equal(t, q, got[0].RawQuery)
				}
				for k := range h {
					assert.Equal(t, h.Values(k), got[0].Header.Values(k), "header %s arrives unchanged", k)
				}
				assert.Equal(t, int64(len(tc.body)), got[0].BodyLen)
			} else {
				assert.Empty(t, got, "denied request must not reach IMS")
				var eb errorBody
				require.NoError(t, json.Unmarshal(data, &eb), string(data))
				assert.Equal(t, errorCode(tc.status), eb.ErrorCode)
				assert.Equal(t, id, eb.DecisionID)
				assert.NotEmpty(t, eb.ErrorMsg)
				if tc.denied != nil {
					assert.Equal(t, tc.denied, eb.DeniedActions)
				}
			}
			line := e.lastDecision(t)
			assert.Equal(t, id, line["decision_id"])
			assert.Equal(t, tc.decision, line["decision"])
			if tc.principal != "" {
				assert.Equal(t, tc.principal, line["principal"])
			}
			if tc.reason != "" {
				assert.Equal(t, tc.reason, line["reason"])
			}
			assert.Equal(t, true, line["enforced"])
			assert.Equal(t, tc.arrives, line["forwarded"])
			assert.EqualValues(t, tc.status, line["status"])
		})
	}
	// Nothing secret in the decision log: tokens, secret keys, signatures, query values.
	logText := e.log.String()
	for _, secret := range []string{alice, root, bob, testSK, adminSK, "Signature=", "a%20b", "__imagetype=private", "bucket:file"} {
		assert.NotContains(t, logText, secret)
	}
	assert.NotContains(t, logText, testAK, "access key ids are shortened")
}

func TestAuditModeForwardsAndLogs(t *testing.T) {
	cfg := strings.Replace(baseConfig, `project = "ae-ad-1"`, "project = \"ae-ad-1\"\nmode = \"audit\"", 1)
	e := newEnv(t, cfg, nil)
	for _, tc := range []struct {
		method, path string
		decision     string
	}{
		{"DELETE", "/v2/images/" + stub.SampleImageID, "ImplicitDeny"},
		{"GET", "/v2/images", "Allow"},
		{"GET", "/v3/not-ims", "Deny"},
	} {
		e.ims.Reset()
		resp, _ := e.do(t, tc.method, tc.path, nil, nil)
		assert.Less(t, resp.StatusCode, 400, tc.path)
		require.Len(t, e.ims.Requests(), 1, "audit forwards %s %s", tc.method, tc.path)
		line := e.lastDecision(t)
		assert.Equal(t, tc.decision, line["decision"])
		assert.Equal(t, false, line["enforced"])
		assert.Equal(t, true, line["forwarded"])
	}
}

func TestForwardedHeaders(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	h := hdr("X-Forwarded-For", "203.0.113.9", "X-Forwarded-Host", "evil.example", "X-Real-Ip", "203.0.113.9",
		"Forwarded", "for=203.0.113.9", "Connection", "X-Secret-Hop", "X-Secret-Hop", "1", "X-Keep", "kept")
	resp, _ := e.do(t, "GET", "/v2/images", nil, h)
	require.Equal(t, 200, resp.StatusCode)
	got := e.ims.Requests()
	require.Len(t, got, 1)
	up := got[0].Header
	assert.Equal(t, "127.0.0.1", up.Get("X-Forwarded-For"), "client X-Forwarded-For from an untrusted peer is dropped")
	assert.NotEqual(t, "evil.example", up.Get("X-Forwarded-Host"))
	assert.Empty(t, up.Get("X-Real-Ip"))
	assert.Empty(t, up.Get("Forwarded"))
	assert.Empty(t, up.Get("X-Secret-Hop"), "hop-by-hop header named in Connection is stripped")
	assert.Equal(t, "kept", up.Get("X-Keep"))
	assert.Equal(t, strings.TrimPrefix(e.up.URL, "http://"), got[0].Host)
	assert.Equal(t, "127.0.0.1", e.lastDecision(t)["source_ip"])
}

func TestUpstreamFailures(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		e := newEnv(t, baseConfig, nil)
		e.up.Close()
		resp, data := e.do(t, "GET", "/v2/images", nil, nil)
		assert.Equal(t, 502, resp.StatusCode)
		assert.Contains(t, string(data), `"error_code":"IMSGUARD.0502"`)
		assert.Equal(t, "Allow", e.lastDecision(t)["decision"])
	})
	t.Run("timeout", func(t *testing.T) {
		cfg := strings.Replace(baseConfig, `upstream_response_header = "2s"`, `upstream_response_header = "200ms"`, 1)
		e := newEnv(t, cfg, nil)
		block := make(chan struct{})
		e.up.Config.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block })
		defer close(block)
		resp, data := e.do(t, "GET", "/v2/images", nil, nil)
		assert.Equal(t, 504, resp.StatusCode)
		assert.Contains(t, string(data), `"error_code":"IMSGUARD.0504"`)
	})
}
