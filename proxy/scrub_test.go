package proxy

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// scrubMarker is planted in request parts the proxy must never log or echo.
const scrubMarker = "QZXSECRETMARKERQZX"

// scrubPlaces are the parts of a request a secret can be put in. Paths are not among
// them: the canonical path is logged by design (image ids, not secrets).
var scrubPlaces = []string{
	"query value", "query key", "query bad escape", "query duplicate", "body value", "body key",
	"body duplicate key", "body type", "header value", "token", "authorization", "absolute URL query",
	"patch value", "body enterprise project", "query enterprise project",
}

// FuzzLogScrub sends requests carrying a marker string in query values and keys, bodies,
// headers and credentials — valid, malformed and ambiguous — and requires that the marker
// appears in no decision-log line, no operational log line and no error body.
func FuzzLogScrub(f *testing.F) {
	for i := range scrubPlaces {
		f.Add(uint8(i), uint8(0), "", "")
		f.Add(uint8(i), uint8(1), "x", strings.Repeat("y", 600))
		f.Add(uint8(i), uint8(2), "%", "\"")
	}
	e := newEnv(f, strings.Replace(baseConfig, `policies = ["policies/admin.json"]`, `policies = ["policies/admin.json"]

[[principals.attachments]]
policy = "policies/readonly.json"
scope = "enterprise_project"
enterprise_projects = ["ep-1"]`, 1), nil)
	f.Fuzz(func(t *testing.T, place, variant uint8, pre, post string) {
		secret := pre + scrubMarker + post
		method, target, body, h := scrubRequest(t, e, scrubPlaces[int(place)%len(scrubPlaces)], variant, secret)
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, e.url+target, r)
		if err != nil {
			return // not a request a client can send
		}
		for k, vs := range h {
			req.Header[k] = vs
		}
		req.RequestURI = ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // the client refused to send it (invalid header value)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(data), scrubMarker) {
			t.Fatalf("response %d echoes the secret: %s", resp.StatusCode, data)
		}
		if strings.Contains(e.log.String(), scrubMarker) {
			t.Fatalf("decision log holds the secret: %s", e.log.String())
		}
		if strings.Contains(e.oplog.String(), scrubMarker) {
			t.Fatalf("operational log holds the secret: %s", e.oplog.String())
		}
	})
}

// scrubRequest builds a request with secret in the named place.
func scrubRequest(t testing.TB, e *env, place string, variant uint8, secret string) (method, target string, body []byte, h http.Header) {
	q := escapeQuery(secret)
	h = http.Header{"Content-Type": {"application/json"}}
	js := jsonString(secret)
	method, target = "GET", "/v2/cloudimages"
	switch place {
	case "query value":
		target += "?name=" + q
	case "query key":
		target += "?" + q + "=1"
	case "query bad escape":
		target += "?name=" + q + "%z"
	case "query duplicate":
		target += "?name=" + q + "&name=" + q
	case "absolute URL query":
		target = "/v2/images?x=" + q + "&y=" + q + ";z"
	case "query enterprise project":
		target += "?enterprise_project_id=" + q
	case "body value":
		method, target, body = "POST", "/v2/cloudimages/quickimport/action", []byte(`{"type":`+js+`}`)
	case "body type":
		method, target, body = "POST", "/v2/cloudimages/quickimport/action", []byte(`{"type":"ECS","name":`+js+`,`+js+`:1}`)
	case "body key":
		method, target, body = "POST", "/v2/cloudimages/quickimport/action", []byte(`{`+js+`:1,`+js+`:2}`)
	case "body duplicate key":
		method, target, body = "POST", "/v2/cloudimages/quickimport/action", []byte(`{"type":"ECS","Type":`+js+`}`)
	case "body enterprise project":
		method, target, body = "POST", "/v2/cloudimages/action", []byte(`{"name":"n","enterprise_project_id":`+js+`}`)
	case "patch value":
		method, target, body = "PATCH", "/v2/cloudimages/"+scrubImage, []byte(`[{"op":"replace","path":"/enterprise_project_id","value":`+js+`},{"op":"move","from":`+js+`,"path":`+js+`}]`)
	case "header value":
		h.Set("X-Anything", secret)
		h.Set("X_Auth_Token", secret)
	case "token":
		h.Set("X-Auth-Token", secret)
	case "authorization":
		h.Set("Authorization", "SDK-HMAC-SHA256 "+secret+"=1, Access="+secret+", SignedHeaders=x-sdk-date, Signature="+secret)
		h.Set("X-Sdk-Date", time20210630)
	}
	if variant%2 == 1 && body != nil {
		// signed, so the body is also read for the signature
		h = signed(t, e, method, target, body, adminAK, adminSK, h)
	}
	return method, target, body, h
}

const (
	scrubImage    = "7f2d0b6e-3c2a-4b8e-9a51-0c6f1d2e3a4b"
	time20210630  = "20210630T080000Z"
	hexUpperDigit = "0123456789ABCDEF"
)

// escapeQuery percent-encodes every byte that is not a letter or digit.
func escapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpperDigit[c>>4])
		b.WriteByte(hexUpperDigit[c&0xF])
	}
	return b.String()
}

// jsonString quotes s as a JSON string (invalid UTF-8 passes through as is).
func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
