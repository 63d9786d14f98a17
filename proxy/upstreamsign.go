package proxy

import (
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/imsguard/imsguard/actions"
)

// upstreamCred is a principal's sign_upstream credential. The secret is never logged.
type upstreamCred struct {
	ak, sk    string
	projectID string
}

// needsBody reports whether signing r needs its body: a body that is not an opaque stream
// (image uploads are application/octet-stream and signed UNSIGNED-PAYLOAD, as the SDK does).
func (c *upstreamCred) needsBody(r *http.Request) bool {
	return r.ContentLength != 0 && !opaqueBody(r.Header.Get("Content-Type"))
}

func opaqueBody(contentType string) bool {
	return contentType == "application/octet-stream"
}

// signStripped are the headers a workload may not choose for the sidecar's credential: its
// own credentials, and the project or domain the signed request acts in (the decision was
// made for the configured project; the credential's project is project_id, or its
// default). They are removed before signing.
var signStripped = []string{"Authorization", "X-Auth-Token", "X-Security-Token", "X-Project-Id", "X-Domain-Id", "X-Domain-Name", headerSdkDate, headerContentSha256}

// sign signs the outbound request as the Huawei Cloud SDK would (its signer package):
// X-Sdk-Date, X-Project-Id when configured, the canonical path, the query that was
// authorized (query, parsed once by the matcher) and the body hash (UNSIGNED-PAYLOAD for
// opaque streams). body is the whole body unless unsigned.
func (c *upstreamCred) sign(out *http.Request, query actions.Query, body []byte, now time.Time) error {
	for _, h := range signStripped {
		delete(out.Header, h)
	}
	b := request.NewHttpRequestBuilder().
		WithEndpoint(out.URL.Scheme + "://" + out.URL.Host).
		WithPath(out.URL.Path).
		WithMethod(out.Method)
	date := now.UTC().Format(signer.BasicDateFormat)
	b.AddHeaderParam(headerSdkDate, date)
	if c.projectID != "" {
		out.Header["X-Project-Id"] = []string{c.projectID}
		b.AddHeaderParam("X-Project-Id", c.projectID)
	}
	unsigned := out.ContentLength != 0 && opaqueBody(out.Header.Get("Content-Type"))
	if unsigned {
		b.AddHeaderParam(headerContentSha256, unsignedPayload)
	}
	addQuery(b, query)
	if !unsigned && len(body) > 0 {
		b.WithBody("", string(body))
	}
	h, err := signer.Signer{}.Sign(b.Build(), c.ak, c.sk)
	if err != nil {
		return fmt.Errorf("sign upstream: %w", err)
	}
	out.Header[headerSdkDate] = []string{date}
	out.Header["Authorization"] = []string{h[signer.HeaderAuthorization]}
	if unsigned {
		out.Header[headerContentSha256] = []string{unsignedPayload}
	}
	return nil
}

// addQuery adds the parsed query parameters to a request the SDK signer signs.
func addQuery(b *request.HttpRequestBuilder, q actions.Query) {
	for _, p := range q {
		b.AddQueryParam(p.Key, reflect.ValueOf([]string{p.Value}))
	}
}
