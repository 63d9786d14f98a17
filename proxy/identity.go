package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
)

// How a caller was identified, as logged ("auth").
const (
	authSignature  = "aksk"            // SDK-HMAC-SHA256, signature verified by the proxy
	authAccessKey  = "aksk-unverified" // SDK-HMAC-SHA256 without a configured secret: upstream verifies
	authToken      = "token"           // X-Auth-Token validated with IAM
	authDefault    = "default"         // no credential: default_principal
	headerAuthTok  = "X-Auth-Token"
	headerAuthoriz = "Authorization"
)

// identity is who made a request and what the condition keys say about them.
type identity struct {
	principal *Principal
	auth      string
	accessKey string // redacted
	project   string
	token     *tokenInfo
	cached    bool // token validation answered from the cache
}

// identify resolves the caller of r: an SDK-HMAC-SHA256 access key, an IAM token, or the
// default principal — exactly one. res is the matched request: its canonical path and
// parsed query are what the signature must cover; body returns the request body, read
// once, when the signature needs it.
func identify(ctx context.Context, r *http.Request, s *Snapshot, res *actions.Result, body func() ([]byte, *denial), now time.Time) (*identity, *denial) {
	authz := r.Header.Values(headerAuthoriz)
	tokens := r.Header.Values(headerAuthTok)
	switch {
	case len(authz) > 0 && len(tokens) > 0:
		return nil, unauthorized("send either an AK/SK signature or X-Auth-Token, not both", nil)
	case len(authz) > 1 || len(tokens) > 1:
		return nil, unauthorized("credential header sent more than once", nil)
	case len(authz) == 1:
		return identifyAKSK(r, s, res, authz[0], body, now)
	case len(tokens) == 1:
		return identifyToken(ctx, s, tokens[0])
	case s.fallback != nil:
		return s.fallbackID, nil // shared, read-only
	default:
		return nil, unauthorized("no credential: sign the request (AK/SK) or send X-Auth-Token", nil)
	}
}

func identifyAKSK(r *http.Request, s *Snapshot, res *actions.Result, header string, body func() ([]byte, *denial), now time.Time) (*identity, *denial) {
	if !isSDKAuth(header) {
		return nil, unauthorized("unsupported Authorization scheme: use SDK-HMAC-SHA256 or X-Auth-Token", nil)
	}
	a, err := parseSDKAuth(header)
	if err != nil {
		return nil, unauthorized(err.Error(), err)
	}
	if err := a.checkDate(r, now, s.Config.Signature.MaxSkew); err != nil {
		return nil, unauthorized(err.Error(), err)
	}
	id := &identity{accessKey: redactAK(a.access), project: s.Config.Project}
	p := s.byAK[a.access]
	if p == nil {
		return nil, unauthorized("access key "+id.accessKey+" is not configured for any principal", nil)
	}
	id.principal = p
	secret, ok := s.secrets[a.access]
	if !ok {
		if s.Config.RequireSignature {
			return nil, unauthorized("access key "+id.accessKey+" has no secret configured and require_signature is on", nil)
		}
		id.auth = authAccessKey
		return id, nil
	}
	var data []byte
	if a.needsBody(r) {
		var d *denial
		if data, d = body(); d != nil {
			return nil, d
		}
	}
	if err := a.verify(r, res.Path, res.QueryParams, data, secret); err != nil {
		return nil, unauthorized("AK/SK signature verification failed: "+err.Error(), err)
	}
	id.auth = authSignature
	return id, nil
}

func identifyToken(ctx context.Context, s *Snapshot, token string) (*identity, *denial) {
	if s.tokens == nil {
		return nil, unauthorized("X-Auth-Token cannot be validated: no [iam] endpoint is configured", nil)
	}
	ti, cached, err := s.tokens.validate(ctx, token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return nil, unauthorized("X-Auth-Token rejected: "+err.Error(), err)
	case err != nil:
		return nil, &denial{status: http.StatusServiceUnavailable, reason: reasonIAM, msg: "IAM could not validate the token; try again later", err: err}
	}
	id := &identity{auth: authToken, token: &ti, cached: cached, project: s.Config.Project}
	if ti.Project != "" {
		id.project = ti.Project
	}
	id.principal = s.principalOf(ti.DomainName, ti.UserName)
	if id.principal == nil {
		return id, &denial{status: http.StatusForbidden, reason: reasonIdentity, msg: "IAM user " + ti.DomainName + "/" + ti.UserName + " is not mapped to a principal"}
	}
	return id, nil
}

// userKey is a configured IAM user: a name in any domain (domain ""), or a name in one
// domain ("domain/name" in the configuration).
type userKey struct {
	domain, name string
	anyDomain    bool
}

// parseUserKey reads a validated users entry.
func parseUserKey(u string) userKey {
	if d, n, ok := strings.Cut(u, "/"); ok {
		return userKey{domain: d, name: n}
	}
	return userKey{name: u, anyDomain: true}
}

// principalOf maps an IAM user to a principal: the exact domain/name entry first, then a
// name entry that holds in any domain. Names and domains are compared exactly as IAM
// reports them, and a user or domain name holding "/" never falls back: user "acme/alice"
// in domain "evil" is not "alice" of "acme", nor "alice".
func (s *Snapshot) principalOf(domain, name string) *Principal {
	if strings.Contains(domain, "/") || strings.Contains(name, "/") || name == "" {
		return nil
	}
	if p := s.byUser[userKey{domain: domain, name: name}]; p != nil && domain != "" {
		return p
	}
	return s.byUser[userKey{name: name, anyDomain: true}]
}

func unauthorized(msg string, err error) *denial {
	if err == nil {
		err = errors.New(msg)
	}
	return &denial{status: http.StatusUnauthorized, reason: reasonIdentity, msg: msg, err: err}
}

// globals sets the global condition keys of the request in g; currentTime is the
// g:CurrentTime value (ISO 8601, UTC, seconds).
func (id *identity) globals(g *authz.Globals, currentTime, source string) {
	*g = authz.Globals{}
	g.Set(authz.GlobalCurrentTime, currentTime)
	if source != "" {
		g.Set(authz.GlobalSourceIP, source)
	}
	g.Set(authz.GlobalProjectName, id.project)
	if t := id.token; t != nil {
		g.Set(authz.GlobalUserName, t.UserName)
		g.Set(authz.GlobalUserID, t.UserID)
		if t.DomainName != "" {
			g.Set(authz.GlobalDomainName, t.DomainName)
		}
	}
}

// secondClock formats g:CurrentTime once per second instead of once per request. Safe for
// concurrent use.
type secondClock struct {
	last atomic.Pointer[formattedSecond]
}

type formattedSecond struct {
	unix int64
	text string
}

// currentTime returns now as RFC 3339 in UTC with second precision.
func (c *secondClock) currentTime(now time.Time) string {
	sec := now.Unix()
	if f := c.last.Load(); f != nil && f.unix == sec {
		return f.text
	}
	f := &formattedSecond{unix: sec, text: now.UTC().Format(time.RFC3339)}
	c.last.Store(f)
	return f.text
}
