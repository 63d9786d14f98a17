package proxy

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
)

// gatedDecider allows every request once its gate is open; until then decisions wait in
// it. It records how many were inside at once.
type gatedDecider struct {
	gate    chan struct{} // closed: decide
	entered chan struct{} // one value per decision that entered
	inside  atomic.Int64
	most    atomic.Int64
}

func newGatedDecider() *gatedDecider {
	return &gatedDecider{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
}

func (g *gatedDecider) Decide(ctx context.Context, in authz.Input) (authz.Decision, error) {
	n := g.inside.Add(1)
	defer g.inside.Add(-1)
	for {
		m := g.most.Load()
		if n <= m || g.most.CompareAndSwap(m, n) {
			break
		}
	}
	g.entered <- struct{}{}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return authz.Decision{Effect: authz.ImplicitDeny}, ctx.Err()
	}
	d := authz.Decision{Effect: authz.Allow}
	for _, a := range in.Actions {
		d.Actions = append(d.Actions, authz.ActionDecision{Action: a, Effect: authz.Allow})
	}
	return d, nil
}

func (g *gatedDecider) factory() DeciderFactory {
	return func(context.Context, *actions.Catalog, []authz.Attachment, authz.Options) (Decider, error) {
		return g, nil
	}
}

// limitsConfig is baseConfig with a [limits] table.
func limitsConfig(table string) string {
	return strings.Replace(baseConfig, "[metrics]", "[limits]\n"+table+"\n\n[metrics]", 1)
}

// TestShedPastCapacity drives the proxy past its decision bound with decisions that do not
// finish: the requests beyond it are refused with 503, Retry-After and the IMS error shape
// while the admitted ones are still deciding (so they waited only the queue wait, not for a
// decision), logged with reason shed, counted, never forwarded; the admitted ones then
// complete normally, and no more than the bound were ever decided at once.
func TestShedPastCapacity(t *testing.T) {
	g := newGatedDecider()
	e := newEnv(t, limitsConfig("max_inflight_decisions = 2\nqueue_wait = \"1ms\""), nil, withDecider(g.factory()))

	var wg sync.WaitGroup
	admitted := make([]int, 2)
	for i := range admitted {
		wg.Go(func() {
			resp, err := http.Get(e.url + "/v2/images")
			if err == nil {
				resp.Body.Close()
				admitted[i] = resp.StatusCode
			}
		})
	}
	<-g.entered
	<-g.entered // both slots taken, both decisions waiting at the gate

	const shed = 5
	for range shed {
		resp, body := e.do(t, "GET", "/v2/images", nil, nil)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
		var eb errorBody
		require.NoError(t, json.Unmarshal(body, &eb))
		assert.Equal(t, "IMSGUARD.0503", eb.ErrorCode)
		assert.Contains(t, eb.ErrorMsg, "at capacity")
		assert.Equal(t, resp.Header.Get(HeaderDecisionID), eb.DecisionID)
		line := e.lastDecision(t)
		assert.Equal(t, "shed", line["reason"])
		assert.Equal(t, "Deny", line["decision"])
		assert.Equal(t, false, line["forwarded"])
		assert.Contains(t, line["error"], "limits.max_inflight_decisions")
	}
	assert.Equal(t, int64(2), g.inside.Load(), "the admitted decisions were still in flight while the others were refused")
	assert.Empty(t, e.ims.Requests(), "nothing shed was forwarded")
	assert.Equal(t, float64(shed), counter(t, e.srv.metrics.shed))
	assert.Equal(t, float64(shed), counter(t, e.srv.metrics.decisions.WithLabelValues("glance_list_images", "ims:images:list", "shed")))

	close(g.gate)
	wg.Wait()
	assert.Equal(t, []int{200, 200}, admitted, "admitted requests complete normally")
	assert.Equal(t, int64(2), g.most.Load(), "never more decisions at once than max_inflight_decisions")
	assert.Len(t, e.ims.Requests(), 2)
}

// TestShedQueueWait: a decision that finds the slots taken waits for one (up to
// limits.queue_wait) and is decided when one frees, not refused.
func TestShedQueueWait(t *testing.T) {
	g := newGatedDecider()
	e := newEnv(t, limitsConfig("max_inflight_decisions = 1\nqueue_wait = \"10s\""), nil, withDecider(g.factory()))
	codes := make(chan int, 2)
	get := func() {
		resp, err := http.Get(e.url + "/v2/images")
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	go get()
	<-g.entered
	go get()
	lim := e.srv.Snapshot().limiter
	require.Eventually(t, func() bool { return lim.waiting.Load() == 1 }, 10*time.Second, time.Millisecond, "the second decision waits for the slot")
	assert.Equal(t, int64(1), g.inside.Load())
	close(g.gate)
	assert.Equal(t, 200, <-codes)
	assert.Equal(t, 200, <-codes)
	assert.Equal(t, int64(1), g.most.Load())
	assert.Zero(t, counter(t, e.srv.metrics.shed))
}

// TestShedAtOnce: queue_wait = 0 refuses at once when every slot is taken.
func TestShedAtOnce(t *testing.T) {
	g := newGatedDecider()
	e := newEnv(t, limitsConfig("max_inflight_decisions = 1\nqueue_wait = \"0s\""), nil, withDecider(g.factory()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Get(e.url + "/v2/images"); err == nil {
			resp.Body.Close()
		}
	}()
	<-g.entered
	resp, _ := e.do(t, "GET", "/v2/images", nil, nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	close(g.gate)
	<-done
}

// TestDecisionLimiterDefault: 0 means half the cores (at least one), and a reload with the same
// limits keeps the limiter (its slots in use stay counted).
func TestDecisionLimiterDefault(t *testing.T) {
	l := newDecisionLimiter(LimitsConfig{QueueWait: time.Second})
	assert.Equal(t, int64(defaultInflightDecisions()), l.max)
	assert.True(t, l.same(LimitsConfig{QueueWait: time.Second}))
	assert.True(t, l.same(LimitsConfig{MaxInflightDecisions: defaultInflightDecisions(), QueueWait: time.Second}))
	assert.False(t, l.same(LimitsConfig{MaxInflightDecisions: 3, QueueWait: time.Second}))
	assert.False(t, l.same(LimitsConfig{QueueWait: 2 * time.Second}))
	var none *decisionLimiter
	require.NoError(t, none.acquire(context.Background()), "no limiter bounds nothing")
	none.release()
}

// TestDecisionLimiterBound: many goroutines deciding at once never exceed the bound, and
// with a long enough queue wait none is shed.
func TestDecisionLimiterBound(t *testing.T) {
	l := newDecisionLimiter(LimitsConfig{MaxInflightDecisions: 3, QueueWait: 10 * time.Second})
	var inside, most atomic.Int64
	var shed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 200 {
				if err := l.acquire(context.Background()); err != nil {
					shed.Add(1)
					continue
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				inside.Add(-1)
				l.release()
			}
		})
	}
	wg.Wait()
	assert.Zero(t, shed.Load())
	assert.LessOrEqual(t, most.Load(), int64(3))
	assert.Zero(t, l.inuse.Load())
}
