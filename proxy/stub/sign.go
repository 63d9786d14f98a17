package stub

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

// Sign signs req with SDK-HMAC-SHA256 exactly as the Huawei Cloud Go SDK does (its own
// signer package): every header already on req except Content-Type is signed, a non-JSON
// Content-Type makes the payload UNSIGNED-PAYLOAD, otherwise body is hashed. It sets
// X-Sdk-Date (at date; zero means now) and Authorization. For callers that do not use the
// SDK client itself: the demo, tests and benchmarks.
func Sign(req *http.Request, body []byte, ak, sk string, date time.Time) error {
	if date.IsZero() {
		date = time.Now()
	}
	b := request.NewHttpRequestBuilder().
		WithEndpoint(req.URL.Scheme + "://" + req.URL.Host).
		WithPath(req.URL.Path).
		WithMethod(req.Method)
	b.AddHeaderParam(signer.HeaderXDate, date.UTC().Format(signer.BasicDateFormat))
	for k := range req.Header {
		b.AddHeaderParam(k, req.Header.Get(k))
	}
	if req.URL.RawQuery != "" {
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil {
			return fmt.Errorf("sign: query: %w", err)
		}
		for k, vs := range q {
			b.AddQueryParam(k, reflect.ValueOf(vs))
		}
	}
	if len(body) > 0 {
		b.WithBody("", string(body))
	}
	sdkReq := b.Build()
	out, err := signer.Signer{}.Sign(sdkReq, ak, sk)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	for k, v := range out {
		req.Header.Set(k, v)
	}
	if v, ok := sdkReq.GetHeaderParams()["X-Sdk-Content-Sha256"]; ok {
		req.Header.Set("X-Sdk-Content-Sha256", v)
	}
	return nil
}
