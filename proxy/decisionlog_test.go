package proxy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func BenchmarkDecisionLine(b *testing.B) {
	rec := &record{id: "0123456789abcdef", generation: 1, start: time.Now(), principal: "workload", auth: "default", sourceIP: "127.0.0.1",
		method: "GET", path: "/v2/images", api: "glance_list_images", actions: []string{"ims:images:list"}, decision: "Allow",
		matched: []string{"ims:images:list=policies/readonly.json#0:Allow"}, enforced: true, forwarded: true, status: 200, upStatus: 200}
	l := newDecisionLog(discard{})
	b.ReportAllocs()
	for b.Loop() {
		l.write(rec, time.Now())
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
