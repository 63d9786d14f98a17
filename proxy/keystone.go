package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// Errors of token validation. Neither ever carries the token.
var (
	// ErrInvalidToken: IAM rejected the token, or it is expired or malformed.
	ErrInvalidToken = errors.New("invalid or expired token")
	// ErrIAMUnavailable: IAM could not be asked (network, timeout, unexpected answer).
	ErrIAMUnavailable = errors.New("IAM token validation unavailable")
)

// maxTokenLen bounds the X-Auth-Token accepted (IAM tokens are a few KiB).
const maxTokenLen = 32 << 10

// maxIAMResponse bounds the validation response read (the service catalog can be large).
const maxIAMResponse = 4 << 20

// tokenInfo is what a validated token says about its holder.
type tokenInfo struct {
	UserID, UserName     string
	DomainID, DomainName string
	ProjectID, Project   string // empty for a domain-scoped token
	Expires              time.Time
}

// tokenValidator validates X-Auth-Token values with Keystone v3 GET /v3/auth/tokens and
// caches the answers, keyed by the token's SHA-256, until the token expires (or maxTTL);
// tokens IAM rejected are remembered for iam.negative_cache_ttl. Concurrent validations of
// one token share one IAM call, and at most iam.max_concurrent calls are in flight.
// Safe for concurrent use.
type tokenValidator struct {
	url      string // .../v3/auth/tokens
	client   *http.Client
	timeout  time.Duration
	maxTTL   time.Duration
	cache    *lru.Cache[[sha256.Size]byte, tokenInfo]
	rejected *rejectedTokens
	limit    *iamLimiter
	group    singleflight.Group
	now      func() time.Time
}

func newTokenValidator(endpoint *url.URL, tlsConf *tls.Config, cfg IAMConfig, m *iamMetrics) (*tokenValidator, error) {
	cache, err := lru.New[[sha256.Size]byte, tokenInfo](cfg.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	rejected, err := newRejectedTokens(cfg)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf.Clone(),
		TLSHandshakeTimeout: cfg.Timeout,
		MaxConnsPerHost:     cfg.MaxConcurrent, // the limiter bounds calls; this bounds sockets too
		MaxIdleConnsPerHost: cfg.MaxConcurrent,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &tokenValidator{
		url:      strings.TrimSuffix(endpoint.String(), "/") + "/v3/auth/tokens",
		client:   &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		timeout:  cfg.Timeout,
		maxTTL:   cfg.CacheMaxTTL,
		cache:    cache,
		rejected: rejected,
		limit:    newIAMLimiter(cfg, m),
		now:      time.Now,
	}, nil
}

// validate returns what IAM says about token, from the cache when it is still valid.
// cached reports a cache hit. A token IAM rejected within the negative cache TTL is
// refused without a call (ErrInvalidToken wrapping errRecentlyRejected); a call that finds
// no free slot within the queue wait is refused (ErrIAMUnavailable wrapping errIAMBusy).
func (v *tokenValidator) validate(ctx context.Context, token string) (info tokenInfo, cached bool, err error) {
	if token == "" || len(token) > maxTokenLen || strings.ContainsAny(token, " \t\r\n") {
		return tokenInfo{}, false, fmt.Errorf("%w: malformed X-Auth-Token", ErrInvalidToken)
	}
	key := sha256.Sum256([]byte(token))
	now := v.now()
	if ti, ok := v.cache.Get(key); ok {
		if now.Before(ti.Expires) {
			return ti, true, nil
		}
		v.cache.Remove(key)
	}
	if v.rejected.has(key, now) {
		return tokenInfo{}, false, fmt.Errorf("%w: %w", ErrInvalidToken, errRecentlyRejected)
	}
	ch := v.group.DoChan(hex.EncodeToString(key[:]), func() (any, error) {
		if v.rejected.has(key, v.now()) { // rejected by a flight that just ended
			return tokenInfo{}, fmt.Errorf("%w: %w", ErrInvalidToken, errRecentlyRejected)
		}
		// Detached from the first caller: bounded by the queue wait, then the IAM timeout.
		release, err := v.limit.acquire()
		if err != nil {
			return tokenInfo{}, err
		}
		defer release()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
		defer cancel()
		ti, err := v.ask(cctx, token)
		if err != nil {
			if errors.Is(err, ErrInvalidToken) {
				v.rejected.add(key, v.now())
			}
			return tokenInfo{}, err
		}
		if v.maxTTL > 0 && ti.Expires.After(v.now().Add(v.maxTTL)) {
			cp := ti
			cp.Expires = v.now().Add(v.maxTTL)
			v.cache.Add(key, cp)
		} else {
			v.cache.Add(key, ti)
		}
		return ti, nil
	})
	select {
	case <-ctx.Done():
		return tokenInfo{}, false, fmt.Errorf("%w: %w", ErrIAMUnavailable, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return tokenInfo{}, false, res.Err
		}
		return res.Val.(tokenInfo), false, nil
	}
}

// keystoneToken is the part of the Keystone v3 token validation response the proxy uses.
type keystoneToken struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
		User      struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"domain"`
		} `json:"user"`
		Project *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"project"`
	} `json:"token"`
}

// ask calls IAM. The token validates itself (X-Auth-Token = X-Subject-Token), which IAM
// allows for every user, so the proxy needs no credential of its own.
func (v *tokenValidator) ask(ctx context.Context, token string) (tokenInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url+"?nocatalog=true", nil)
	if err != nil {
		return tokenInfo{}, fmt.Errorf("%w: build request: %v", ErrIAMUnavailable, err)
	}
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("X-Subject-Token", token)
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return tokenInfo{}, fmt.Errorf("%w: %v", ErrIAMUnavailable, redactURLError(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return tokenInfo{}, fmt.Errorf("%w: IAM answered %d", ErrInvalidToken, resp.StatusCode)
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return tokenInfo{}, fmt.Errorf("%w: IAM answered %d", ErrIAMUnavailable, resp.StatusCode)
	}
	var kt keystoneToken
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxIAMResponse)).Decode(&kt); err != nil {
		return tokenInfo{}, fmt.Errorf("%w: unreadable validation response: %v", ErrIAMUnavailable, err)
	}
	t := kt.Token
	exp, err := time.Parse(time.RFC3339Nano, t.ExpiresAt)
	if err != nil {
		return tokenInfo{}, fmt.Errorf("%w: validation response has no valid expires_at", ErrIAMUnavailable)
	}
	if t.User.Name == "" || t.User.ID == "" {
		return tokenInfo{}, fmt.Errorf("%w: validation response names no user", ErrIAMUnavailable)
	}
	if !v.now().Before(exp) {
		return tokenInfo{}, fmt.Errorf("%w: token expired at %s", ErrInvalidToken, exp.UTC().Format(time.RFC3339))
	}
	ti := tokenInfo{UserID: t.User.ID, UserName: t.User.Name, DomainID: t.User.Domain.ID, DomainName: t.User.Domain.Name, Expires: exp}
	if t.Project != nil {
		ti.ProjectID, ti.Project = t.Project.ID, t.Project.Name
	}
	return ti, nil
}

// redactURLError drops the URL (which holds no secret, but may be long) from client errors.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// close releases idle connections.
func (v *tokenValidator) close() { v.client.CloseIdleConnections() }
