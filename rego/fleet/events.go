package fleet

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/server"
	"github.com/open-policy-agent/opa/v1/util"
)

// Event is one decision as OPA's decision_logs plugin ships it (OPA's EventV1: the
// plugin adds the labels). Input and Result are JSON objects; what they hold is the
// caller's (the proxy puts the redacted request and the decision there, with the field
// names of its local decision log).
type Event struct {
	DecisionID string
	Timestamp  time.Time
	// Path is the decision's path, e.g. "imsguard/decision".
	Path          string
	Input, Result []byte
	// Revision is the revision of the imsguard bundle that decided ("": none), shipped
	// as bundles.imsguard.revision.
	Revision        string
	TraceID, SpanID string
	// Metrics are OPA's event metrics (timer_..._ns and the like).
	Metrics map[string]any
}

// Log queues ev for the decision_logs plugin without waiting; when the queue is full (the
// plugin cannot keep up) the event is dropped and counted (Dropped). Events are dropped
// too when the configuration has no decision_logs, and after Stop.
func (a *Agent) Log(ev *Event) {
	select {
	case <-a.quit:
		a.dropped.Add(1)
		return
	default:
	}
	select {
	case a.events <- ev:
	default:
		a.dropped.Add(1)
	}
}

// Dropped counts the events Log could not queue.
func (a *Agent) Dropped() uint64 { return a.dropped.Load() }

// ship hands queued events to the decision_logs plugin until Stop, then the ones still
// queued.
func (a *Agent) ship() {
	defer close(a.done)
	ctx := context.Background()
	for {
		select {
		case ev := <-a.events:
			a.hand(ctx, ev)
		case <-a.quit:
			for {
				select {
				case ev := <-a.events:
					a.hand(ctx, ev)
				default:
					return
				}
			}
		}
	}
}

// hand gives one event to the plugin (mask and drop policies, console, upload buffer).
func (a *Agent) hand(ctx context.Context, ev *Event) {
	p := a.logsPlugin()
	if p == nil {
		return
	}
	info := &server.Info{
		DecisionID: ev.DecisionID,
		TraceID:    ev.TraceID,
		SpanID:     ev.SpanID,
		Path:       ev.Path,
		Timestamp:  ev.Timestamp,
		Metrics:    eventMetrics{Metrics: metrics.New(), all: ev.Metrics},
	}
	if ev.Revision != "" {
		info.Bundles = map[string]server.BundleInfo{Name: {Revision: ev.Revision}}
	}
	var input, result any
	if err := util.UnmarshalJSON(ev.Input, &input); err == nil {
		info.Input = &input
	}
	if err := util.UnmarshalJSON(ev.Result, &result); err == nil {
		info.Results = &result
	}
	if err := p.Log(ctx, info); err != nil {
		a.dropped.Add(1)
	}
}

// eventMetrics are fixed metrics values for one event.
type eventMetrics struct {
	metrics.Metrics
	all map[string]any
}

func (m eventMetrics) All() map[string]any { return m.all }

// newUUID returns a random (version 4) UUID, the instance id when none is configured.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
