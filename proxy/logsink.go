package proxy

import (
	"errors"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
)

// logMetrics are the series of the decision log's health.
type logMetrics struct {
	failures prometheus.Counter
	dropped  prometheus.Counter
	writable prometheus.Gauge
}

// newLogMetrics builds the series and registers them with reg (nil: unregistered).
func newLogMetrics(reg prometheus.Registerer) *logMetrics {
	m := &logMetrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imsguard_decision_log_write_failures_total",
			Help: "Failed attempts to write (or reopen) the decision log; the lines are kept and retried.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imsguard_decision_log_lines_dropped_total",
			Help: "Decision lines lost: the log could not be written and the memory bound was reached, or at shutdown.",
		}),
		writable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imsguard_decision_log_writable",
			Help: "1 while the decision log is written, 0 from a failed write until one succeeds (decision_log_required refuses requests then).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.failures, m.dropped, m.writable)
	}
	return m
}

// newDecisionSink opens where the decision lines of a Server go: Options.DecisionLog
// (written on the request's goroutine), standard output, or the decision_log file (both
// written by a goroutine at least every logFlushInterval). All three keep lines through
// write failures as bufferedLog describes; the file is also reopened after rotation.
func newDecisionSink(path string, opts Options, log *slog.Logger, m *logMetrics) (*bufferedLog, error) {
	o := sinkOptions{log: log, m: m}
	switch {
	case opts.DecisionLog != nil:
		o.name, o.sync = "the injected writer", true
		return newBufferedLog(opts.DecisionLog, o), nil
	case path == "":
		out := opts.Stdout
		if out == nil {
			out = os.Stdout
		}
		o.name = "standard output"
		return newBufferedLog(out, o), nil
	default:
		f, err := openLogFile(path)
		if err != nil {
			return nil, err
		}
		o.name, o.path = path, path
		return newBufferedLog(f, o), nil
	}
}

// ReopenDecisionLog reopens the decision_log file, creating it when it is missing, and
// writes the buffered lines there: what SIGHUP does after a log rotation (Hangup calls it).
// Rotation by renaming or removing the file is also noticed without it, at the next flush
// (at most 100ms later). It does nothing when the lines go to standard output or an
// injected writer. A failure is logged and counted like a failed write, and returned.
func (srv *Server) ReopenDecisionLog() error {
	return srv.logSink.Reopen()
}

// reasonDecisionLog is the reason (respond.go) of a request refused because the decision
// log cannot be written and decision_log_required is set.
const reasonDecisionLog = "decision_log"

// errDecisionLogDown is the logged cause of a request refused by decisionLogDown.
var errDecisionLogDown = errors.New("decision log not writable and decision_log_required is set")

// decisionLogDown refuses a request with 503 while the decision log cannot be written and
// decision_log_required is set, so no request is forwarded without its line being
// writable. It returns nil otherwise.
func (srv *Server) decisionLogDown(s *Snapshot) *denial {
	if !s.Config.DecisionLogRequired || srv.logSink.writable() {
		return nil
	}
	return &denial{status: http.StatusServiceUnavailable, reason: reasonDecisionLog,
		msg: "the decision log cannot be written and decision_log_required is set; refused, try again later",
		err: errDecisionLogDown}
}
