package proxy

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tailRun is one open-loop run against one target.
type tailRun struct {
	lat        []time.Duration // sorted, from each request's scheduled send time
	errs       int64
	gcs        uint32        // garbage collections during the run (whole process)
	gcPauseMax time.Duration // longest stop-the-world pause among them
}

func (r tailRun) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(float64(len(r.lat)-1)*p)]
}

// openLoopCase sends the requests of case c to base at rate per second for d, on schedule
// whether or not earlier ones were answered, and measures each latency from its scheduled
// send time: a stall counts against every request it delays (no coordinated omission).
func openLoopCase(c perfCase, base string, rate int, d time.Duration) tailRun {
	p := newPerfRequester(c)
	defer p.close()
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, total)
	var nerr atomic.Int64
	sem := make(chan struct{}, 2048) // most requests outstanding; a full semaphore delays sends, which then count
	var wg sync.WaitGroup
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for i := 0; i < total; {
		due := int(time.Since(start)/interval) + 1
		for ; i < total && i < due; i++ {
			scheduled := start.Add(time.Duration(i) * interval)
			sem <- struct{}{}
			wg.Add(1)
			go func(i int) {
				defer func() { <-sem; wg.Done() }()
				if err := p.do(base); err != nil {
					nerr.Add(1)
				}
				lat[i] = time.Since(scheduled)
			}(i)
		}
		time.Sleep(100 * time.Microsecond)
	}
	wg.Wait()
	runtime.ReadMemStats(&ms1)
	slices.Sort(lat)
	r := tailRun{lat: lat, errs: nerr.Load(), gcs: ms1.NumGC - ms0.NumGC}
	for n := ms0.NumGC; n < ms1.NumGC && ms1.NumGC-n <= 256; n++ {
		r.gcPauseMax = max(r.gcPauseMax, time.Duration(ms1.PauseNs[n%256]))
	}
	return r
}

// TestLoadTail measures the tails at a fixed 2,000 requests/s (issue 12): open loop, every
// case of BenchmarkProxy and the bare proxy in the same run, in rounds that rotate which
// goes first. It reports p50, p99, p99.9 and max per target (the median over the rounds),
// each case's p99 and p99.9 as a multiple of the bare proxy's in the same round (median of
// the per-round ratios), errors, and the garbage collections during the runs.
// IMSGUARD_TAIL_RATE, IMSGUARD_TAIL_SECONDS (8) and IMSGUARD_TAIL_ROUNDS (3) change the
// rate, the length of a run and the rounds; IMSGUARD_TAIL_CASES (names, comma-separated)
// selects cases.
func TestLoadTail(t *testing.T) {
	loadTest(t)
	w := newPerfWorld(t, "")
	rate := envInt("IMSGUARD_TAIL_RATE", 2000)
	d := time.Duration(envInt("IMSGUARD_TAIL_SECONDS", 8)) * time.Second
	rounds := envInt("IMSGUARD_TAIL_ROUNDS", 3)
	targets := []perfCase{{name: "bare"}}
	for _, c := range perfCases {
		if only := os.Getenv("IMSGUARD_TAIL_CASES"); only == "" || slices.Contains(strings.Split(only, ","), c.name) {
			targets = append(targets, c)
		}
	}
	runs := map[string][]tailRun{}
	for r := range rounds {
		for k := range targets {
			tc := targets[(k+r)%len(targets)]
			c := tc
			if tc.name == "bare" {
				c = perfCases[0] // the plain request
			}
			runtime.GC()
			run := openLoopCase(c, w.urls[tc.name], rate, d)
			t.Logf("round %d %-15s p50 %s p99 %s p99.9 %s max %s errors %d, %d GCs (longest pause %s)", r+1, tc.name,
				ms(run.pct(.5)), ms(run.pct(.99)), ms(run.pct(.999)), ms(run.pct(1)), run.errs, run.gcs, run.gcPauseMax)
			runs[tc.name] = append(runs[tc.name], run)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Tails at %d requests/s (open loop, %d rounds of %s per target, ms from the scheduled send time, median over the rounds)\n\n", rate, rounds, d)
	b.WriteString("| target | p50 | p99 | p99.9 | max | p99 / bare | p99.9 / bare | errors | GCs per run |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var errs int64
	for _, tc := range targets {
		rs := runs[tc.name]
		q := func(p float64) float64 {
			var x []float64
			for _, r := range rs {
				x = append(x, float64(r.pct(p).Microseconds())/1000)
			}
			return median(x)
		}
		ratio := func(p float64) string {
			if tc.name == "bare" {
				return "1"
			}
			var x []float64
			for i, r := range rs {
				x = append(x, float64(r.pct(p))/float64(runs["bare"][i].pct(p)))
			}
			return fmt.Sprintf("**%.2f** (%s)", median(x), fmtRates(x, "%.2f"))
		}
		var n int64
		var gcs []float64
		for _, r := range rs {
			n += r.errs
			gcs = append(gcs, float64(r.gcs))
		}
		errs += n
		title := tc.name
		if tc.title != "" {
			title = tc.title
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.2f | %s | %s | %d | %.0f |\n", title, q(.5), q(.99), q(.999), q(1), ratio(.99), ratio(.999), n, median(gcs))
	}
	report(t, b.String())
	require.Zero(t, errs, "errors under load")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
