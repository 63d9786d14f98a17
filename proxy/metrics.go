package proxy

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series of one Server, on a registry of its own (no global
// registration).
type metrics struct {
	reg            *prometheus.Registry
	decisions      *prometheus.CounterVec // api, action, result
	responses      *prometheus.CounterVec // code, forwarded
	decisionTime   prometheus.Histogram
	upstreamTime   prometheus.Histogram
	upstreamErrors *prometheus.CounterVec // kind
	tokenCache     *prometheus.CounterVec // result (hit, miss)
	epLookups      *prometheus.CounterVec // result (cache_hit, found, not_found, error, busy)
	inflight       atomic.Int64           // imsguard_requests_in_flight (a GaugeFunc reads it)
	shed           prometheus.Counter
	reloads        prometheus.Counter
	reloadFailures prometheus.Counter
	generation     prometheus.Gauge
	lastReload     prometheus.Gauge
	wouldDeny      *prometheus.CounterVec // principal, api (rollout.go)

	iam         *iamMetrics // IAM call bound (iamlimit.go)
	decisionLog *logMetrics // decision log health (logsink.go)

	// The counters requests touch, cached by their label values (counterCache).
	decisionCounters counterCache[decisionLabels]
	responseCounters counterCache[responseLabels]
	tokenCounters    counterCache[string]
}

// decisionLabels are the label values of imsguard_decisions_total.
type decisionLabels struct{ api, action, result string }

// responseLabels are the label values of imsguard_responses_total.
type responseLabels struct {
	code      int
	forwarded bool
}

// counterCache finds the counter of a CounterVec for a request's label values with one
// atomic load and a map lookup, instead of hashing the values under the vector's lock
// (CounterVec.WithLabelValues) on every request. The map is copied on the rare insert of
// new values; the values a request can have are bounded (the catalog's APIs and actions,
// the results, status codes). Safe for concurrent use.
type counterCache[K comparable] struct {
	m  atomic.Pointer[map[K]prometheus.Counter]
	mu sync.Mutex // serialises inserts
}

// get returns the counter of k, made by vec with the label values labels(k) the first time.
func (c *counterCache[K]) get(vec *prometheus.CounterVec, k K, labels func(K) []string) prometheus.Counter {
	if m := c.m.Load(); m != nil {
		if ctr, ok := (*m)[k]; ok {
			return ctr
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if ctr, ok := (*old)[k]; ok {
			return ctr
		}
	}
	next := make(map[K]prometheus.Counter, 1+len(ptrMap(old)))
	for kk, v := range ptrMap(old) {
		next[kk] = v
	}
	ctr := vec.WithLabelValues(labels(k)...)
	next[k] = ctr
	c.m.Store(&next)
	return ctr
}

func ptrMap[K comparable](m *map[K]prometheus.Counter) map[K]prometheus.Counter {
	if m == nil {
		return nil
	}
	return *m
}

func decisionLabelValues(k decisionLabels) []string { return []string{k.api, k.action, k.result} }

func responseLabelValues(k responseLabels) []string {
	return []string{strconv.Itoa(k.code), strconv.FormatBool(k.forwarded)}
}

func tokenLabelValues(result string) []string { return []string{result} }

// tokenValidated counts a token validation by result.
func (m *metrics) tokenValidated(result string) {
	m.tokenCounters.get(m.tokenCache, result, tokenLabelValues).Inc()
}

func newMetrics() *metrics {
	latency := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imsguard_decisions_total",
			Help: "Decisions by IMS API, required action (\"none\" when the API needs none) and result (allow, explicit_deny, implicit_deny, or the reason a request was denied before the engine: no_api, identity, bad_request, body, engine, iam, decision_log, shed).",
		}, []string{"api", "action", "result"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imsguard_responses_total",
			Help: "Responses to clients by HTTP status and whether the request was forwarded upstream.",
		}, []string{"code", "forwarded"}),
		decisionTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imsguard_decision_duration_seconds",
			Help:    "Time from receiving a request to its decision (routing, identity, body, engine).",
			Buckets: latency,
		}),
		upstreamTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imsguard_upstream_duration_seconds",
			Help:    "Time from forwarding a request to the upstream response headers.",
			Buckets: latency,
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imsguard_upstream_errors_total",
			Help: "Forwarded requests that got no upstream response, by kind (unreachable, timeout, canceled).",
		}, []string{"kind"}),
		tokenCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imsguard_token_validations_total",
			Help: "X-Auth-Token validations by result (cache_hit, negative_cache_hit, iam_valid, iam_invalid, iam_error).",
		}, []string{"result"}),
		epLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imsguard_ep_lookups_total",
			Help: "Enterprise-project lookups of images by result (cache_hit, found, not_found, error, busy); only error and busy leave the enterprise project unknown for want of an answer.",
		}, []string{"result"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imsguard_shed_total",
			Help: "Requests refused with 503 and Retry-After (reason shed) because limits.max_inflight_decisions decisions stayed in flight for limits.queue_wait.",
		}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imsguard_reloads_total",
			Help: "Configuration and policy sets installed by a reload.",
		}),
		reloadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imsguard_reload_failures_total",
			Help: "Reloads that failed (the last good set stays in use).",
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imsguard_config_generation",
			Help: "Generation of the configuration and policy set in use (1 at start).",
		}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imsguard_config_last_reload_success_timestamp_seconds",
			Help: "Unix time the set in use was installed.",
		}),
	}
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "imsguard_requests_in_flight",
		Help: "Requests being handled.",
	}, func() float64 { return float64(m.inflight.Load()) })
	m.reg.MustRegister(m.decisions, m.responses, m.decisionTime, m.upstreamTime, m.upstreamErrors,
		m.tokenCache, m.epLookups, inflight, m.shed, m.reloads, m.reloadFailures, m.generation, m.lastReload,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.iam = newIAMMetrics(m.reg)
	m.wouldDeny = newWouldDeny(m.reg)
	m.decisionLog = newLogMetrics(m.reg)
	return m
}

// observe counts one finished request.
func (m *metrics) observe(rec *record) {
	result := rec.reason
	switch rec.decision {
	case "Allow":
		result = "allow"
	case "ExplicitDeny":
		result = "explicit_deny"
	case "ImplicitDeny":
		result = "implicit_deny"
	}
	api := rec.api
	if api == "" {
		api = "none"
	}
	if len(rec.actions) == 0 {
		m.decisionCounters.get(m.decisions, decisionLabels{api, "none", result}, decisionLabelValues).Inc()
	}
	for _, a := range rec.actions {
		m.decisionCounters.get(m.decisions, decisionLabels{api, a, result}, decisionLabelValues).Inc()
	}
	m.responseCounters.get(m.responses, responseLabels{rec.status, rec.forwarded}, responseLabelValues).Inc()
	if rec.reason == reasonShed {
		m.shed.Inc()
	}
	m.decisionTime.Observe(rec.decideDur.Seconds())
	if rec.forwarded && rec.upStatus > 0 {
		m.upstreamTime.Observe(rec.upDur.Seconds())
	}
	observeWouldDeny(m.wouldDeny, rec)
}

// handler serves /metrics, /healthz and /readyz.
func (m *metrics) handler(ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
