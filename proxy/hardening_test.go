package proxy

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

// TestUnderscoreHeaders: a header whose name reads, once "_" is folded into "-", as a
// method override or a header the proxy decides on is refused; any other underscore
// header is not forwarded.
func TestUnderscoreHeaders(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	for _, name := range []string{
		"X_HTTP_Method_Override", "x-http-method-override", "X_Http_Method", "X_Method_Override",
		"X_Auth_Token", "x_auth_token", "X_Sdk_Date", "X_Project_Id", "X_Domain_Id",
		"X_Forwarded_For", "X_Real_IP", "Content_Type", "Transfer_Encoding", "X_Security_Token", "X_Imsguard_Decision_Id",
	} {
		t.Run(name, func(t *testing.T) {
			e.ims.Reset()
			resp, data := e.do(t, "GET", "/v2/images", nil, http.Header{name: {"DELETE"}})
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(data))
			assert.NotContains(t, string(data), name, "the message names the canonical header, not what was sent")
			assert.Empty(t, e.ims.Requests())
		})
	}
	e.ims.Reset()
	resp, _ := e.do(t, "GET", "/v2/images", nil, http.Header{"X_Custom_Thing": {"1"}, "X-Custom-Thing": {"2"}})
	require.Equal(t, 200, resp.StatusCode)
	got := e.ims.Requests()
	require.Len(t, got, 1)
	for k := range got[0].Header {
		assert.NotContains(t, k, "_", "underscore headers are not forwarded")
	}
	assert.Equal(t, "2", got[0].Header.Get("X-Custom-Thing"))
}

// TestSignUpstreamStripsProjectHeaders: the workload cannot pick the project or domain the
// sidecar's credential acts in.
func TestSignUpstreamStripsProjectHeaders(t *testing.T) {
	const sidecarAK, sidecarSK = "AKSIDECAR0000001", "sidecar-secret"
	for _, projectID := range []string{"", "p-configured"} {
		t.Run("project_id="+projectID, func(t *testing.T) {
			extra := ""
			if projectID != "" {
				extra = `, project_id = "` + projectID + `"`
			}
			cfg := strings.Replace(baseConfig, `name = "workload"
policies = ["policies/readonly.json"]`, `name = "workload"
policies = ["policies/readonly.json"]
sign_upstream = { access_key = "`+sidecarAK+`", secret_key_env = "TEST_SIDECAR_SK"`+extra+` }`, 1)
			e := newEnv(t, cfg, nil, withSecrets(map[string]string{"TEST_SIDECAR_SK": sidecarSK}))
			var mu sync.Mutex
			var verdict error
			e.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				verdict = VerifySDKSignature(r, nil, sidecarSK, time.Now(), time.Minute)
				mu.Unlock()
				e.ims.ServeHTTP(w, r)
			})
			resp, _ := e.do(t, "GET", "/v2/cloudimages?name=a%20b&limit=2", nil,
				hdr("X-Project-Id", "p-chosen-by-workload", "X-Domain-Id", "d-chosen", "X-Domain-Name", "evil"))
			require.Equal(t, 200, resp.StatusCode)
			got := e.ims.Requests()
			require.Len(t, got, 1)
			assert.Equal(t, projectID, got[0].Header.Get("X-Project-Id"))
			assert.Empty(t, got[0].Header.Values("X-Domain-Id"))
			assert.Empty(t, got[0].Header.Values("X-Domain-Name"))
			assert.Equal(t, "name=a%20b&limit=2", got[0].RawQuery, "the authorized query, canonically encoded, is what is signed and sent")
			mu.Lock()
			assert.NoError(t, verdict)
			mu.Unlock()
		})
	}
}

// TestUserNamesWithSlash: an IAM user maps to a principal only by the exact configured
// form; a "/" in a user or domain name never falls back to another entry.
func TestUserNamesWithSlash(t *testing.T) {
	e := newEnv(t, baseConfig, nil) // users: "alice" (reader, any domain), "acme/root" (admin)
	cases := []struct {
		name   string
		id     stub.Identity
		status int
		who    string
	}{
		{"bare name, any domain", stub.Identity{UserName: "alice", DomainName: "acme"}, 200, "reader"},
		{"domain/name exact", stub.Identity{UserName: "root", DomainName: "acme"}, 200, "admin"},
		{"name looks like domain/name", stub.Identity{UserName: "acme/root", DomainName: "evil"}, 403, ""},
		{"domain holds a slash", stub.Identity{UserName: "root", DomainName: "evil/acme"}, 403, ""},
		{"right name, wrong domain", stub.Identity{UserName: "root", DomainName: "evil"}, 403, ""},
		{"slash in both", stub.Identity{UserName: "x/alice", DomainName: "acme"}, 403, ""},
		{"case differs", stub.Identity{UserName: "Alice", DomainName: "acme"}, 403, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.id.UserID, tc.id.Project = "u-"+tc.name, "ae-ad-1"
			tok := e.iam.IssueToken(tc.id, time.Hour)
			resp, data := e.do(t, "GET", "/v2/images", nil, hdr("X-Auth-Token", tok))
			assert.Equal(t, tc.status, resp.StatusCode, string(data))
			line := e.lastDecision(t)
			if tc.who == "" {
				assert.Equal(t, "identity", line["reason"])
				assert.Empty(t, line["principal"])
			} else {
				assert.Equal(t, tc.who, line["principal"])
			}
		})
	}
}

// TestInvalidQueryIsBadRequest: an ambiguous query is refused before anything else, with
// no key or value quoted back.
func TestInvalidQueryIsBadRequest(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	for _, q := range []string{"limit=1&limit=2", "a=1;b=2", "a=%zz", "limit=1&LIMIT=2", "x=%0aSECRET"} {
		resp, data := e.do(t, "GET", "/v2/images?"+q, nil, nil)
		assert.Equal(t, 400, resp.StatusCode, q)
		assert.NotContains(t, string(data), "SECRET")
		assert.Equal(t, "bad_request", e.lastDecision(t)["reason"])
	}
	assert.Empty(t, e.ims.Requests())
	// The forwarded query is the authorized one, decoded and re-encoded once.
	resp, _ := e.do(t, "GET", "/v2/images?name=a+b&limit=%32", nil, nil)
	require.Equal(t, 200, resp.StatusCode)
	got := e.ims.Requests()
	require.Len(t, got, 1)
	assert.Equal(t, "name=a%20b&limit=2", got[0].RawQuery)
}

// TestMethodOverrideLengths: checkHeaders skips names that hold no "_" and have the length
// of no method-override header; every override header must therefore have one of the
// lengths maybeMethodOverride knows.
func TestMethodOverrideLengths(t *testing.T) {
	for name := range methodOverrideHeaders {
		require.True(t, maybeMethodOverride(http.CanonicalHeaderKey(name)), name)
	}
}
