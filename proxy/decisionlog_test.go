package proxy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
	"github.com/imsguard/imsguard/rego/authz"
)

// slogEscape returns how log/slog's JSON handler writes s.
func slogEscape(s string) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}})).Info(s)
	out := strings.TrimSuffix(buf.String(), "}\n")
	return strings.TrimPrefix(out, `{"msg":`)
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\`, "ctl\x00\x1f\n\r\t", "bad\xffutf8", "sep\u2028\u2029", "ünïcödé ✓"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendJSONString(nil, s))
		require.Equal(t, slogEscape(s), got, "escaped like log/slog")
		var back string
		require.NoError(t, json.Unmarshal([]byte(got), &back))
		if utf8.ValidString(s) {
			require.Equal(t, s, back)
		}
	})
}

func TestDecisionLineShape(t *testing.T) {
	var buf bytes.Buffer
	l := newDecisionLog(&buf)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &record{id: "00000000000000ff", generation: 3, start: start, principal: "reader", auth: "aksk", accessKey: "AKTE****",
		sourceIP: "127.0.0.1", method: "DELETE", path: "/v2/images/x", api: "glance_delete_image", actions: []string{"ims:images:delete"},
		decision: "ImplicitDeny", reason: reasonPolicy, denied: []string{"ims:images:delete"}, errMsg: "line\nbreak \"quoted\"",
		enforced: true, status: 403, decideDur: 1500 * time.Microsecond}
	l.write(rec, start.Add(2*time.Millisecond))
	line := buf.String()
	require.True(t, strings.HasSuffix(line, "}\n"))
	assert.Equal(t, 1, strings.Count(line, "\n"), "one line")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m))
	assert.Equal(t, map[string]any{
		"time": "2026-01-02T03:04:05.002Z", "level": "INFO", "msg": "decision", "decision_id": "00000000000000ff", "generation": 3.0,
		"principal": "reader", "auth": "aksk", "access_key": "AKTE****", "source_ip": "127.0.0.1", "method": "DELETE",
		"path": "/v2/images/x", "api": "glance_delete_image", "actions": []any{"ims:images:delete"}, "decision": "ImplicitDeny",
		"reason": "policy", "denied_actions": []any{"ims:images:delete"}, "matched": []any{}, "error": "line\nbreak \"quoted\"",
		"enforced": true, "forwarded": false, "status": 403.0, "decision_ms": 1.5, "latency_ms": 2.0,
	}, m)
}

// TestMatchedStatements: the statements that matched are logged as JSON strings
// "action=policy#statement:Effect", escaped as the whole string would be.
func TestMatchedStatements(t *testing.T) {
	allow := func(policy string, statement int) authz.StatementRef {
		return authz.StatementRef{Policy: policy, Statement: statement, Effect: "Allow"}
	}
	for _, tc := range []struct {
		name    string
		decided []authz.ActionDecision
		want    []string
	}{
		{"no decision", nil, nil},
		{"nothing matched", []authz.ActionDecision{{Action: "ims:images:delete", Effect: authz.ImplicitDeny}}, nil},
		{"one statement", []authz.ActionDecision{{Action: "ims:images:list", Effect: authz.Allow,
			Matched: []authz.StatementRef{allow("policies/readonly.json", 0)}}},
			[]string{"ims:images:list=policies/readonly.json#0:Allow"}},
		{"several actions and statements", []authz.ActionDecision{
			{Action: "ims:images:upload", Effect: authz.ExplicitDeny, Matched: []authz.StatementRef{allow("a.json", 3),
				{Policy: "b.json", Statement: 12, Effect: "Deny"}}},
			{Action: "ims:images:get", Effect: authz.Allow, Matched: []authz.StatementRef{allow("a.json", 104)}},
		}, []string{"ims:images:upload=a.json#3:Allow", "ims:images:upload=b.json#12:Deny", "ims:images:get=a.json#104:Allow"}},
		{"text that needs escaping", []authz.ActionDecision{{Action: "ims:\"x\"", Effect: authz.Allow,
			Matched: []authz.StatementRef{allow("pol\\icy\n\x01\u2028ünï \xff.json", 7)}}},
			[]string{"ims:\"x\"=pol\\icy\n\x01\u2028ünï \xff.json#7:Allow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := []byte(`,"matched":[`)
			for i, m := range tc.want {
				if i > 0 {
					want = append(want, ',')
				}
				want = appendJSONString(want, m)
			}
			want = append(want, ']')
			got := appendMatched(nil, tc.decided)
			assert.Equal(t, string(want), string(got))
			var line struct{ Matched []string }
			require.NoError(t, json.Unmarshal([]byte("{"+string(got[1:])+"}"), &line))
			assert.Len(t, line.Matched, len(tc.want))
			buf := make([]byte, 0, 2*len(got))
			assert.Zero(t, testing.AllocsPerRun(100, func() { buf = appendMatched(buf[:0], tc.decided) }), "no allocation per statement")
		})
	}
}

// BenchmarkDecisionLine encodes and writes decision lines as the handler makes them: the
// matched statements come from the engine's per-action decisions (record.decided).
func BenchmarkDecisionLine(b *testing.B) {
	allowed := func(policy string, actions ...string) []authz.ActionDecision {
		var out []authz.ActionDecision
		for i, a := range actions {
			out = append(out, authz.ActionDecision{Action: a, Effect: authz.Allow,
				Matched: []authz.StatementRef{{Policy: policy, Statement: i, Effect: "Allow"}}})
		}
		return out
	}
	for _, tc := range []struct {
		name, method, path, api string
		decided                 []authz.ActionDecision
	}{
		{"one-statement", "GET", "/v2/images", "glance_list_images", allowed("policies/readonly.json", "ims:images:list")},
		{"three-actions", "PUT", "/v2/images/" + stub.SampleImageID + "/file", "glance_upload_image_file",
			allowed("policies/uploader.json", "ims:images:get", "ims:images:update", "ims:images:upload")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rec := &record{id: "0123456789abcdef", generation: 1, start: time.Now(), principal: "workload", auth: "default", sourceIP: "127.0.0.1",
				method: tc.method, path: tc.path, api: tc.api, decision: "Allow", decided: tc.decided,
				enforced: true, forwarded: true, status: 200, upStatus: 200}
			for _, a := range tc.decided {
				rec.actions = append(rec.actions, a.Action)
			}
			l := newDecisionLog(discard{})
			b.ReportAllocs()
			for b.Loop() {
				l.write(rec, time.Now())
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestDecisionLineTraceAndBundle: the trace context and the bundle revision are in the
// line under OPA's event names.
func TestDecisionLineTraceAndBundle(t *testing.T) {
	var buf bytes.Buffer
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &record{id: "00000000000000ff", generation: 2, revision: "r\"7", traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7",
		start: start, method: "GET", path: "/v2/images", decision: "Allow", enforced: true, forwarded: true, status: 200, upStatus: 200}
	newDecisionLog(&buf).write(rec, start)
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", m["trace_id"])
	assert.Equal(t, "00f067aa0ba902b7", m["span_id"])
	assert.Equal(t, map[string]any{"imsguard": map[string]any{"revision": "r\"7"}}, m["bundles"])
	in := rec.appendInput(nil)
	res := rec.appendResult(nil)
	var input, result map[string]any
	require.NoError(t, json.Unmarshal(append(append([]byte{'{'}, in[1:]...), '}'), &input))
	require.NoError(t, json.Unmarshal(append(append([]byte{'{'}, res[1:]...), '}'), &result))
	for k, v := range input {
		assert.Equal(t, m[k], v, k)
		assert.NotContains(t, result, k, "a field is in the input or the result, not both")
	}
	for k, v := range result {
		assert.Equal(t, m[k], v, k)
	}
	assert.Equal(t, len(m), len(input)+len(result)+3+2+3+3, "and time, level, msg; decision_id, generation; trace_id, span_id, bundles; upstream_ms, decision_ms, latency_ms")
}

// TestAppendMillis: the decision line's durations read as the shortest decimal number of
// milliseconds, exactly as formatting the float would give them.
func TestAppendMillis(t *testing.T) {
	cases := []time.Duration{0, time.Microsecond, 999 * time.Nanosecond, 10 * time.Microsecond, 100 * time.Microsecond,
		time.Millisecond, 1500 * time.Microsecond, 1234567 * time.Microsecond, time.Hour, -2500 * time.Microsecond, -time.Microsecond}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		cases = append(cases, time.Duration(r.Int64N(int64(100*time.Hour)))-time.Duration(r.Int64N(int64(time.Second))))
	}
	for _, d := range cases {
		want := strconv.AppendFloat(nil, float64(d.Microseconds())/1000, 'f', -1, 64)
		require.Equal(t, string(want), string(appendMillis([]byte("x"), d))[1:], "%v", d)
	}
}
