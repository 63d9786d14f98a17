package proxy

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tailRun is the latencies of open-loop runs against one target.
type tailRun struct {
	lat     []time.Duration // from each request's scheduled send time; sorted by sort
	errs    int64
	lastErr atomic.Value // an error seen, for the report
}

func (r *tailRun) sort() { slices.Sort(r.lat) }

func (r *tailRun) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(float64(len(r.lat)-1)*p)]
}

// openLoopSlice sends the requests of p to base at rate per second for d, on schedule whether
// or not earlier ones were answered, and appends each latency, measured from its scheduled
// send time, to r: a stall counts against every request it delays (no coordinated
// omission).
func openLoopSlice(p *perfRequester, base string, rate int, d time.Duration, r *tailRun) {
	var nerr atomic.Int64
	// At most 2,048 outstanding: a full pool delays sends, which then count.
	lat := openLoopRun(rate, d, 2048, 100*time.Microsecond, func(int) {
		if err := p.do(base); err != nil {
			nerr.Add(1)
			r.lastErr.Store(err.Error())
		}
	})
	r.lat = append(r.lat, lat...)
	r.errs += nerr.Load()
}

// TestLoadTail measures the tails at a fixed 2,000 requests/s (issue 12), open loop. For
// each case of BenchmarkProxy, the case's imsguard and the bare proxy take turns in slices
// of IMSGUARD_TAIL_SLICE_MS (250) ms, alternating which goes first, each target on its own
// keep-alive client for the whole case, until each has had IMSGUARD_TAIL_SECONDS (8)
// seconds: a disturbance from outside the test hits both alike. The latencies of a target's slices are
// pooled; the report gives p50, p99, p99.9 and max per target and each case's p99 and
// p99.9 as a multiple of the bare proxy's, and the garbage collections meanwhile.
// IMSGUARD_TAIL_RATE changes the rate; IMSGUARD_TAIL_CASES (names, comma-separated)
// selects cases.
func TestLoadTail(t *testing.T) {
	loadTest(t)
	w := newPerfWorld(t, "")
	rate := envInt("IMSGUARD_TAIL_RATE", 2000)
	seconds := envInt("IMSGUARD_TAIL_SECONDS", 8)
	slice := time.Duration(envInt("IMSGUARD_TAIL_SLICE_MS", 250)) * time.Millisecond
	slicesPer := int(time.Duration(seconds) * time.Second / slice)
	var b strings.Builder
	fmt.Fprintf(&b, "### Tails at %d requests/s (open loop, %d slices of %s per target, interleaved with the bare proxy's; ms from the scheduled send time)\n\n", rate, slicesPer, slice)
	b.WriteString("| policy attached to the caller | target | p50 | p99 | p99.9 | max | p99 / bare | p99.9 / bare | errors | GCs |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var errs int64
	for _, c := range perfCases {
		if only := os.Getenv("IMSGUARD_TAIL_CASES"); only != "" && !slices.Contains(strings.Split(only, ","), c.name) {
			continue
		}
		bareReq, guardReq := newPerfRequester(c), newPerfRequester(c)
		var bare, guard tailRun
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		for i := range slicesPer {
			if i%2 == 0 {
				openLoopSlice(bareReq, w.urls["bare"], rate, slice, &bare)
				openLoopSlice(guardReq, w.urls[c.name], rate, slice, &guard)
			} else {
				openLoopSlice(guardReq, w.urls[c.name], rate, slice, &guard)
				openLoopSlice(bareReq, w.urls["bare"], rate, slice, &bare)
			}
		}
		runtime.ReadMemStats(&ms1)
		bareReq.close()
		guardReq.close()
		bare.sort()
		guard.sort()
		ratio := func(p float64) float64 { return float64(guard.pct(p)) / float64(bare.pct(p)) }
		for _, x := range []struct {
			name string
			r    *tailRun
		}{{"bare", &bare}, {"imsguard", &guard}} {
			r := x.r
			rel := "| 1 | 1 "
			if x.name == "imsguard" {
				rel = fmt.Sprintf("| **%.2f** | **%.2f** ", ratio(.99), ratio(.999))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s %s| %d | %d |\n", c.title, x.name, msf(r.pct(.5)), msf(r.pct(.99)), msf(r.pct(.999)), msf(r.pct(1)), rel, r.errs, ms1.NumGC-ms0.NumGC)
			errs += r.errs
			if e := r.lastErr.Load(); e != nil {
				t.Logf("%s %s: %d errors, e.g. %s", c.name, x.name, r.errs, e)
			}
		}
		t.Logf("%s: p99 %s vs %s (%.2f×), p99.9 %s vs %s (%.2f×)", c.name, msf(guard.pct(.99)), msf(bare.pct(.99)), ratio(.99), msf(guard.pct(.999)), msf(bare.pct(.999)), ratio(.999))
	}
	report(t, b.String())
	require.Zero(t, errs, "errors under load")
}

func msf(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

// TestPerfHarness keeps the load harness from rotting in the default suite: a fifth of a
// second of open-loop load at 200 requests/s through the bare proxy and every case's
// server, without an error. It measures nothing.
func TestPerfHarness(t *testing.T) {
	w := newPerfWorld(t, "")
	for _, c := range perfCases {
		for _, target := range []string{"bare", c.name} {
			p := newPerfRequester(c)
			var r tailRun
			openLoopSlice(p, w.urls[target], 200, 200*time.Millisecond, &r)
			p.close()
			require.Len(t, r.lat, 40, "%s %s", c.name, target)
			require.Zero(t, r.errs, "%s %s: %v", c.name, target, r.lastErr.Load())
		}
	}
}
