package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imsguard/imsguard/rego/fleet"
)

// Options configure a Server. Only Loader is required.
type Options struct {
	// Loader loads the configuration and policies (at start and on every reload).
	Loader *Loader
	// Log receives operational messages (start, reloads, errors); nil discards them.
	Log *slog.Logger
	// Stdout is where decision_log = "-" writes; nil uses os.Stdout.
	Stdout io.Writer
	// DecisionLog, when set, receives the decision lines instead of decision_log, each
	// written before the request ends while the writer accepts writes; failures are handled
	// as for the file (lines kept and retried, decision_log_required).
	DecisionLog io.Writer
	// Listener and MetricsListener, when set, are used instead of listening on the
	// configured addresses (tests, the demo).
	Listener, MetricsListener net.Listener
	// Watch reloads when the configuration or policy files change (fsnotify).
	Watch bool
	// Debounce is how long file events must settle before a reload (default 200ms).
	Debounce time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Tracing traces requests (NewTracing); nil assigns trace ids (the caller's
	// traceparent, or new ones) for the decision log but records no span.
	Tracing *Tracing
	// InstanceID names this proxy to an OPA control plane (labels.id of decision-log
	// events and status reports, with opa_config); empty: the host name.
	InstanceID string
}

// Server is the enforcing proxy: an http.Handler deciding each request with the current
// Snapshot, plus listeners, the metrics endpoint, hot reload and graceful shutdown. All
// methods are safe for concurrent use.
type Server struct {
	loader    *Loader
	log       *slog.Logger
	decisions *decisionLog
	metrics   *metrics
	now       func() time.Time
	clock     secondClock
	opts      Options
	tracing   *Tracing

	current  atomic.Pointer[Snapshot]
	gen      atomic.Uint64
	reloadMu sync.Mutex
	// reloadAttempts counts finished reload attempts (Reload, Hangup, the watcher), whatever
	// their outcome: installed, refused or unchanged. It moves after the outcome is logged
	// and counted, so once it has moved past a file change the proxy has seen that change.
	reloadAttempts atomic.Uint64
	ready          atomic.Bool
	started        *Config // values that need a restart to change

	ln, mln net.Listener
	logSink *bufferedLog // where decisions writes (newDecisionSink, logsink.go)

	// opa_config (fleet.go)
	agent        atomic.Pointer[fleet.Agent]
	fleetMetrics *fleetMetrics
	refusedKey   string // bundle digest and file digest of the last refused bundle; under reloadMu
	refusedErr   error
}

// NewServer loads the configuration (failing on any problem), opens the decision log and
// binds the listeners. Call Run to serve.
func NewServer(ctx context.Context, opts Options) (*Server, error) {
	if opts.Loader == nil {
		return nil, errors.New("proxy: no loader")
	}
	srv := &Server{loader: opts.Loader, log: opts.Log, metrics: newMetrics(), now: opts.Now, opts: opts, tracing: opts.Tracing}
	srv.metrics.reg.MustRegister(limiterMetrics(func() *decisionLimiter {
		if s := srv.current.Load(); s != nil {
			return s.limiter
		}
		return nil
	})...)
	if srv.log == nil {
		srv.log = slog.New(slog.DiscardHandler)
	}
	if srv.now == nil {
		srv.now = time.Now
	}
	snap, err := srv.loader.Load(ctx)
	if err != nil {
		return nil, err
	}
	srv.started = snap.Config
	if err := srv.openDecisionLog(snap); err != nil {
		return nil, err
	}
	if err := srv.install(snap, nil); err != nil {
		srv.closeLog()
		return nil, err
	}
	if err := srv.listen(snap); err != nil {
		srv.closeLog()
		return nil, err
	}
	if snap.Config.OPAConfig != "" {
		srv.fleetMetrics = newFleetMetrics(srv.metrics.reg, func() float64 {
			if a := srv.agent.Load(); a != nil {
				return float64(a.Dropped())
			}
			return 0
		})
		if err := srv.startFleet(ctx, snap); err != nil {
			srv.closeListeners()
			srv.closeLog()
			return nil, err
		}
	}
	return srv, nil
}

// closeListeners closes the listeners NewServer bound (when Run never runs).
func (srv *Server) closeListeners() {
	_ = srv.ln.Close()
	if srv.mln != nil {
		_ = srv.mln.Close()
	}
}

// openDecisionLog sets up the JSON-lines decision logger. Lines to decision_log (a file or
// standard output) are buffered and written by a goroutine at least every 100ms and at
// shutdown; an Options.DecisionLog writer gets each line before its request ends, while it
// accepts writes. Write failures, rotation and reopening are handled by the sink
// (newDecisionSink, bufferedLog).
func (srv *Server) openDecisionLog(s *Snapshot) error {
	sink, err := newDecisionSink(s.decisionLog, srv.opts, srv.log, srv.metrics.decisionLog)
	if err != nil {
		return decisionLogError(s, err)
	}
	srv.logSink = sink
	srv.decisions = newDecisionLog(sink)
	return nil
}

func (srv *Server) closeLog() {
	if err := srv.logSink.Close(); err != nil {
		srv.log.Error("closing the decision log", "error", err)
	}
}

func (srv *Server) listen(s *Snapshot) error {
	var err error
	srv.ln, srv.mln, err = bindListeners(s, srv.opts.Listener, srv.opts.MetricsListener)
	return err
}

// Addr is the address the proxy serves on.
func (srv *Server) Addr() net.Addr { return srv.ln.Addr() }

// MetricsAddr is the address of /metrics, /healthz and /readyz, or nil when disabled.
func (srv *Server) MetricsAddr() net.Addr {
	if srv.mln == nil {
		return nil
	}
	return srv.mln.Addr()
}

// Snapshot returns the configuration and policy set in use.
func (srv *Server) Snapshot() *Snapshot { return srv.current.Load() }

// MetricsHandler serves /metrics, /healthz and /readyz (also on the metrics listener).
// /readyz is 503 until Run serves, from the moment it starts stopping, while
// decision_log_required is set and the decision log cannot be written, and (opa_config)
// until the first bundle is active: every request would be refused, so a load balancer
// should send them elsewhere.
func (srv *Server) MetricsHandler() http.Handler { return srv.metrics.handler(srv.isReady) }

func (srv *Server) isReady() bool {
	if !srv.ready.Load() {
		return false
	}
	s := srv.current.Load()
	if s != nil && s.pending {
		return false
	}
	return s == nil || !s.Config.DecisionLogRequired || srv.logSink.writable()
}

// install activates s (reusing the old snapshot's upstream connections and token cache when
// their settings are unchanged), numbers it and publishes it atomically.
func (srv *Server) install(s, old *Snapshot) error {
	if old != nil && old.fwdKey == s.fwdKey {
		s.fwd = old.fwd
	} else {
		s.fwd = newForwarder(s, srv.log, srv.metrics)
	}
	if old != nil && old.limiter.same(s.Config.Limits) {
		s.limiter = old.limiter // decisions in flight keep counting against one bound
	} else {
		s.limiter = newDecisionLimiter(s.Config.Limits)
	}
	switch {
	case s.iamURL == nil:
	case old != nil && old.tokens != nil && old.iamKey == s.iamKey && sameIAMLimits(old.Config.IAM, s.Config.IAM):
		s.tokens = old.tokens
	default:
		tv, err := newTokenValidator(s.iamURL, s.iamTLS, s.Config.IAM, srv.metrics.iam)
		if err != nil {
			return err
		}
		s.tokens = tv
	}
	switch {
	case !s.Config.EPLookup.enabled():
	case old != nil && old.eps != nil && old.epKey == s.epKey && old.epSecret == s.epSecret:
		s.eps = old.eps
	default:
		eps, err := newImageEPs(s.upstream, s.upTLS, s.Config.EPLookup, s.epSecret, func(r string) { srv.metrics.epLookups.WithLabelValues(r).Inc() })
		if err != nil {
			return err
		}
		s.eps = eps
	}
	if s.serverCert == nil && srv.started.ServerTLS.CertFile != "" && old != nil {
		s.serverCert = old.serverCert // TLS cannot be switched off without a restart
	}
	if !s.Config.EPLookup.enabled() {
		var names []string
		for _, pc := range s.Config.Principals {
			if p := s.principals[pc.Name]; p != nil && len(p.scopedEPs) > 0 {
				names = append(names, p.Name)
			}
		}
		if len(names) > 0 {
			srv.log.Warn("enterprise-project grants cannot allow single-image calls: [enterprise_project_lookup] is not configured", "principals", names)
		}
	}
	s.Generation = srv.gen.Add(1)
	srv.current.Store(s)
	srv.metrics.generation.Set(float64(s.Generation))
	srv.metrics.lastReload.Set(float64(srv.now().Unix()))
	if old != nil {
		if old.fwd != s.fwd {
			old.fwd.close()
		}
		if old.tokens != nil && old.tokens != s.tokens {
			old.tokens.close()
		}
		if old.eps != nil && old.eps != s.eps {
			old.eps.close()
		}
	}
	return nil
}

// Run serves until ctx is cancelled, then stops accepting requests and drains the ones in
// flight (up to timeouts.shutdown). It returns nil after a clean shutdown.
func (srv *Server) Run(ctx context.Context) error {
	s := srv.current.Load()
	t := srv.started.Timeouts
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    256 << 10,
		ErrorLog:          slog.NewLogLogger(srv.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },

		// Every request, OPTIONS * included, is decided and logged by the handler.
		DisableGeneralOptionsHandler: true,
	}
	errc := make(chan error, 2)
	if s.serverCert != nil {
		// The certificate comes from the snapshot in use: a renewed one is served after a
		// reload, without a restart.
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := srv.current.Load().serverCert; c != nil {
				return c, nil
			}
			return nil, errors.New("no server certificate configured")
		}}
	}
	go func() {
		var err error
		if s.serverCert != nil {
			err = hs.ServeTLS(srv.ln, "", "")
		} else {
			err = hs.Serve(srv.ln)
		}
		errc <- err
	}()
	var ms *http.Server
	if srv.mln != nil {
		ms = &http.Server{Handler: srv.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: hs.ErrorLog}
		go func() { errc <- ms.Serve(srv.mln) }()
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		if srv.opts.Watch {
			srv.watch(watchCtx)
		}
	}()
	srv.ready.Store(true)
	srv.log.Info("imsguard proxy serving", "listen", srv.ln.Addr().String(), "upstream", s.Config.Upstream,
		"mode", s.Config.Mode, "config", s.Source, "generation", s.Generation, "digest", s.Digest[:16], "metrics", addrString(srv.mln))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	srv.ready.Store(false)
	stopWatch()
	<-watchDone
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.Shutdown)
	defer cancel()
	shutErr := hs.Shutdown(sctx)
	if ms != nil {
		_ = ms.Shutdown(sctx)
	}
	srv.stopFleet(ctx, t.Shutdown) // after the last request: its decision event is uploaded
	if cur := srv.current.Load(); cur != nil {
		cur.fwd.close()
		if cur.tokens != nil {
			cur.tokens.close()
		}
		if cur.eps != nil {
			cur.eps.close()
		}
	}
	srv.closeLog()
	srv.log.Info("imsguard proxy stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if shutErr != nil {
		return fmt.Errorf("shutdown: in-flight requests did not finish within %s: %w", t.Shutdown, shutErr)
	}
	return nil
}

func addrString(l net.Listener) string {
	if l == nil {
		return "off"
	}
	return l.Addr().String()
}
