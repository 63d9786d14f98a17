package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imsguard/imsguard/rego/authz"
)

// reasonShed is the reason (respond.go) of a request refused because the proxy was at
// capacity: limits.max_inflight_decisions decisions stayed in flight for limits.queue_wait.
const reasonShed = "shed"

// errShed is the logged cause of a shed request.
var errShed = errors.New("at capacity")

// maxStalledWaits is how many queue waits a decision may wait again because the process
// was stalled through them (decisionLimiter.acquire).
const maxStalledWaits = 3

// shedRetryAfter is the Retry-After (seconds) of a shed request.
const shedRetryAfter = "1"

// defaultInflightDecisions is the bound on decisions in flight when
// limits.max_inflight_decisions is 0: half the cores (GOMAXPROCS), at least one. A decision
// is CPU work only (body reads, IAM calls and image lookups happen outside it), and Go's
// scheduler runs goroutines that are already runnable before those the network wakes: when
// decisions may take every core, the proxy cannot even read the requests it would shed, and
// they queue in the kernel and the run queue for seconds (TestLoadShed measured 2.4 s at
// the median with 4 slots per core, 55 ms with one slot on two cores). With half the cores
// the others keep reading, shedding and forwarding.
func defaultInflightDecisions() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// decisionLimiter bounds the policy decisions evaluated at once ([limits]). A decision
// that finds every slot taken waits at most limits.queue_wait for one, then the request is
// refused with a fast 503: past capacity the proxy sheds load instead of letting every
// request queue for the CPU, so the requests it admits keep their latency. A slot is held
// only while the engine evaluates (Decider.Decide): reading a body, validating a token and
// looking an image up hold none, so slow clients or a slow IAM cannot take the slots.
//
// A slot is taken by a goroutine that is running, never handed to a waiter that would
// still have to be scheduled: a freed slot wakes a waiter, which takes it if it is still
// free when it runs (a running decision may have taken it first). With hand-over, each
// freed slot would wait in the run queue with its new owner, and when that queue is long
// (a garbage collection, a burst) decisions would convoy and be shed far below capacity.
// Safe for concurrent use; a nil *decisionLimiter bounds nothing.
type decisionLimiter struct {
	max     int64
	wait    time.Duration
	inuse   atomic.Int64
	waiting atomic.Int64
	wake    chan struct{} // a slot was freed while decisions waited (buffered: max)
}

// newDecisionLimiter builds the limiter of cfg (max 0: defaultInflightDecisions).
func newDecisionLimiter(cfg LimitsConfig) *decisionLimiter {
	n := cfg.MaxInflightDecisions
	if n == 0 {
		n = defaultInflightDecisions()
	}
	return &decisionLimiter{max: int64(n), wait: cfg.QueueWait, wake: make(chan struct{}, n)}
}

// same reports whether l is what cfg configures, so a reload can keep it.
func (l *decisionLimiter) same(cfg LimitsConfig) bool {
	n := cfg.MaxInflightDecisions
	if n == 0 {
		n = defaultInflightDecisions()
	}
	return l != nil && l.max == int64(n) && l.wait == cfg.QueueWait
}

// tryAcquire takes a free slot.
func (l *decisionLimiter) tryAcquire() bool {
	for {
		n := l.inuse.Load()
		if n >= l.max {
			return false
		}
		if l.inuse.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// acquire takes a slot, waiting at most the queue wait (or until ctx ends); the caller
// must release it once the decision is made. The error wraps errShed.
func (l *decisionLimiter) acquire(ctx context.Context) error {
	if l == nil || l.tryAcquire() || l.spin() {
		return nil
	}
	if l.wait <= 0 {
		return fmt.Errorf("%w: %d decisions in flight (limits.max_inflight_decisions)", errShed, l.max)
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	start := time.Now()
	t := time.NewTimer(l.wait)
	defer t.Stop()
	for stalls := 0; ; {
		if l.tryAcquire() { // also after registering as waiting: no release goes unseen
			return nil
		}
		select {
		case <-l.wake:
		case <-t.C:
			if l.tryAcquire() { // freed as the wait ran out
				return nil
			}
			// A timer that fires a whole queue wait late means the process did not run
			// (the machine stalled it): the decisions had no chance to finish, so that
			// wait does not count. Wait again, a few times at most.
			if waited := time.Since(start); waited > 2*l.wait && stalls < maxStalledWaits {
				stalls++
				start = time.Now()
				t.Reset(l.wait)
				continue
			}
			return fmt.Errorf("%w: %d decisions stayed in flight (limits.max_inflight_decisions) for %s (limits.queue_wait)", errShed, l.max, l.wait)
		case <-ctx.Done():
			return fmt.Errorf("%w: the client went away while waiting for a decision slot: %w", errShed, ctx.Err())
		}
	}
}

// spinWait is how long a decision that finds every slot taken keeps trying before it
// parks: decisions take microseconds, and a parked goroutine waits for the scheduler to run
// it again once woken — milliseconds while the collector marks — which at 2,000 requests/s
// put the ~1 % of requests that found the slot busy into the p99.
const spinWait = 50 * time.Microsecond

// spin tries to take a slot for up to spinWait, when another core can free one meanwhile.
func (l *decisionLimiter) spin() bool {
	if runtime.GOMAXPROCS(0) < 2 {
		return false
	}
	t0 := time.Now()
	for i := 1; ; i++ {
		if l.tryAcquire() {
			return true
		}
		if i%32 == 0 && time.Since(t0) > spinWait {
			return false
		}
	}
}

// release gives a slot back and wakes a waiter, if any.
func (l *decisionLimiter) release() {
	if l == nil {
		return
	}
	l.inuse.Add(-1)
	if l.waiting.Load() > 0 {
		select {
		case l.wake <- struct{}{}:
		default: // max wake-ups pending already
		}
	}
}

// decideLimited asks p's decider to decide in, holding one of the snapshot's decision
// slots while it evaluates.
func decideLimited(ctx context.Context, s *Snapshot, p *Principal, in authz.Input) (authz.Decision, error) {
	if err := s.limiter.acquire(ctx); err != nil {
		return authz.Decision{Effect: authz.ImplicitDeny}, err
	}
	defer s.limiter.release()
	return p.decider.Decide(ctx, in)
}

// shedDenial is the answer to a shed request: 503 in the IMS error shape with Retry-After.
func shedDenial(err error) *denial {
	return &denial{status: http.StatusServiceUnavailable, reason: reasonShed, retryAfter: shedRetryAfter,
		msg: "imsguard is at capacity and refused the request without deciding it; try again shortly", err: err}
}

// limiterMetrics are the series of the decision bound. They read the limiter of the
// snapshot in use (a reload may replace it); shed requests are counted by metrics.observe.
func limiterMetrics(current func() *decisionLimiter) []prometheus.Collector {
	gauge := func(name, help string, v func(l *decisionLimiter) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			if l := current(); l != nil {
				return float64(v(l))
			}
			return 0
		})
	}
	return []prometheus.Collector{
		gauge("imsguard_decisions_in_flight", "Policy decisions being evaluated (at most imsguard_decision_slots).",
			func(l *decisionLimiter) int { return int(l.inuse.Load()) }),
		gauge("imsguard_decisions_waiting", "Decisions waiting (at most limits.queue_wait) for a slot.",
			func(l *decisionLimiter) int { return int(l.waiting.Load()) }),
		gauge("imsguard_decision_slots", "Decisions evaluated at once at most (limits.max_inflight_decisions, or its default).",
			func(l *decisionLimiter) int { return int(l.max) }),
	}
}
