package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withFileDecisionLog makes the proxy write decision_log itself instead of the test writer.
func withFileDecisionLog() envOption {
	return func(o *Options, _ *Loader) { o.DecisionLog = nil }
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// TestDecisionLogRotation rotates the decision log the ways logrotate does without
// copytruncate (rename, remove), with and without SIGHUP, and makes it unopenable for a
// while: each line lands whole in the file its path named when it was written, none is
// lost or repeated.
func TestDecisionLogRotation(t *testing.T) {
	cfg := strings.Replace(baseConfig, "[metrics]", "decision_log = \"decisions.jsonl\"\n\n[metrics]", 1)
	e := newEnv(t, cfg, nil, withFileDecisionLog())
	path := filepath.Join(e.dir, "decisions.jsonl")
	get := func() string {
		t.Helper()
		resp, _ := e.do(t, "GET", "/v2/images", nil, nil)
		require.Equal(t, 200, resp.StatusCode)
		return resp.Header.Get(HeaderDecisionID)
	}
	// holds waits until the file at p holds exactly the lines of ids.
	holds := func(p string, ids ...string) {
		t.Helper()
		require.Eventually(t, func() bool {
			data, err := os.ReadFile(p)
			if err != nil || strings.Count(string(data), "\n") != len(ids) {
				return false
			}
			for i, l := range strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n") {
				if !strings.Contains(l, `"decision_id":"`+ids[i]+`"`) {
					return false
				}
			}
			return true
		}, 10*time.Second, 5*time.Millisecond, "%s should hold %v", p, ids)
	}

	id1 := get()
	holds(path, id1)

	// Renamed away (logrotate's default): noticed at the next flush, a new file is created.
	require.NoError(t, os.Rename(path, path+".1"))
	id2 := get()
	holds(path, id2)
	holds(path+".1", id1)

	// Removed: created again.
	require.NoError(t, os.Remove(path))
	id3 := get()
	holds(path, id3)

	// SIGHUP (postrotate): reopened before ReopenDecisionLog returns.
	require.NoError(t, os.Rename(path, path+".2"))
	require.NoError(t, e.srv.ReopenDecisionLog())
	_, err := os.Stat(path)
	require.NoError(t, err, "created by the reopen")
	id4 := get()
	holds(path, id4)
	holds(path+".2", id3)

	// The path cannot be opened for a while (a folder stands in the way): the failure is
	// counted and logged, the line kept, and written once the path can be opened again.
	require.NoError(t, os.Rename(path, path+".3"))
	require.NoError(t, os.Mkdir(path, 0o755))
	waitOp(t, e.oplog, msgLogFailed, 1)
	assert.False(t, e.srv.logSink.writable())
	id5 := get()
	assert.GreaterOrEqual(t, counter(t, e.srv.metrics.decisionLog.failures), 1.0)
	assert.Contains(t, lastOp(t, e.oplog, msgLogFailed)["error"], "open decision_log")
	require.ErrorContains(t, e.srv.ReopenDecisionLog(), "open decision_log", "SIGHUP reports it too")
	require.NoError(t, os.Remove(path))
	holds(path, id5)
	holds(path+".3", id4)
	waitOp(t, e.oplog, msgLogRecovered, 1)
	assert.True(t, e.srv.logSink.writable())

	e.stop(t)
	assert.Zero(t, counter(t, e.srv.metrics.decisionLog.dropped))
	assert.GreaterOrEqual(t, opCount(t, e.oplog, "decision log file reopened"), 4)
}

// TestLogReopenKeepsTornLineWhole tears a line with a short write, then reopens: into the
// same file the rest follows; after a rotation the rest goes to the old file, or, when the
// old file cannot take it, the whole line goes to the new one.
func TestLogReopenKeepsTornLineWhole(t *testing.T) {
	cases := []struct {
		name    string
		rotate  bool
		oldDead bool
	}{
		{name: "SIGHUP, same file"},
		{name: "rotated", rotate: true},
		{name: "rotated, old file unwritable", rotate: true, oldDead: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "decisions.jsonl")
			f, err := openLogFile(path)
			require.NoError(t, err)
			m := newLogMetrics(nil)
			b := newBufferedLog(f, sinkOptions{path: path, m: m})
			fw := &flakyWriter{next: f}
			b.wmu.Lock()
			b.out = fw // the next reopen replaces it with the new file itself
			b.wmu.Unlock()
			for i := range 10 {
				_, _ = b.Write([]byte(testLine(i)))
			}
			require.Eventually(t, func() bool { return strings.Count(readFile(t, path), "\n") == 10 }, 5*time.Second, 5*time.Millisecond)
			fw.set(true, 7)
			for i := 10; i < 20; i++ {
				_, _ = b.Write([]byte(testLine(i)))
			}
			require.Eventually(t, func() bool { return counter(t, m.failures) >= 1 }, 5*time.Second, 5*time.Millisecond)
			if tc.oldDead {
				b.wmu.Lock()
				require.NoError(t, f.Close())
				b.wmu.Unlock()
			}
			if tc.rotate {
				require.NoError(t, os.Rename(path, path+".1"))
				require.Eventually(t, b.writable, 5*time.Second, 5*time.Millisecond)
			} else {
				require.NoError(t, b.Reopen())
				assert.True(t, b.writable())
			}
			require.NoError(t, b.Close())

			switch {
			case !tc.rotate:
				requireLines(t, readFile(t, path), seq(0, 20))
			case !tc.oldDead:
				requireLines(t, readFile(t, path+".1"), seq(0, 11))
				requireLines(t, readFile(t, path), seq(11, 20))
			default:
				old := readFile(t, path+".1")
				whole := strings.TrimSuffix(old, old[strings.LastIndexByte(old, '\n')+1:])
				requireLines(t, whole, seq(0, 10))
				assert.True(t, strings.HasPrefix(testLine(10), old[len(whole):]), "the old file ends with a piece of line 10, no newline")
				requireLines(t, readFile(t, path), seq(10, 20))
			}
		})
	}
}
