package proxy

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"

	"github.com/imsguard/imsguard/proxy/stub"
)

func TestParseSDKAuth(t *testing.T) {
	good := "SDK-HMAC-SHA256 Access=AKTESTREADER0001, SignedHeaders=x-project-id;x-sdk-date, Signature=abcdef"
	a, err := parseSDKAuth(good)
	require.NoError(t, err)
	assert.Equal(t, "AKTESTREADER0001", a.access)
	assert.Equal(t, []string{"x-project-id", "x-sdk-date"}, a.signedHeaders)
	assert.Equal(t, "abcdef", a.signature)

	for name, h := range map[string]string{
		"other algorithm":   "SDK-HMAC-SM3 Access=AKTESTREADER0001, SignedHeaders=x-sdk-date, Signature=ab",
		"no parameters":     "SDK-HMAC-SHA256",
		"missing signature": "SDK-HMAC-SHA256 Access=AKTESTREADER0001, SignedHeaders=x-sdk-date",
		"repeated access":   "SDK-HMAC-SHA256 Access=AKTESTREADER0001, Access=AKTESTREADER0002, SignedHeaders=x-sdk-date, Signature=ab",
		"unknown parameter": "SDK-HMAC-SHA256 Access=AKTESTREADER0001, SignedHeaders=x-sdk-date, Signature=ab, Extra=1",
		"date not signed":   "SDK-HMAC-SHA256 Access=AKTESTREADER0001, SignedHeaders=host, Signature=ab",
		"odd access key":    "SDK-HMAC-SHA256 Access=AK/../x, SignedHeaders=x-sdk-date, Signature=ab",
		"empty value":       "SDK-HMAC-SHA256 Access=, SignedHeaders=x-sdk-date, Signature=ab",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseSDKAuth(h)
			assert.ErrorIs(t, err, ErrBadAuthorization)
		})
	}
}

// signedRequest builds a server-side request signed by the SDK signer.
func signedRequest(t *testing.T, method, target string, body []byte, hdrs http.Header, date time.Time) *http.Request {
	t.Helper()
	c, err := http.NewRequest(method, "http://ims.local"+target, nil)
	require.NoError(t, err)
	for k, vs := range hdrs {
		c.Header[k] = vs
	}
	require.NoError(t, stub.Sign(c, body, testAK, testSK, date))
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Host = "ims.local"
	r.Header = c.Header.Clone()
	return r
}

func TestVerifySignature(t *testing.T) {
	now := time.Now()
	json := http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "X-Project-Id": {"p1"}, "User-Agent": {"huaweicloud-usdk-go/3.0"}}
	octet := http.Header{"Content-Type": {"application/octet-stream"}}
	body := []byte(`{"type":"DataImage"}`)
	cases := []struct {
		name    string
		req     func() *http.Request
		verify  string // path given to verify
		body    []byte
		wantErr error
	}{
		{name: "get", req: func() *http.Request { return signedRequest(t, "GET", "/v2/images?limit=2&marker=x", nil, json, now) }, verify: "/v2/images"},
		{name: "several query keys", req: func() *http.Request {
			return signedRequest(t, "GET", "/v2/images?tag=a&sort_key=b&name=a%20b", nil, json, now)
		}, verify: "/v2/images"},
		{name: "json body", req: func() *http.Request {
			return signedRequest(t, "POST", "/v2/cloudimages/quickimport/action", body, json, now)
		}, verify: "/v2/cloudimages/quickimport/action", body: body},
		{name: "unsigned payload upload", req: func() *http.Request { return signedRequest(t, "PUT", "/v2/images/x/file", nil, octet, now) }, verify: "/v2/images/x/file"},
		{name: "body changed", req: func() *http.Request {
			return signedRequest(t, "POST", "/v2/cloudimages/quickimport/action", body, json, now)
		}, verify: "/v2/cloudimages/quickimport/action", body: []byte(`{"type":"ECS"}`), wantErr: ErrBadSignature},
		{name: "query changed", req: func() *http.Request {
			r := signedRequest(t, "GET", "/v2/images?limit=2", nil, json, now)
			r.URL.RawQuery = "limit=3"
			return r
		}, verify: "/v2/images", wantErr: ErrBadSignature},
		{name: "path changed", req: func() *http.Request { return signedRequest(t, "GET", "/v2/images/a", nil, json, now) }, verify: "/v2/images/b", wantErr: ErrBadSignature},
		{name: "method changed", req: func() *http.Request {
			r := signedRequest(t, "GET", "/v2/images/a", nil, json, now)
			r.Method = "DELETE"
			return r
		}, verify: "/v2/images/a", wantErr: ErrBadSignature},
		{name: "signed header changed", req: func() *http.Request {
			r := signedRequest(t, "GET", "/v2/images", nil, json, now)
			r.Header.Set("X-Project-Id", "p2")
			return r
		}, verify: "/v2/images", wantErr: ErrBadSignature},
		{name: "signed header repeated", req: func() *http.Request {
			r := signedRequest(t, "GET", "/v2/images", nil, json, now)
			r.Header.Add("X-Project-Id", "p2")
			return r
		}, verify: "/v2/images", wantErr: ErrBadSignature},
		{name: "payload hash header lies", req: func() *http.Request {
			r := signedRequest(t, "PUT", "/v2/images/x/file", nil, octet, now)
			r.Header.Set(headerContentSha256, strings.Repeat("0", 64))
			return r
		}, verify: "/v2/images/x/file", wantErr: ErrBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req()
			a, err := parseSDKAuth(r.Header.Get("Authorization"))
			require.NoError(t, err)
			require.NoError(t, a.checkDate(r, now, 15*time.Minute))
			q, err := actions.ParseQuery(r.URL.RawQuery)
			require.NoError(t, err)
			err = a.verify(r, tc.verify, q, tc.body, testSK)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), a.signature)
				return
			}
			assert.NoError(t, err)
			assert.ErrorIs(t, a.verify(r, tc.verify, q, tc.body, "another-secret"), ErrBadSignature)
		})
	}
	t.Run("a repeated query key is refused, not verified", func(t *testing.T) {
		r := signedRequest(t, "GET", "/v2/images?tag=a&tag=b", nil, json, now)
		assert.ErrorIs(t, VerifySDKSignature(r, nil, testSK, now, time.Minute), ErrBadSignature)
	})
	t.Run("unsigned payload does not need the body", func(t *testing.T) {
		r := signedRequest(t, "PUT", "/v2/images/x/file", nil, octet, now)
		a, _ := parseSDKAuth(r.Header.Get("Authorization"))
		assert.False(t, a.needsBody(r))
		r = signedRequest(t, "POST", "/v2/cloudimages/quickimport/action", body, json, now)
		a, _ = parseSDKAuth(r.Header.Get("Authorization"))
		assert.True(t, a.needsBody(r))
	})
	t.Run("date skew", func(t *testing.T) {
		for _, d := range []time.Duration{-16 * time.Minute, 16 * time.Minute} {
			r := signedRequest(t, "GET", "/v2/images", nil, json, now.Add(d))
			a, _ := parseSDKAuth(r.Header.Get("Authorization"))
			assert.ErrorIs(t, a.checkDate(r, now, 15*time.Minute), ErrStaleSignature)
		}
		r := signedRequest(t, "GET", "/v2/images", nil, json, now)
		r.Header.Set(headerSdkDate, "yesterday")
		a, _ := parseSDKAuth(r.Header.Get("Authorization"))
		assert.ErrorIs(t, a.checkDate(r, now, 15*time.Minute), ErrStaleSignature)
	})
}

func TestRequireSignature(t *testing.T) {
	cfg := strings.Replace(baseConfig, `secret_key_env = { `+testAK+` = "TEST_READER_SK" }`, "", 1)
	e := newEnv(t, cfg, nil)
	// Without a secret the access key selects the principal; the upstream verifies.
	resp, _ := e.do(t, "GET", "/v2/images", nil, signed(t, e, "GET", "/v2/images", nil, testAK, "anything", nil))
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, authAccessKey, e.lastDecision(t)["auth"])

	e2 := newEnv(t, "require_signature = true\n"+cfg, nil)
	resp, data := e2.do(t, "GET", "/v2/images", nil, signed(t, e2, "GET", "/v2/images", nil, testAK, "anything", nil))
	assert.Equal(t, 401, resp.StatusCode)
	assert.Contains(t, string(data), "require_signature")
}
