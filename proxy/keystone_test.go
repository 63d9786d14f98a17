package proxy

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

func newTestValidator(t *testing.T, h http.Handler, cfg IAMConfig) (*tokenValidator, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 100
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 16
	}
	v, err := newTokenValidator(u, &tls.Config{MinVersion: tls.VersionTLS12}, cfg, newMetrics().iam)
	require.NoError(t, err)
	t.Cleanup(v.close)
	return v, srv
}

func TestTokenValidator(t *testing.T) {
	iam := stub.NewIAM()
	v, _ := newTestValidator(t, iam, IAMConfig{})
	ctx := context.Background()
	alice := stub.Identity{UserID: "u1", UserName: "alice", DomainID: "d1", DomainName: "acme", ProjectID: "p1", Project: "ae-ad-1"}
	tok := iam.IssueToken(alice, time.Hour)

	ti, cached, err := v.validate(ctx, tok)
	require.NoError(t, err)
	assert.False(t, cached)
	assert.Equal(t, tokenInfo{UserID: "u1", UserName: "alice", DomainID: "d1", DomainName: "acme", ProjectID: "p1", Project: "ae-ad-1", Expires: ti.Expires}, ti)
	assert.WithinDuration(t, time.Now().Add(time.Hour), ti.Expires, time.Minute)

	_, cached, err = v.validate(ctx, tok)
	require.NoError(t, err)
	assert.True(t, cached)
	assert.EqualValues(t, 1, iam.Validations(), "second validation answered from the cache")

	t.Run("concurrent validations share one call", func(t *testing.T) {
		tok := iam.IssueToken(alice, time.Hour)
		before := iam.Validations()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, _, err := v.validate(ctx, tok)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, iam.Validations()-before, int64(2))
	})
	t.Run("domain-scoped token", func(t *testing.T) {
		ti, _, err := v.validate(ctx, iam.IssueToken(stub.Identity{UserID: "u1", UserName: "alice", DomainName: "acme"}, time.Hour))
		require.NoError(t, err)
		assert.Empty(t, ti.Project)
	})
	for name, token := range map[string]string{
		"unknown":   "MIIEunknown",
		"expired":   iam.IssueToken(alice, -time.Second),
		"malformed": "two words",
		"empty":     "",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := v.validate(ctx, token)
			assert.ErrorIs(t, err, ErrInvalidToken)
			if token != "" {
				assert.NotContains(t, err.Error(), token)
			}
		})
	}
	t.Run("expiry ends the cache entry", func(t *testing.T) {
		tok := iam.IssueToken(alice, time.Hour)
		_, _, err := v.validate(ctx, tok)
		require.NoError(t, err)
		iam.Revoke(tok)
		v.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		defer func() { v.now = time.Now }()
		_, _, err = v.validate(ctx, tok)
		assert.ErrorIs(t, err, ErrInvalidToken)
	})
}

func TestTokenValidatorCacheBounds(t *testing.T) {
	iam := stub.NewIAM()
	v, _ := newTestValidator(t, iam, IAMConfig{CacheSize: 2, CacheMaxTTL: time.Minute})
	ctx := context.Background()
	id := stub.Identity{UserID: "u1", UserName: "alice", DomainName: "acme"}
	toks := []string{iam.IssueToken(id, time.Hour), iam.IssueToken(id, time.Hour), iam.IssueToken(id, time.Hour)}
	for _, tok := range toks {
		_, _, err := v.validate(ctx, tok)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, v.cache.Len(), "bounded")
	ti, _, _ := v.validate(ctx, toks[2])
	assert.WithinDuration(t, time.Now().Add(time.Minute), ti.Expires, 5*time.Second, "cache_max_ttl caps the entry")
}

func TestTokenValidatorIAMTrouble(t *testing.T) {
	ctx := context.Background()
	t.Run("server error", func(t *testing.T) {
		v, _ := newTestValidator(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }), IAMConfig{})
		_, _, err := v.validate(ctx, "MIIEx")
		assert.ErrorIs(t, err, ErrIAMUnavailable)
	})
	t.Run("garbage", func(t *testing.T) {
		v, _ := newTestValidator(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{")) }), IAMConfig{})
		_, _, err := v.validate(ctx, "MIIEx")
		assert.ErrorIs(t, err, ErrIAMUnavailable)
	})
	t.Run("timeout", func(t *testing.T) {
		block := make(chan struct{})
		v, _ := newTestValidator(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }), IAMConfig{Timeout: 100 * time.Millisecond})
		defer close(block)
		_, _, err := v.validate(ctx, "MIIEx")
		assert.ErrorIs(t, err, ErrIAMUnavailable)
	})
	t.Run("down", func(t *testing.T) {
		v, srv := newTestValidator(t, http.NotFoundHandler(), IAMConfig{})
		srv.Close()
		_, _, err := v.validate(ctx, "MIIEx")
		assert.ErrorIs(t, err, ErrIAMUnavailable)
		assert.NotContains(t, err.Error(), "MIIEx")
	})
	t.Run("through the proxy: 503", func(t *testing.T) {
		e := newEnv(t, baseConfig, nil)
		e.iamSrv.Close()
		resp, data := e.do(t, "GET", "/v2/images", nil, hdr("X-Auth-Token", "MIIEsomething"))
		assert.Equal(t, 503, resp.StatusCode)
		assert.Contains(t, string(data), "IMSGUARD.0503")
		assert.Equal(t, reasonIAM, e.lastDecision(t)["reason"])
		assert.Empty(t, e.ims.Requests())
	})
}

func TestSourceIP(t *testing.T) {
	trusted := []netip.Prefix{mustPrefix(t, "10.0.0.0/8"), mustPrefix(t, "192.0.2.1")}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
		err          bool
	}{
		{name: "peer", remote: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "untrusted peer's header ignored", remote: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{name: "trusted peer", remote: "10.1.2.3:5555", xff: []string{"198.51.100.1"}, want: "198.51.100.1"},
		{name: "right-most untrusted hop", remote: "10.1.2.3:5555", xff: []string{"6.6.6.6, 198.51.100.1, 192.0.2.1"}, want: "198.51.100.1"},
		{name: "several headers", remote: "10.1.2.3:5555", xff: []string{"6.6.6.6", "198.51.100.2"}, want: "198.51.100.2"},
		{name: "all trusted", remote: "10.1.2.3:5555", xff: []string{"10.9.9.9"}, want: "10.9.9.9"},
		{name: "ipv4-mapped peer", remote: "[::ffff:203.0.113.7]:5555", want: "203.0.113.7"},
		{name: "ipv6 peer", remote: "[2001:db8::1]:5555", want: "2001:db8::1"},
		{name: "garbage from trusted proxy", remote: "10.1.2.3:5555", xff: []string{"not-an-ip"}, err: true},
		{name: "all trusted, several hops", remote: "10.1.2.3:5555", xff: []string{"10.9.9.8, 10.9.9.9", "192.0.2.1"}, want: "10.9.9.8"},
		{name: "spaces around entries", remote: "10.1.2.3:5555", xff: []string{" 198.51.100.4 ,10.0.0.1 "}, want: "198.51.100.4"},
		{name: "written another way", remote: "10.1.2.3:5555", xff: []string{"2001:DB8:0::1"}, want: "2001:db8::1"},
		{name: "ipv4-mapped hop", remote: "10.1.2.3:5555", xff: []string{"::ffff:198.51.100.3"}, want: "198.51.100.3"},
		{name: "zone dropped", remote: "10.1.2.3:5555", xff: []string{"fe80::1%eth0"}, want: "fe80::1"},
		{name: "ipv6 peer written another way", remote: "[2001:DB8::1]:5555", want: "2001:db8::1"},
		{name: "empty entry", remote: "10.1.2.3:5555", xff: []string{"198.51.100.1,,10.0.0.1"}, err: true},
		{name: "trailing comma", remote: "10.1.2.3:5555", xff: []string{"198.51.100.1,"}, err: true},
		{name: "garbage left of an untrusted hop is not read", remote: "10.1.2.3:5555", xff: []string{"not-an-ip, 198.51.100.5"}, want: "198.51.100.5"},
		{name: "empty header line", remote: "10.1.2.3:5555", xff: []string{""}, err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, err := sourceIP(r, trusted)
			if tc.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := parsePrefix(s)
	require.NoError(t, err)
	return p
}
