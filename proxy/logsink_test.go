package proxy

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withDecisionLog makes the proxy write its decision lines to w.
func withDecisionLog(w io.Writer) envOption {
	return func(o *Options, _ *Loader) { o.DecisionLog = w }
}

// TestDecisionLogRequired makes the decision log fail under a running proxy. With
// decision_log_required, requests are refused (503, IMS error shape, not forwarded) until
// writing recovers, in audit mode too; without it they keep flowing. Either way every line
// is in the log once writing recovers, and the outage is logged once and counted.
func TestDecisionLogRequired(t *testing.T) {
	cases := []struct {
		name      string
		prefix    string
		refused   bool
		whileDown int
	}{
		{name: "required", prefix: "decision_log_required = true\n", refused: true, whileDown: 503},
		{name: "required in audit mode", prefix: "decision_log_required = true\nmode = \"audit\"\n", refused: true, whileDown: 503},
		{name: "not required", whileDown: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := &syncBuffer{}
			w := &flakyWriter{next: out}
			e := newEnv(t, tc.prefix+baseConfig, nil, withDecisionLog(w))
			get := func() (int, string) {
				t.Helper()
				resp, data := e.do(t, "GET", "/v2/images", nil, nil)
				return resp.StatusCode, string(data)
			}
			code, _ := get()
			require.Equal(t, 200, code)

			w.set(true, 0)
			code, _ = get()
			assert.Equal(t, 200, code, "decided while the log was writable")
			require.Eventually(t, func() bool { return !e.srv.logSink.writable() }, 10*time.Second, 5*time.Millisecond,
				"its line is the one that fails")
			e.ims.Reset()
			code, body := get()
			assert.Equal(t, tc.whileDown, code, body)
			if tc.refused {
				assert.Contains(t, body, `"error_code":"IMSGUARD.0503"`)
				assert.Contains(t, body, "decision_log_required")
				assert.Empty(t, e.ims.Requests(), "not forwarded")
			} else {
				assert.Len(t, e.ims.Requests(), 1, "forwarded; its line waits in memory")
			}
			assert.Zero(t, gauge(t, e.srv.metrics.decisionLog.writable))
			assert.Equal(t, !tc.refused, e.srv.isReady(), "/readyz fails while every request would be refused")

			w.set(false, 0)
			waitOp(t, e.oplog, msgLogRecovered, 1)
			assert.True(t, e.srv.logSink.writable())
			assert.True(t, e.srv.isReady())
			code, _ = get()
			assert.Equal(t, 200, code, "flows again")

			lines := out.lines(t)
			require.Len(t, lines, 4, "every request's line, once")
			var statuses []float64
			for _, l := range lines {
				statuses = append(statuses, l["status"].(float64))
			}
			assert.Equal(t, []float64{200, 200, float64(tc.whileDown), 200}, statuses)
			if tc.refused {
				assert.Equal(t, reasonDecisionLog, lines[2]["reason"])
				assert.Equal(t, false, lines[2]["forwarded"])
				assert.Equal(t, "Deny", lines[2]["decision"])
				assert.Equal(t, 1.0, counter(t, e.srv.metrics.decisions.WithLabelValues("glance_list_images", "none", reasonDecisionLog)))
			}
			assert.Equal(t, 1, opCount(t, e.oplog, msgLogFailed))
			assert.GreaterOrEqual(t, counter(t, e.srv.metrics.decisionLog.failures), 1.0)
			assert.Zero(t, counter(t, e.srv.metrics.decisionLog.dropped))
		})
	}
}
