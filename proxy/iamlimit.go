package proxy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// maxNegativeCacheTTL bounds iam.negative_cache_ttl: a token IAM rejected is refused without
// asking IAM for at most this long.
const maxNegativeCacheTTL = 10 * time.Minute

// Errors of the IAM protections; each is wrapped with ErrInvalidToken or ErrIAMUnavailable.
var (
	// errRecentlyRejected: IAM rejected the token within iam.negative_cache_ttl.
	errRecentlyRejected = errors.New("IAM rejected it recently (iam.negative_cache_ttl)")
	// errIAMBusy: iam.max_concurrent calls stayed in flight for iam.queue_wait.
	errIAMBusy = errors.New("too many validation calls in flight (iam.max_concurrent)")
)

// rejectedTokens is the negative cache: the SHA-256 of tokens IAM answered as invalid
// (401, 403, 404, or expired), each until a deadline, so a flood of garbage tokens (or one
// bad token repeated) costs IAM one call per token per TTL. IAM errors, timeouts and
// refusals for lack of capacity are never remembered. Safe for concurrent use; a nil
// *rejectedTokens (TTL 0) remembers nothing.
type rejectedTokens struct {
	ttl   time.Duration
	until *lru.Cache[[sha256.Size]byte, time.Time]
}

func newRejectedTokens(cfg IAMConfig) (*rejectedTokens, error) {
	if cfg.NegativeCacheTTL <= 0 {
		return nil, nil
	}
	c, err := lru.New[[sha256.Size]byte, time.Time](cfg.NegativeCacheSize)
	if err != nil {
		return nil, fmt.Errorf("negative token cache: %w", err)
	}
	return &rejectedTokens{ttl: cfg.NegativeCacheTTL, until: c}, nil
}

// has reports whether the token with this hash was rejected less than the TTL before now.
func (r *rejectedTokens) has(key [sha256.Size]byte, now time.Time) bool {
	if r == nil {
		return false
	}
	until, ok := r.until.Get(key)
	if !ok {
		return false
	}
	if now.Before(until) {
		return true
	}
	r.until.Remove(key)
	return false
}

// add remembers that IAM rejected the token with this hash at now.
func (r *rejectedTokens) add(key [sha256.Size]byte, now time.Time) {
	if r != nil {
		r.until.Add(key, now.Add(r.ttl))
	}
}

// iamLimiter bounds the validation calls to IAM in flight at once (iam.max_concurrent). A
// call that finds every slot taken waits at most iam.queue_wait for one, then is refused:
// a flood of tokens cannot queue requests without end, and valid tokens get a prompt 503
// instead of waiting behind it. Safe for concurrent use.
type iamLimiter struct {
	slots chan struct{}
	wait  time.Duration
	m     *iamMetrics
}

func newIAMLimiter(cfg IAMConfig, m *iamMetrics) *iamLimiter {
	return &iamLimiter{slots: make(chan struct{}, cfg.MaxConcurrent), wait: cfg.QueueWait, m: m}
}

// acquire takes a slot, waiting at most the queue wait; the caller must call release once
// done. The error wraps ErrIAMUnavailable and errIAMBusy.
func (l *iamLimiter) acquire() (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
	default:
		if !l.waitForSlot() {
			l.m.refused.Inc()
			return nil, fmt.Errorf("%w: %w: %d calls still in flight after %s", ErrIAMUnavailable, errIAMBusy, cap(l.slots), l.wait)
		}
	}
	l.m.inflight.Inc()
	return func() {
		l.m.inflight.Dec()
		<-l.slots
	}, nil
}

func (l *iamLimiter) waitForSlot() bool {
	if l.wait <= 0 {
		return false
	}
	l.m.waiting.Inc()
	defer l.m.waiting.Dec()
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// iamMetrics are the series of the IAM call bound, shared by every token validator of a
// Server (a reload may replace the validator).
type iamMetrics struct {
	inflight prometheus.Gauge
	waiting  prometheus.Gauge
	refused  prometheus.Counter
}

func newIAMMetrics(reg prometheus.Registerer) *iamMetrics {
	m := &iamMetrics{
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imsguard_iam_calls_in_flight",
			Help: "Token validation calls to IAM in flight (at most iam.max_concurrent).",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imsguard_iam_calls_waiting",
			Help: "Token validation calls waiting (at most iam.queue_wait) for one of the iam.max_concurrent slots.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imsguard_iam_calls_refused_total",
			Help: "Token validations refused with 503 (reason iam) because iam.max_concurrent calls stayed in flight for iam.queue_wait.",
		}),
	}
	reg.MustRegister(m.inflight, m.waiting, m.refused)
	return m
}

// sameIAMLimits reports whether a and b configure the negative cache and the call bound
// alike, so a token validator built for a serves b too.
func sameIAMLimits(a, b IAMConfig) bool {
	return a.NegativeCacheTTL == b.NegativeCacheTTL && a.NegativeCacheSize == b.NegativeCacheSize &&
		a.MaxConcurrent == b.MaxConcurrent && a.QueueWait == b.QueueWait
}
