package proxy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing is the proxy's OpenTelemetry tracing. Every request gets a W3C trace context:
// the caller's (an incoming traceparent header is honoured) or a new one, and its trace id
// and span id are in the request's decision line and decision event. When the standard
// OTEL_* environment variables ask for it (NewTracing), each request is also a server span
// with child spans route, identify, decide and upstream, exported over OTLP, and the
// upstream request carries the upstream span's traceparent. Safe for concurrent use.
type Tracing struct {
	tp     *sdktrace.TracerProvider // nil: spans are not recorded
	tracer trace.Tracer
	// Endpoint says where spans go, for the start-up log ("" when off).
	Endpoint string
}

// propagator reads and writes W3C traceparent/tracestate headers.
var propagator = propagation.TraceContext{}

// NewTracing configures tracing from the environment (lookup; nil: os.LookupEnv), as the
// OpenTelemetry specification names the variables:
//
//   - OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none: no export.
//   - OTEL_TRACES_EXPORTER=otlp, or an OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: export over OTLP, with the protocol of
//     OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf,
//     the default, or grpc); endpoint, headers, timeout, compression, certificates as the
//     other OTEL_EXPORTER_OTLP_* variables say; OTEL_SERVICE_NAME (default imsguard) and
//     OTEL_RESOURCE_ATTRIBUTES describe the proxy; OTEL_TRACES_SAMPLER and OTEL_BSP_*
//     tune sampling and batching.
//   - Nothing set: no export (trace ids are still assigned and logged).
//
// Another exporter name is an error that says what is supported.
func NewTracing(ctx context.Context, lookup func(string) (string, bool)) (*Tracing, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	off := &Tracing{tracer: noop.NewTracerProvider().Tracer("imsguard")}
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return off, nil
	}
	switch exp := strings.ToLower(get("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return off, nil
	case "":
		if get("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return off, nil
		}
	case "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: imsguard exports traces over OTLP only; set it to otlp (with OTEL_EXPORTER_OTLP_ENDPOINT) or none", exp)
	}
	protocol := get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exporter sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exporter, err = otlptracehttp.New(ctx)
	case "grpc":
		exporter, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: imsguard exports OTLP over http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "imsguard")),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	endpoint := get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" {
		endpoint = "the OTLP default (localhost)"
	}
	return &Tracing{tp: tp, tracer: tp.Tracer("github.com/imsguard/imsguard/proxy"), Endpoint: protocol + " " + endpoint}, nil
}

// Exporting reports whether spans are recorded and exported.
func (t *Tracing) Exporting() bool { return t != nil && t.tp != nil }

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Exporting() {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// reqTrace is the trace of one request.
type reqTrace struct {
	ctx     context.Context // the request's context with the server span (or the caller's context)
	server  trace.Span      // the request's server span; a no-op span when not exporting
	tracer  trace.Tracer    // nil when not exporting
	traceID string
	spanID  string
	// signed is set when the caller signed its traceparent (AK/SK SignedHeaders): the
	// forwarded request must keep it unchanged.
	signed bool
}

// noopSpan is what stages get when spans are not recorded.
var noopSpan = trace.SpanFromContext(context.Background())

// begin starts the trace of r in rt (part of the request's state, so no allocation): the
// caller's trace context when it sent a valid traceparent, else a new trace, whose ids
// are taken from fresh (48 random hex digits: the trace id, then the span id).
func (t *Tracing) begin(r *http.Request, rt *reqTrace, fresh string) {
	ctx := r.Context()
	*rt = reqTrace{ctx: ctx, server: noopSpan}
	if r.Header.Get("Traceparent") != "" {
		ctx = propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
		rt.signed = signsHeader(r.Header.Get("Authorization"), "traceparent")
	}
	if t.Exporting() {
		ctx, rt.server = t.tracer.Start(ctx, "imsguard "+r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		rt.ctx, rt.tracer = ctx, t.tracer
		sc := rt.server.SpanContext()
		rt.traceID, rt.spanID = sc.TraceID().String(), sc.SpanID().String()
		return
	}
	if parent := trace.SpanContextFromContext(ctx); parent.IsValid() {
		rt.traceID = parent.TraceID().String()
	} else {
		rt.traceID = fresh[:32]
	}
	rt.spanID = fresh[32:48]
}

// start starts a child span of the request (a no-op span when not exporting).
func (rt *reqTrace) start(name string) trace.Span {
	if rt == nil || rt.tracer == nil {
		return noopSpan
	}
	_, sp := rt.tracer.Start(rt.ctx, name)
	return sp
}

// end ends the server span with what the decision line says.
func (rt *reqTrace) end(rec *record) {
	if rt == nil || rt.tracer == nil {
		return
	}
	rt.server.SetAttributes(
		attribute.String("imsguard.decision_id", rec.id),
		attribute.String("imsguard.api", rec.api),
		attribute.String("imsguard.principal", rec.principal),
		attribute.String("imsguard.decision", rec.decision),
		attribute.String("imsguard.reason", rec.reason),
		attribute.String("imsguard.bundle_revision", rec.revision),
		attribute.Bool("imsguard.forwarded", rec.forwarded),
		attribute.Int("http.response.status_code", rec.status),
	)
	if rec.status >= 500 {
		rt.server.SetStatus(codes.Error, rec.reason)
	}
	rt.server.End()
}

// inject writes the traceparent of sp into the upstream request's headers, unless spans
// are not recorded (the caller's traceparent then passes through as it came) or the
// caller signed its traceparent.
func (rt *reqTrace) inject(sp trace.Span, h http.Header) {
	if rt == nil || rt.tracer == nil || rt.signed {
		return
	}
	propagator.Inject(trace.ContextWithSpan(rt.ctx, sp), propagation.HeaderCarrier(h))
}

// signsHeader reports whether an SDK-HMAC-SHA256 Authorization header lists name among
// its SignedHeaders.
func signsHeader(auth, name string) bool {
	_, rest, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		return false
	}
	list, _, _ := strings.Cut(rest, ",")
	for _, h := range strings.Split(list, ";") {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return true
		}
	}
	return false
}
