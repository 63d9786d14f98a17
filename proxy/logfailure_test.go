package proxy

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flakyWriter is a decision log destination that fails on demand. While failing, a write
// first writes short bytes of what it was given (a disk filling up mid-write), then fails
// with ENOSPC.
type flakyWriter struct {
	mu       sync.Mutex
	next     interface{ Write([]byte) (int, error) }
	out      bytes.Buffer // what was written, when next is nil
	fail     bool
	short    int
	attempts int
}

func (w *flakyWriter) set(fail bool, short int) {
	w.mu.Lock()
	w.fail, w.short = fail, short
	w.mu.Unlock()
}

func (w *flakyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts++
	n := len(p)
	if w.fail {
		n = min(w.short, len(p))
	}
	if w.next != nil {
		if _, err := w.next.Write(p[:n]); err != nil {
			return 0, err
		}
	} else {
		w.out.Write(p[:n])
	}
	if w.fail {
		return n, syscall.ENOSPC
	}
	return n, nil
}

func (w *flakyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// testLine is line i, distinct and self-checking: "line 00042 xxxx…".
func testLine(i int) string {
	return fmt.Sprintf("line %05d %s\n", i, strings.Repeat("x", 80))
}

// requireLines checks that out holds exactly the lines want, in order, each whole once.
func requireLines(t *testing.T, out string, want []int) {
	t.Helper()
	var exp strings.Builder
	for _, i := range want {
		exp.WriteString(testLine(i))
	}
	if out != exp.String() {
		got := strings.SplitAfter(out, "\n")
		t.Fatalf("decision log holds %d pieces, want %d whole lines in order; first difference near %q", len(got), len(want), firstDiff(out, exp.String()))
	}
}

func firstDiff(a, b string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[max(0, i-20):min(len(a), i+20)]
		}
	}
	return "(one is a prefix of the other)"
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// opCount counts operational log lines with message msg.
func opCount(t *testing.T, oplog *syncBuffer, msg string) int {
	t.Helper()
	n := 0
	for _, l := range oplogLines(t, oplog) {
		if l["msg"] == msg {
			n++
		}
	}
	return n
}

const (
	msgLogFailed    = "decision log cannot be written; keeping its lines in memory and retrying"
	msgLogRecovered = "decision log writable again"
)

// waitOp waits until the operational log has n lines with message msg: the last thing
// the decision log does when it starts or stops failing.
func waitOp(t *testing.T, oplog *syncBuffer, msg string, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return opCount(t, oplog, msg) == n }, 10*time.Second, 5*time.Millisecond,
		"want %d %q in the operational log", n, msg)
}

// lastOp returns the last operational log line with message msg.
func lastOp(t *testing.T, oplog *syncBuffer, msg string) map[string]any {
	t.Helper()
	var out map[string]any
	for _, l := range oplogLines(t, oplog) {
		if l["msg"] == msg {
			out = l
		}
	}
	require.NotNil(t, out, "no %q in the operational log", msg)
	return out
}

// TestLogWriteFailureBursts fails the destination twice, with short writes that tear the
// line being written: every line ends up written whole exactly once and in order, each
// burst is logged once when it starts and once when it ends, and the failures are counted.
func TestLogWriteFailureBursts(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			w := &flakyWriter{}
			oplog := &syncBuffer{}
			m := newLogMetrics(nil)
			b := newBufferedLog(w, sinkOptions{name: "test", sync: sync, log: newJSONLogger(oplog), m: m})
			write := func(from, to int) {
				for i := from; i < to; i++ {
					_, err := b.Write([]byte(testLine(i)))
					require.NoError(t, err)
				}
			}
			write(0, 100)
			require.Eventually(t, func() bool { return strings.Count(w.String(), "\n") == 100 }, 5*time.Second, 5*time.Millisecond)
			assert.True(t, b.writable())

			for burst, short := range []int{7, 0} {
				w.set(true, short)
				write(100+200*burst, 200+200*burst)
				require.Eventually(t, func() bool { return counter(t, m.failures) >= float64(3*(burst+1)) }, 10*time.Second, 5*time.Millisecond,
					"the write is retried")
				assert.False(t, b.writable())
				assert.Zero(t, gauge(t, m.writable))
				assert.Equal(t, burst+1, opCount(t, oplog, msgLogFailed), "one line per burst, not per failure")
				assert.Equal(t, burst, opCount(t, oplog, msgLogRecovered))
				write(200+200*burst, 300+200*burst) // keeps flowing while failing

				w.set(false, 0)
				waitOp(t, oplog, msgLogRecovered, burst+1) // recovers on a retry
				assert.True(t, b.writable())
				assert.Equal(t, 1.0, gauge(t, m.writable))
				rec := lastOp(t, oplog, msgLogRecovered)
				assert.EqualValues(t, 0, rec["lines_lost"])
				assert.GreaterOrEqual(t, rec["failed_attempts"], 3.0)
				assert.Equal(t, "test", rec["decision_log"])
			}
			write(500, 510)
			require.NoError(t, b.Close())
			requireLines(t, w.String(), seq(0, 510))
			assert.Zero(t, counter(t, m.dropped))
			assert.Equal(t, 2, opCount(t, oplog, msgLogFailed))
		})
	}
}

// TestLogBoundDropsWholeLines: while the destination fails, unwritten lines are kept up to
// the bound; later lines are dropped whole, counted, and reported when writing recovers.
func TestLogBoundDropsWholeLines(t *testing.T) {
	w := &flakyWriter{}
	oplog := &syncBuffer{}
	m := newLogMetrics(nil)
	lineLen := len(testLine(0))
	b := newBufferedLog(w, sinkOptions{name: "test", sync: true, log: newJSONLogger(oplog), m: m, max: 10 * lineLen})
	w.set(true, 0)
	_, _ = b.Write([]byte(testLine(0)))
	require.False(t, b.writable(), "a synchronous write fails at once")
	for i := 1; i < 51; i++ {
		_, _ = b.Write([]byte(testLine(i)))
	}
	assert.Equal(t, 41.0, counter(t, m.dropped), "10 lines fit the bound")
	w.set(false, 0)
	waitOp(t, oplog, msgLogRecovered, 1)
	assert.True(t, b.writable())
	assert.EqualValues(t, 41, lastOp(t, oplog, msgLogRecovered)["lines_lost"])
	_, _ = b.Write([]byte(testLine(51)))
	require.NoError(t, b.Close())
	requireLines(t, w.String(), append(seq(0, 10), 51))
}

// TestLogCloseReportsLostLines: lines that still cannot be written at shutdown are counted
// and the error says how many.
func TestLogCloseReportsLostLines(t *testing.T) {
	w := &flakyWriter{}
	m := newLogMetrics(nil)
	b := newBufferedLog(w, sinkOptions{name: "test", m: m})
	w.set(true, 3)
	for i := range 5 {
		_, _ = b.Write([]byte(testLine(i)))
	}
	err := b.Close()
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "5 decision line(s) lost at shutdown")
	assert.Equal(t, 5.0, counter(t, m.dropped))
	_, _ = b.Write([]byte(testLine(5)))
	assert.Equal(t, 6.0, counter(t, m.dropped), "a line after Close is counted too")
}
