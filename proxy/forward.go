package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/imsguard/imsguard/actions"
)

// forwarder sends allowed requests upstream: httputil.ReverseProxy with Rewrite, so
// hop-by-hop headers and the client's Forwarded / X-Forwarded-* headers are removed before
// the proxy sets its own. It is built per upstream setting and shared by snapshots whose
// settings are equal (connections survive reloads). Safe for concurrent use.
type forwarder struct {
	rp        *httputil.ReverseProxy
	transport *http.Transport
}

// fwdKey is the context key of the per-request forwarding state.
type fwdKey struct{}

// forwarding is what the handler tells Rewrite and the hooks about one request.
type forwarding struct {
	canonical bool          // path/query below replace the client's; false only in audit mode
	path      string        // canonical path that was authorized
	query     string        // canonical encoding of params: what is forwarded
	params    actions.Query // the query that was authorized (and is signed)
	sourceIP  string
	sign      *upstreamCred // sign the outbound request (sign_upstream), or nil
	body      []byte        // the request body when it was read (for signing)
	client    *clientBody   // the body forwarded upstream, or nil without one
	rec       *record
	sent      time.Time
	trace     *reqTrace  // the request's trace (tracing.go)
	upSpan    trace.Span // the upstream span; its traceparent goes upstream when spans are exported
	xfwd      [3]string  // backing array of the X-Forwarded-* values Rewrite sets
}

// fwdContext is the context of a forwarded request: its own context plus the forwarding
// state, which Rewrite and the hooks find under fwdKey. It lives in the request's exchange,
// so handing the state over allocates nothing.
type fwdContext struct {
	context.Context
	fw *forwarding
}

// Value returns the forwarding state for fwdKey and asks the request's context otherwise.
func (c *fwdContext) Value(key any) any {
	if _, ok := key.(fwdKey); ok {
		return c.fw
	}
	return c.Context.Value(key)
}

// copyBufferSize is the size of ReverseProxy's copy buffers.
const copyBufferSize = 32 << 10

// bufferPool shares copy buffers between requests (httputil.BufferPool). It pools the
// buffers' arrays, so neither Get nor Put allocates.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte { return b.p.Get().(*[copyBufferSize]byte)[:] }

// Put takes back a buffer Get gave out; anything else is left to the collector.
func (b *bufferPool) Put(x []byte) {
	if len(x) == copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(x))
	}
}

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

// newForwarder builds the reverse proxy to s.upstream.
func newForwarder(s *Snapshot, log *slog.Logger, m *metrics) *forwarder {
	t := s.Config.Timeouts
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: t.UpstreamDial, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       s.upTLS.Clone(),
		TLSHandshakeTimeout:   t.UpstreamTLSHandshake,
		ResponseHeaderTimeout: t.UpstreamResponseHeader,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true, // never add Accept-Encoding: requests arrive as sent
	}
	target := *s.upstream
	f := &forwarder{transport: tr}
	f.rp = &httputil.ReverseProxy{
		Transport:  tr,
		BufferPool: newBufferPool(),
		ErrorLog:   slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		Rewrite: func(pr *httputil.ProxyRequest) {
			fw := pr.In.Context().Value(fwdKey{}).(*forwarding)
			if fw.canonical {
				pr.Out.URL.Path = fw.path
				pr.Out.URL.RawPath = ""
				pr.Out.URL.RawQuery = fw.query
			}
			pr.SetURL(&target)
			if pr.Out.Body != nil && pr.Out.Body != http.NoBody {
				fw.client = &clientBody{rc: pr.Out.Body}
				pr.Out.Body = fw.client
			}
			for k := range pr.Out.Header {
				if strings.HasPrefix(k, "X-Forwarded-") || k == "X-Real-Ip" || k == "Forwarded" {
					delete(pr.Out.Header, k)
				}
			}
			stripUnderscoreHeaders(pr.Out.Header)
			// Canonical keys set directly, values backed by the request's exchange: this runs
			// for every request.
			h, v := pr.Out.Header, &fw.xfwd
			if fw.sourceIP != "" {
				v[0] = fw.sourceIP
				h["X-Forwarded-For"] = v[0:1:1]
			}
			v[1] = pr.In.Host
			h["X-Forwarded-Host"] = v[1:2:2]
			v[2] = "http"
			if pr.In.TLS != nil {
				v[2] = "https"
			}
			h["X-Forwarded-Proto"] = v[2:3:3]
			fw.trace.inject(fw.upSpan, h) // before signing: a signature made here covers it
			fw.sent = time.Now()
			if fw.sign != nil {
				if err := fw.sign.sign(pr.Out, fw.params, fw.body, fw.sent); err != nil {
					delete(pr.Out.Header, "Authorization") // unsigned: the upstream refuses it
					fw.rec.errMsg = err.Error()
				} else {
					fw.rec.signedUpstream = true
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			fw := resp.Request.Context().Value(fwdKey{}).(*forwarding)
			fw.rec.upStatus = resp.StatusCode
			fw.rec.upDur = time.Since(fw.sent)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			fw := r.Context().Value(fwdKey{}).(*forwarding)
			fw.rec.upDur = time.Since(fw.sent)
			d := upstreamDenial(r, err, fw.client.readErr())
			m.upstreamErrors.WithLabelValues(d.reason).Inc()
			fw.rec.errMsg = d.err.Error()
			fw.rec.status = d.status
			if d.reason == reasonCanceled {
				fw.rec.reason = reasonCanceled
				return // the client is gone; nobody reads an answer
			}
			d.reason = reasonUpstream
			fw.rec.reason = reasonUpstream
			writeDenial(w, fw.rec.id, d)
		},
	}
	return f
}

// upstreamDenial classifies a forwarding error: 499 when the client went away (its request
// context ended, or reading its body failed: clientErr), 504 for a timeout, 502 otherwise.
// The reason is the metric kind (unreachable, timeout, canceled).
func upstreamDenial(r *http.Request, err, clientErr error) *denial {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is known; keep the cause
	}
	var ne net.Error
	switch {
	case clientErr != nil:
		return &denial{status: 499, reason: reasonCanceled, err: fmt.Errorf("client canceled the request: reading its body failed: %w", clientErr)}
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		return &denial{status: 499, reason: reasonCanceled, err: errors.New("client canceled the request")}
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &denial{status: http.StatusGatewayTimeout, reason: "timeout", msg: "upstream IMS did not answer in time", err: err}
	default:
		return &denial{status: http.StatusBadGateway, reason: "unreachable", msg: "upstream IMS is unreachable", err: err}
	}
}

// close releases idle upstream connections.
func (f *forwarder) close() { f.transport.CloseIdleConnections() }
