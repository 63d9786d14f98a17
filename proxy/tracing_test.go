package proxy

import (
	"context"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

func TestNewTracingFromEnvironment(t *testing.T) {
	for _, c := range []struct {
		name      string
		env       map[string]string
		exporting bool
		err       string
	}{
		{"nothing set", nil, false, ""},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, ""},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true, ""},
		{"otlp exporter", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, ""},
		{"none wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false, ""},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false, ""},
		{"other exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, `OTEL_TRACES_EXPORTER="zipkin": imsguard exports traces over OTLP only`},
		{"http/json", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, false, "http/protobuf or grpc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := NewTracing(context.Background(), func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if c.err != "" {
				assert.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.exporting, tr.Exporting())
			assert.NoError(t, tr.Shutdown(context.Background()))
		})
	}
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestTraceIDsWithoutExport: with no exporter, the caller's trace id is logged (and its
// traceparent forwarded unchanged); without one, every request gets a trace id of its own.
func TestTraceIDsWithoutExport(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	resp, _ := e.do(t, "GET", "/v2/images", nil, hdr("Traceparent", parent))
	require.Equal(t, 200, resp.StatusCode)
	line := e.lastDecision(t)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", line["trace_id"])
	assert.Regexp(t, `^[0-9a-f]{16}$`, line["span_id"])
	reqs := e.ims.Requests()
	assert.Equal(t, parent, reqs[len(reqs)-1].Header.Get("Traceparent"), "forwarded as it came")

	e.do(t, "GET", "/v2/images", nil, nil)
	e.do(t, "GET", "/v2/images", nil, hdr("Traceparent", "garbage"))
	lines := e.log.lines(t)
	a, b := lines[len(lines)-2]["trace_id"].(string), lines[len(lines)-1]["trace_id"].(string)
	assert.Regexp(t, hexID, a)
	assert.Regexp(t, hexID, b)
	assert.NotEqual(t, a, b)
}

// TestTraceSpansExported: with an OTLP endpoint, each request is a server span under the
// caller's trace with route, identify, decide and upstream children, and IMS gets the
// upstream span's traceparent.
func TestTraceSpansExported(t *testing.T) {
	otlp := &stub.OTLP{}
	col := httptest.NewServer(otlp)
	defer col.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	tr, err := NewTracing(context.Background(), nil)
	require.NoError(t, err)
	require.True(t, tr.Exporting())
	e := newEnv(t, baseConfig, nil, func(o *Options, _ *Loader) { o.Tracing = tr })

	const traceID, parentSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	h := signed(t, e, "GET", "/v2/images", nil, testAK, testSK, hdr("Traceparent", "00-"+traceID+"-"+parentSpan+"-01"))
	resp, _ := e.do(t, "GET", "/v2/images", nil, h)
	require.Equal(t, 200, resp.StatusCode)
	line := e.lastDecision(t)
	assert.Equal(t, traceID, line["trace_id"])
	require.NoError(t, tr.Shutdown(context.Background()))

	spans := otlp.Spans()
	byName := map[string]stub.Span{}
	var names []string
	for _, s := range spans {
		byName[s.Name] = s
		names = append(names, s.Name)
		assert.Equal(t, traceID, s.TraceID, s.Name)
	}
	sort.Strings(names)
	assert.Equal(t, []string{"decide", "identify", "imsguard GET", "route", "upstream"}, names)
	server := byName["imsguard GET"]
	assert.Equal(t, parentSpan, server.ParentSpanID, "the caller's span is the parent")
	assert.Equal(t, line["span_id"], server.SpanID)
	for _, n := range []string{"route", "identify", "decide", "upstream"} {
		assert.Equal(t, server.SpanID, byName[n].ParentSpanID, n)
	}
	assert.Equal(t, "reader", server.Attributes["imsguard.principal"])
	assert.Equal(t, "Allow", server.Attributes["imsguard.decision"])
	assert.Equal(t, line["decision_id"], server.Attributes["imsguard.decision_id"])
	assert.Equal(t, "200", server.Attributes["http.response.status_code"])
	reqs := e.ims.Requests()
	assert.Contains(t, reqs[len(reqs)-1].Header.Get("Authorization"), "traceparent", "the client signed its traceparent...")
	assert.Equal(t, "00-"+traceID+"-"+parentSpan+"-01", reqs[len(reqs)-1].Header.Get("Traceparent"), "...so it is forwarded as signed")

	// A request without a credential (the default principal): IMS gets the upstream
	// span's traceparent and continues the trace under it.
	tr2, err := NewTracing(context.Background(), nil)
	require.NoError(t, err)
	e.stop(t)
	e = newEnv(t, baseConfig, nil, func(o *Options, _ *Loader) { o.Tracing = tr2 })
	resp, _ = e.do(t, "GET", "/v2/images", nil, hdr("Traceparent", "00-"+traceID+"-"+parentSpan+"-01"))
	require.Equal(t, 200, resp.StatusCode)
	require.NoError(t, tr2.Shutdown(context.Background()))
	var upstream string
	for _, s := range otlp.Spans()[len(spans):] {
		if s.Name == "upstream" {
			upstream = s.SpanID
		}
	}
	require.NotEmpty(t, upstream)
	reqs = e.ims.Requests()
	assert.Equal(t, "00-"+traceID+"-"+upstream+"-01", reqs[len(reqs)-1].Header.Get("Traceparent"), "IMS continues the trace under the upstream span")
	assert.NotContains(t, strings.Join(names, ","), "Signature")
}

func TestSignsHeader(t *testing.T) {
	auth := "SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;traceparent;x-sdk-date, Signature=abc"
	assert.True(t, signsHeader(auth, "traceparent"))
	assert.False(t, signsHeader(auth, "tracestate"))
	assert.False(t, signsHeader("", "traceparent"))
	assert.False(t, signsHeader("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=traceparent", "traceparent"))
}

// TestNewRequestIDs: one string holds a request's decision id, trace id and span id as
// distinct random words, valid as W3C trace context ids.
func TestNewRequestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		ids := newRequestIDs()
		require.Regexp(t, `^[0-9a-f]{64}$`, ids)
		for w := 0; w < 64; w += 16 {
			word := ids[w : w+16]
			require.NotEqual(t, strings.Repeat("0", 16), word, "an all-zero id is invalid")
			require.False(t, seen[word], "word %s repeated", word)
			seen[word] = true
		}
	}
}
