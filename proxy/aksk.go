package proxy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/signer"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"

	"github.com/imsguard/imsguard/actions"
)

// sdkAlgorithm is the only signing algorithm the proxy accepts.
const sdkAlgorithm = "SDK-HMAC-SHA256"

// Header names of SDK-HMAC-SHA256 requests.
const (
	headerSdkDate        = "X-Sdk-Date"
	headerContentSha256  = "X-Sdk-Content-Sha256"
	unsignedPayload      = "UNSIGNED-PAYLOAD"
	maxSignedHeaderCount = 32
)

// Errors of AK/SK authentication, wrapped with detail that never holds the signature.
var (
	ErrBadAuthorization = errors.New("malformed SDK-HMAC-SHA256 Authorization header")
	ErrStaleSignature   = errors.New("X-Sdk-Date missing, malformed or outside the allowed clock skew")
	ErrBadSignature     = errors.New("signature does not match")
)

// sdkAuth is a parsed "SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…" header.
type sdkAuth struct {
	access        string
	signedHeaders []string // lower case, as listed
	signature     string
	date          time.Time
}

// isSDKAuth reports whether an Authorization header uses the SDK signing scheme family.
func isSDKAuth(h string) bool {
	alg, _, _ := strings.Cut(h, " ")
	return strings.HasPrefix(alg, "SDK-") || strings.HasSuffix(alg, "-HMAC-SHA256")
}

// parseSDKAuth parses the Authorization header strictly: the algorithm, then exactly the
// three parameters, each once.
func parseSDKAuth(h string) (sdkAuth, error) {
	var a sdkAuth
	alg, rest, ok := strings.Cut(h, " ")
	if !ok || alg != sdkAlgorithm {
		return a, fmt.Errorf("%w: algorithm must be %s", ErrBadAuthorization, sdkAlgorithm)
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || v == "" || seen[k] {
			return a, fmt.Errorf("%w: parameters must be Access=, SignedHeaders=, Signature=, each once", ErrBadAuthorization)
		}
		seen[k] = true
		switch k {
		case "Access":
			a.access = v
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		default:
			// The name is not quoted: it is part of a credential header.
			return a, fmt.Errorf("%w: unknown parameter (only Access, SignedHeaders and Signature are known)", ErrBadAuthorization)
		}
	}
	if a.access == "" || a.signature == "" || len(a.signedHeaders) == 0 {
		return a, fmt.Errorf("%w: Access, SignedHeaders and Signature are all required", ErrBadAuthorization)
	}
	if len(a.signedHeaders) > maxSignedHeaderCount {
		return a, fmt.Errorf("%w: more than %d signed headers", ErrBadAuthorization, maxSignedHeaderCount)
	}
	if !akRe.MatchString(a.access) {
		return a, fmt.Errorf("%w: access key id is not 8-128 letters or digits", ErrBadAuthorization)
	}
	if !slices.Contains(a.signedHeaders, strings.ToLower(headerSdkDate)) {
		return a, fmt.Errorf("%w: x-sdk-date must be a signed header", ErrBadAuthorization)
	}
	return a, nil
}

// checkDate parses X-Sdk-Date and checks it is within maxSkew of now.
func (a *sdkAuth) checkDate(r *http.Request, now time.Time, maxSkew time.Duration) error {
	vals := r.Header.Values(headerSdkDate)
	if len(vals) != 1 {
		return ErrStaleSignature
	}
	t, err := time.Parse(signer.BasicDateFormat, vals[0])
	if err != nil {
		return ErrStaleSignature
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%w (%s off)", ErrStaleSignature, d.Round(time.Second))
	}
	a.date = t
	return nil
}

// payloadHash returns the signed X-Sdk-Content-Sha256 value, or "" when the payload hash
// is not a signed header (the body itself is hashed).
func (a *sdkAuth) payloadHash(r *http.Request) string {
	if !slices.Contains(a.signedHeaders, strings.ToLower(headerContentSha256)) {
		return ""
	}
	return r.Header.Get(headerContentSha256)
}

// needsBody reports whether verifying the signature requires the request body.
func (a *sdkAuth) needsBody(r *http.Request) bool {
	return a.payloadHash(r) != unsignedPayload
}

// verify recomputes the signature with the SDK's signer over the request as received:
// method, path, query (as the matcher parsed it: the form that is authorized and
// forwarded), the signed headers and the body (or its signed hash) and compares it with
// the one sent, in constant time. body must be the whole body when needsBody.
func (a *sdkAuth) verify(r *http.Request, path string, query actions.Query, body []byte, secret string) error {
	b := request.NewHttpRequestBuilder().
		WithEndpoint("http://" + r.Host).
		WithPath(path).
		WithMethod(r.Method)
	for _, h := range a.signedHeaders {
		if h == "host" {
			b.AddHeaderParam("Host", r.Host)
			continue
		}
		if h != strings.ToLower(h) || h == "" {
			return fmt.Errorf("%w: signed header names must be lower case", ErrBadAuthorization)
		}
		vals := r.Header.Values(h)
		if len(vals) != 1 {
			return fmt.Errorf("%w: signed header %s must be sent exactly once", ErrBadSignature, h)
		}
		b.AddHeaderParam(http.CanonicalHeaderKey(h), vals[0])
	}
	addQuery(b, query)
	if ph := a.payloadHash(r); ph != "" && ph != unsignedPayload {
		sum := sha256.Sum256(body)
		if !hmac.Equal([]byte(strings.ToLower(ph)), []byte(hex.EncodeToString(sum[:]))) {
			return fmt.Errorf("%w: body does not match X-Sdk-Content-Sha256", ErrBadSignature)
		}
	} else if len(body) > 0 {
		b.WithBody("", string(body))
	}
	out, err := signer.Signer{}.Sign(b.Build(), a.access, secret)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if !hmac.Equal([]byte(out[signer.HeaderAuthorization]), []byte(r.Header.Get("Authorization"))) {
		return ErrBadSignature
	}
	return nil
}

// VerifySDKSignature checks an SDK-HMAC-SHA256 signed request the way the proxy does (and
// the way IMS does behind it): the Authorization header, X-Sdk-Date within maxSkew of now,
// and the signature over method, path, query, signed headers and body, recomputed with the
// cloud SDK's signer. body is the whole request body. The returned error never contains the
// signature or the secret.
func VerifySDKSignature(r *http.Request, body []byte, secret string, now time.Time, maxSkew time.Duration) error {
	a, err := parseSDKAuth(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if err := a.checkDate(r, now, maxSkew); err != nil {
		return err
	}
	q, err := actions.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return a.verify(r, r.URL.Path, q, body, secret)
}
