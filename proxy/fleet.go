package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imsguard/imsguard/rego/fleet"
)

// A fleet (opa_config): the principals and policies come from the OPA bundle "imsguard",
// which OPA's bundle plugin downloads (and verifies, persists) as any OPA does; decision
// events go to OPA's decision_logs plugin; the status plugin reports both. imsguard checks
// each new revision — decoded, validated, linted with the [lint] table, compiled, warmed —
// inside OPA's activation, and vetoes it when any step fails, so a refused revision is
// never active in OPA either, and the set in use keeps serving. Until the first revision
// is active, the snapshot is pending: /readyz is 503 and every request is refused with a
// 503 in the IMS error shape.

// reasonNoBundle is the reason of a request refused because no bundle is active yet.
const reasonNoBundle = "no_bundle"

// errNoBundle is the logged cause of a request refused by a pending snapshot.
var errNoBundle = errors.New("no imsguard bundle is active yet (opa_config)")

// noBundle is the denial of every request while the snapshot is pending.
func noBundle() *denial {
	return &denial{status: http.StatusServiceUnavailable, reason: reasonNoBundle,
		msg: "imsguard has no policies yet: it waits for its first policy bundle from the OPA bundle service; refused, try again later",
		err: errNoBundle}
}

// decisionPath is the path of imsguard's decisions in OPA's decision-log events.
const decisionPath = "imsguard/decision"

// fleetMetrics are the series of the bundle and decision-event plumbing.
type fleetMetrics struct {
	activations *prometheus.CounterVec // result: activated, refused, failed
	duration    prometheus.Histogram
	info        *prometheus.GaugeVec // revision
	last        prometheus.Gauge
}

func newFleetMetrics(reg prometheus.Registerer, dropped func() float64) *fleetMetrics {
	m := &fleetMetrics{
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imsguard_bundle_activations_total",
			Help: "Attempts to activate a new imsguard bundle revision by result: activated; refused by imsguard (bad data, lint errors, does not compile; the set in use stays); failed before imsguard saw it (bundle server unreachable, bad signature, not a bundle).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imsguard_bundle_activation_duration_seconds",
			Help:    "Time to check a new bundle revision before it replaces the set in use: decode, validate, lint, compile, warm.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "imsguard_bundle_info",
			Help: "1 for the revision of the imsguard bundle in use (no series before the first).",
		}, []string{"revision"}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imsguard_bundle_last_activation_timestamp_seconds",
			Help: "Unix time the bundle revision in use was activated.",
		}),
	}
	reg.MustRegister(m.activations, m.duration, m.info, m.last, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "imsguard_decision_events_dropped_total",
		Help: "Decision events not handed to OPA's decision_logs plugin because its queue was full (the local decision log still has them).",
	}, dropped))
	for _, r := range []string{"activated", "refused", "failed"} {
		m.activations.WithLabelValues(r)
	}
	return m
}

// startFleet starts OPA's plugins from the opa_config file of s, its ${NAME} references
// expanded by the loader (their values kept out of OPA's errors and log lines). A
// persisted bundle is activated before it returns.
func (srv *Server) startFleet(ctx context.Context, s *Snapshot) error {
	name := s.src.display(s.src.resolve(s.Config.OPAConfig))
	for _, w := range s.in.opaWarnings { // the build checked the file
		srv.log.Warn(s.in.opaRedact.String(w))
	}
	id := srv.opts.InstanceID
	if id == "" {
		id, _ = os.Hostname()
	}
	a, err := fleet.Start(ctx, fleet.Options{
		Config:   s.in.opa,
		Name:     name,
		ID:       id,
		Log:      srv.log,
		Redact:   s.in.opaRedact,
		Activate: srv.activateBundle,
		Failed: func(msg string) {
			srv.fleetMetrics.activations.WithLabelValues("failed").Inc()
		},
	})
	if err != nil {
		return err
	}
	srv.agent.Store(a)
	srv.reportFleetState("")
	return nil
}

// fleetStopMax bounds how long the decision_logs plugin may try to upload what it buffered
// at shutdown: OPA retries until its deadline, and a collector that is down must not hold a
// stopping proxy (the local decision log has every line).
const fleetStopMax = 5 * time.Second

// stopFleet stops the plugins, giving the decision_logs plugin up to min(budget,
// fleetStopMax) to upload what it buffered.
func (srv *Server) stopFleet(ctx context.Context, budget time.Duration) {
	a := srv.agent.Load()
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(budget, fleetStopMax))
	defer cancel()
	a.Stop(ctx)
}

// triggerBundle asks the bundle server for a new revision now (SIGHUP), in the
// background; the outcome is logged and counted as any attempt's.
func (srv *Server) triggerBundle(ctx context.Context) {
	a := srv.agent.Load()
	if a == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = a.Trigger(ctx)
	}()
}

// activateBundle is the agent's ActivateFunc: it builds a snapshot from the bundle and the
// configuration in use, and installs it once OPA committed the bundle. It holds reloadMu
// from the build to the install, so a file reload never interleaves.
func (srv *Server) activateBundle(ctx context.Context, b *fleet.Bundle) (func(bool), error) {
	srv.reloadMu.Lock()
	locked := true
	defer func() {
		if locked {
			srv.reloadMu.Unlock()
		}
	}()
	old := srv.current.Load()
	if old.bundle != nil && old.bundle.Digest == b.Digest {
		return func(bool) {}, nil // the same bundle again (a new ETag, a persisted copy)
	}
	key := b.Digest + "|" + old.fileDigest
	if key == srv.refusedKey && srv.refusedErr != nil {
		srv.fleetMetrics.activations.WithLabelValues("refused").Inc()
		return nil, srv.refusedErr // OPA retries a persisted bundle; the answer is the same
	}
	start := time.Now()
	s, err := srv.loader.buildWithBundle(ctx, old, b)
	srv.fleetMetrics.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		srv.loader.endLoad(false)
		srv.fleetMetrics.activations.WithLabelValues("refused").Inc()
		srv.log.Error("bundle refused; keeping the set in use", "revision", b.Revision, "serving", servingRevision(old), "error", err)
		err = fmt.Errorf("imsguard refused bundle revision %q (the set in use stays): %s", b.Revision, oneLine(err.Error()))
		srv.refusedKey, srv.refusedErr = key, err
		srv.reportFleetState(err.Error())
		return nil, err
	}
	locked = false
	return func(committed bool) {
		defer srv.reloadMu.Unlock()
		if !committed {
			srv.loader.endLoad(false)
			return
		}
		srv.loader.endLoad(true)
		if err := srv.install(s, old); err != nil {
			srv.fleetMetrics.activations.WithLabelValues("refused").Inc()
			srv.log.Error("bundle activated by OPA but not installed; keeping the set in use", "revision", b.Revision, "error", err)
			srv.reportFleetState(err.Error())
			return
		}
		srv.refusedKey, srv.refusedErr = "", nil
		srv.fleetMetrics.activations.WithLabelValues("activated").Inc()
		srv.fleetMetrics.info.Reset()
		srv.fleetMetrics.info.WithLabelValues(s.Revision).Set(1)
		srv.fleetMetrics.last.Set(float64(srv.now().Unix()))
		srv.log.Info("bundle activated", "revision", s.Revision, "generation", s.Generation, "principals", len(s.principals),
			"previous", servingRevision(old), "check_ms", time.Since(start).Milliseconds())
		srv.reportFleetState("")
	}, nil
}

// reportFleetState tells the status plugin what imsguard serves (the plugin "imsguard").
func (srv *Server) reportFleetState(refused string) {
	a := srv.agent.Load()
	if a == nil {
		return
	}
	s := srv.current.Load()
	msg := "waiting for the first imsguard bundle"
	if !s.pending {
		msg = fmt.Sprintf("serving revision %q (generation %d, %d principals)", s.Revision, s.Generation, len(s.principals))
	}
	if refused != "" {
		msg += "; " + capText(refused, maxLogError)
	}
	a.SetState(!s.pending, msg)
}

func servingRevision(s *Snapshot) string {
	if s.pending {
		return "none"
	}
	return s.Revision
}

// oneLine joins the lines of a message (several lint findings) with "; ".
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// shipDecision hands the request's decision to OPA's decision_logs plugin, when
// opa_config configures one: an event shaped like OPA's, whose input and result hold the
// fields of the local decision line under the same names.
func (srv *Server) shipDecision(rec *record, end time.Time) {
	a := srv.agent.Load()
	if a == nil {
		return
	}
	in := rec.appendInput(make([]byte, 0, 512))
	in[0] = '{'
	res := rec.appendResult(make([]byte, 0, 512))
	res[0] = '{'
	m := map[string]any{
		"timer_imsguard_decision_ns": rec.decideDur.Nanoseconds(),
		"timer_server_handler_ns":    end.Sub(rec.start).Nanoseconds(),
	}
	if rec.forwarded {
		m["timer_imsguard_upstream_ns"] = rec.upDur.Nanoseconds()
	}
	a.Log(&fleet.Event{
		DecisionID: rec.id, Timestamp: end.UTC(), Path: decisionPath,
		Input: append(in, '}'), Result: append(res, '}'),
		Revision: rec.revision, TraceID: rec.traceID, SpanID: rec.spanID, Metrics: m,
	})
}

// buildWithBundle builds the snapshot of a bundle with the configuration files of cur
// (read when cur was built). The engines memo is left open: endLoad closes it.
func (l *Loader) buildWithBundle(ctx context.Context, cur *Snapshot, b *fleet.Bundle) (*Snapshot, error) {
	bc, err := decodeBundle(b, cur.in.cfg)
	if err != nil {
		return nil, err
	}
	return l.build(ctx, cur.src, cur.in, bc)
}

// endLoad commits (ok) or aborts the engines memo of a build.
func (l *Loader) endLoad(ok bool) {
	if l.Engines == nil {
		return
	}
	if ok {
		l.Engines.Commit()
	} else {
		l.Engines.Abort()
	}
}
