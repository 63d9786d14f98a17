package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

// gatedIAM is an IAM stand-in that holds every validation of a token starting with
// "garbage" until release is closed and then rejects it (401); other tokens go to next.
// It records the calls and the most calls it ever had in flight at once.
type gatedIAM struct {
	next    http.Handler
	release chan struct{}
	once    sync.Once
	calls   atomic.Int64
	cur     atomic.Int64
	max     atomic.Int64
}

func newGatedIAM(next http.Handler) *gatedIAM {
	return &gatedIAM{next: next, release: make(chan struct{})}
}

func (g *gatedIAM) open() { g.once.Do(func() { close(g.release) }) }

func (g *gatedIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	n := g.cur.Add(1)
	defer g.cur.Add(-1)
	for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
	}
	if !strings.HasPrefix(r.Header.Get("X-Subject-Token"), "garbage") {
		g.next.ServeHTTP(w, r)
		return
	}
	<-g.release
	w.WriteHeader(http.StatusUnauthorized)
}

// newLimitedValidator is a token validator against h with its own metrics.
func newLimitedValidator(t *testing.T, h http.Handler, cfg IAMConfig) (*tokenValidator, *iamMetrics) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	def := Defaults().IAM
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 100
	}
	if cfg.NegativeCacheSize == 0 {
		cfg.NegativeCacheSize = def.NegativeCacheSize
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = def.MaxConcurrent
	}
	m := newMetrics().iam
	v, err := newTokenValidator(u, &tls.Config{MinVersion: tls.VersionTLS12}, cfg, m)
	require.NoError(t, err)
	t.Cleanup(v.close)
	return v, m
}

// TestIAMFloodIsBounded sends a flood of distinct invalid tokens: IAM never sees more than
// max_concurrent calls at once (the rest wait for a slot), every token is rejected, and
// each one is asked once.
func TestIAMFloodIsBounded(t *testing.T) {
	const bound, flood = 4, 40
	g := newGatedIAM(stub.NewIAM())
	v, m := newLimitedValidator(t, g, IAMConfig{MaxConcurrent: bound, QueueWait: time.Minute, NegativeCacheTTL: time.Minute})
	t.Cleanup(g.open) // before the IAM server closes: it waits for held calls
	ctx := context.Background()
	errs := make(chan error, flood)
	for i := range flood {
		go func() {
			_, _, err := v.validate(ctx, fmt.Sprintf("garbage-%03d", i))
			errs <- err
		}()
	}
	require.Eventually(t, func() bool {
		return g.cur.Load() == bound && gauge(t, m.inflight) == bound && gauge(t, m.waiting) == flood-bound
	}, 10*time.Second, 5*time.Millisecond, "IAM has the bound in flight, the rest of the flood queues")
	g.open()
	for range flood {
		assert.ErrorIs(t, <-errs, ErrInvalidToken)
	}
	assert.EqualValues(t, bound, g.max.Load(), "never more than max_concurrent calls at once")
	assert.EqualValues(t, flood, g.calls.Load(), "one call per token")
	assert.Zero(t, gauge(t, m.inflight))
	assert.Zero(t, gauge(t, m.waiting))
	assert.Zero(t, counter(t, m.refused), "all waited within queue_wait")

	// Within the TTL the same tokens cost IAM nothing.
	for i := range flood {
		_, _, err := v.validate(ctx, fmt.Sprintf("garbage-%03d", i))
		assert.ErrorIs(t, err, errRecentlyRejected)
	}
	assert.EqualValues(t, flood, g.calls.Load())
}

// TestIAMSaturatedBoundAnswersPromptly holds every slot with invalid tokens: a valid token
// is not queued behind them for longer than queue_wait, it gets ErrIAMUnavailable (503),
// is counted as refused, and is not remembered as invalid.
func TestIAMSaturatedBoundAnswersPromptly(t *testing.T) {
	for _, wait := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(fmt.Sprintf("queue_wait %s", wait), func(t *testing.T) {
			iam := stub.NewIAM()
			g := newGatedIAM(iam)
			v, m := newLimitedValidator(t, g, IAMConfig{MaxConcurrent: 2, QueueWait: wait, NegativeCacheTTL: time.Minute})
			t.Cleanup(g.open) // before the IAM server closes: it waits for held calls
			ctx := context.Background()
			held := make(chan error, 2)
			for i := range 2 {
				go func() {
					_, _, err := v.validate(ctx, fmt.Sprintf("garbage-held-%d", i))
					held <- err
				}()
			}
			require.Eventually(t, func() bool { return gauge(t, m.inflight) == 2 }, 10*time.Second, 5*time.Millisecond)

			tok := iam.IssueToken(stub.Identity{UserID: "u1", UserName: "alice", DomainName: "acme"}, time.Hour)
			start := time.Now()
			_, _, err := v.validate(ctx, tok)
			assert.ErrorIs(t, err, ErrIAMUnavailable)
			assert.ErrorIs(t, err, errIAMBusy)
			assert.NotContains(t, err.Error(), tok)
			assert.GreaterOrEqual(t, time.Since(start), wait, "waited queue_wait for a slot")
			assert.Less(t, time.Since(start), 5*time.Second, "and not for the held calls")
			assert.Equal(t, 1.0, counter(t, m.refused))

			g.open()
			for range 2 {
				assert.ErrorIs(t, <-held, ErrInvalidToken)
			}
			ti, cached, err := v.validate(ctx, tok)
			require.NoError(t, err, "a refusal for capacity is not remembered")
			assert.False(t, cached)
			assert.Equal(t, "alice", ti.UserName)
		})
	}
}

// TestNegativeCache pins which IAM answers are remembered: rejections (the token is bad)
// are, for the TTL; IAM trouble (its own errors, throttling, timeouts) never is.
func TestNegativeCache(t *testing.T) {
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	cases := []struct {
		name       string
		h          http.HandlerFunc
		want       error
		remembered bool
	}{
		{"401", status(401), ErrInvalidToken, true},
		{"403", status(403), ErrInvalidToken, true},
		{"404", status(404), ErrInvalidToken, true},
		{"expired", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = fmt.Fprintf(w, `{"token":{"expires_at":%q,"user":{"id":"u","name":"n"}}}`, past)
		}, ErrInvalidToken, true},
		{"500", status(500), ErrIAMUnavailable, false},
		{"429 throttled", status(429), ErrIAMUnavailable, false},
		{"unreadable answer", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{")) }, ErrIAMUnavailable, false},
		{"timeout", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, ErrIAMUnavailable, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); tc.h(w, r) })
			v, _ := newLimitedValidator(t, h, IAMConfig{Timeout: 100 * time.Millisecond, NegativeCacheTTL: 30 * time.Second})
			ctx := context.Background()
			for range 3 {
				_, _, err := v.validate(ctx, "MIIEsometoken")
				require.ErrorIs(t, err, tc.want)
				assert.NotContains(t, err.Error(), "MIIEsometoken")
			}
			if !tc.remembered {
				assert.EqualValues(t, 3, calls.Load(), "asked every time")
				return
			}
			assert.EqualValues(t, 1, calls.Load(), "asked once within the TTL")
			_, _, err := v.validate(ctx, "MIIEsometoken")
			assert.ErrorIs(t, err, errRecentlyRejected)
			_, _, err = v.validate(ctx, "MIIEothertoken")
			assert.ErrorIs(t, err, tc.want)
			assert.EqualValues(t, 2, calls.Load(), "keyed by the token")

			v.now = func() time.Time { return time.Now().Add(31 * time.Second) }
			_, _, err = v.validate(ctx, "MIIEsometoken")
			assert.ErrorIs(t, err, tc.want)
			assert.NotErrorIs(t, err, errRecentlyRejected)
			assert.EqualValues(t, 3, calls.Load(), "asked again after the TTL")
		})
	}
	t.Run("off", func(t *testing.T) {
		var calls atomic.Int64
		v, _ := newLimitedValidator(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { calls.Add(1); w.WriteHeader(401) }), IAMConfig{})
		for range 3 {
			_, _, err := v.validate(context.Background(), "MIIEsometoken")
			require.ErrorIs(t, err, ErrInvalidToken)
		}
		assert.EqualValues(t, 3, calls.Load(), "negative_cache_ttl = 0 remembers nothing")
	})
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// TestIAMProtectionThroughProxy drives both protections through the proxy and its metrics:
// a saturated bound answers a valid token 503 (reason iam), a repeated invalid token is
// refused from the negative cache without an IAM call.
func TestIAMProtectionThroughProxy(t *testing.T) {
	cfg := strings.Replace(baseConfig, "[iam]\n", "[iam]\nmax_concurrent = 1\nqueue_wait = \"50ms\"\nnegative_cache_ttl = \"1m\"\n", 1)
	e := newEnv(t, cfg, nil)
	g := newGatedIAM(e.iam)
	t.Cleanup(g.open)
	e.iamSrv.Config.Handler = g
	m := e.srv.metrics
	validations := func(result string) float64 { return counter(t, m.tokenCache.WithLabelValues(result)) }

	held := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", e.url+"/v2/images", nil)
		req.Header.Set("X-Auth-Token", "garbage-token-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	require.Eventually(t, func() bool { return gauge(t, m.iam.inflight) == 1 }, 10*time.Second, 5*time.Millisecond)

	alice := e.iam.IssueToken(stub.Identity{UserID: "u-alice", UserName: "alice", DomainName: "acme", Project: "ae-ad-1"}, time.Hour)
	resp, data := e.do(t, "GET", "/v2/images", nil, hdr("X-Auth-Token", alice))
	assert.Equal(t, 503, resp.StatusCode)
	assert.Contains(t, string(data), `"error_code":"IMSGUARD.0503"`)
	line := e.lastDecision(t)
	assert.Equal(t, reasonIAM, line["reason"])
	assert.Contains(t, line["error"], "iam.max_concurrent")
	assert.Empty(t, e.ims.Requests())
	assert.Equal(t, 1.0, counter(t, m.iam.refused))
	assert.Equal(t, 1.0, validations("iam_error"))

	g.open()
	assert.Equal(t, 401, <-held)
	assert.Equal(t, 1.0, validations("iam_invalid"))
	calls := g.calls.Load()
	resp, _ = e.do(t, "GET", "/v2/images", nil, hdr("X-Auth-Token", "garbage-token-1"))
	assert.Equal(t, 401, resp.StatusCode)
	assert.Equal(t, calls, g.calls.Load(), "answered from the negative cache")
	assert.Equal(t, 1.0, validations("negative_cache_hit"))

	resp, _ = e.do(t, "GET", "/v2/images", nil, hdr("X-Auth-Token", alice))
	assert.Equal(t, 200, resp.StatusCode, "the bound is free again")
	assert.Zero(t, gauge(t, m.iam.inflight))

	mh := httptest.NewServer(e.srv.MetricsHandler())
	defer mh.Close()
	mr, err := http.Get(mh.URL + "/metrics")
	require.NoError(t, err)
	defer mr.Body.Close()
	body, err := io.ReadAll(mr.Body)
	require.NoError(t, err)
	for _, want := range []string{
		`imsguard_token_validations_total{result="negative_cache_hit"} 1`,
		`imsguard_iam_calls_refused_total 1`,
		`imsguard_iam_calls_in_flight 0`,
		`imsguard_iam_calls_waiting 0`,
	} {
		assert.Contains(t, string(body), want)
	}
}

func TestIAMLimitsConfig(t *testing.T) {
	cfg, err := ParseConfig("c.toml", []byte(minimalConfig))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, cfg.IAM.NegativeCacheTTL)
	assert.Equal(t, 10000, cfg.IAM.NegativeCacheSize)
	assert.Equal(t, 16, cfg.IAM.MaxConcurrent)
	assert.Equal(t, time.Second, cfg.IAM.QueueWait)

	cases := []struct {
		name, table string
		key         string // "" when valid
	}{
		{"all set", "negative_cache_ttl = \"5s\"\nnegative_cache_size = 50\nmax_concurrent = 4\nqueue_wait = \"250ms\"", ""},
		{"negative cache off, no queue", "negative_cache_ttl = \"0s\"\nqueue_wait = \"0s\"", ""},
		{"negative ttl", "negative_cache_ttl = \"-1s\"", "iam.negative_cache_ttl"},
		{"ttl too long", "negative_cache_ttl = \"11m\"", "iam.negative_cache_ttl"},
		{"no negative cache entries", "negative_cache_size = 0", "iam.negative_cache_size"},
		{"no calls", "max_concurrent = 0", "iam.max_concurrent"},
		{"too many calls", "max_concurrent = 5000", "iam.max_concurrent"},
		{"negative wait", "queue_wait = \"-1s\"", "iam.queue_wait"},
		{"wait too long", "queue_wait = \"2m\"", "iam.queue_wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("c.toml", []byte(minimalConfig+"[iam]\n"+tc.table+"\n"))
			if tc.key == "" {
				require.NoError(t, err)
				return
			}
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Equal(t, tc.key, ce.Key)
			assert.Equal(t, 6, ce.Line, err.Error())
		})
	}
}

// TestIAMLimitChangeRebuildsValidator: a reload that changes the protections builds a new
// validator (with the new bound); one that does not keeps the old one and its caches.
func TestIAMLimitChangeRebuildsValidator(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	first := e.srv.Snapshot().tokens
	require.NotNil(t, first)
	require.NoError(t, e.srv.Reload(context.Background()))
	assert.Same(t, first, e.srv.Snapshot().tokens, "unchanged [iam]: validator and caches kept")
	e.writeFiles(t, map[string]string{"imsguard.toml": strings.Replace(baseConfig, "[iam]\n", "[iam]\nmax_concurrent = 3\n", 1)})
	require.NoError(t, e.srv.Reload(context.Background()))
	second := e.srv.Snapshot().tokens
	assert.NotSame(t, first, second)
	assert.Equal(t, 3, cap(second.limit.slots))
}
