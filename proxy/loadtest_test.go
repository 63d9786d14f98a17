package proxy

import (
	"fmt"
	"io"
	"net/http"
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

// The load tests only run with IMSGUARD_LOADTEST=1 (they take about a minute and want an
// otherwise idle machine); `go test -race ./...` skips them. All traffic is on 127.0.0.1,
// bounded in count and time. Results are logged (go test -v) and, with
// IMSGUARD_LOADTEST_OUT=FILE, appended to FILE as Markdown.
//
//	IMSGUARD_LOADTEST=1 go test -run 'TestLoad' -v -count=1 ./proxy/

func loadTest(t *testing.T) {
	if os.Getenv("IMSGUARD_LOADTEST") == "" {
		t.Skip("set IMSGUARD_LOADTEST=1 to run the load tests")
	}
}

func report(t *testing.T, text string) {
	t.Log("\n" + text)
	if out := os.Getenv("IMSGUARD_LOADTEST_OUT"); out != "" {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		defer f.Close()
		_, _ = f.WriteString(text + "\n")
	}
}

// get sends one request and drains the answer.
func get(client *http.Client, url string) error { return drainOK(client.Get(url)) }

// drainOK drains and closes an answer; anything but a 200 is an error.
func drainOK(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// closedLoop runs workers sending back-to-back requests for d and returns requests/second.
func closedLoop(t *testing.T, url string, workers int, d time.Duration) float64 {
	client := benchClient()
	defer client.CloseIdleConnections()
	var n, errs atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := get(client, url); err != nil {
					errs.Add(1)
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	require.Zero(t, errs.Load(), "errors under load")
	return float64(n.Load()) / d.Seconds()
}

// TestLoadThroughput compares the maximum throughput of imsguard and a bare
// httputil.ReverseProxy to the same upstream. Short rounds are taken in adjacent pairs
// (alternating which goes first) so background load hits both alike; the median of the
// per-pair ratios is the result.
func TestLoadThroughput(t *testing.T) {
	loadTest(t)
	w := newBenchWorld(t)
	const rounds, workers = 10, 32
	d := 1500 * time.Millisecond
	var bare, guard, ratio []float64
	for i := range rounds {
		var b, g float64
		if i%2 == 0 {
			b = closedLoop(t, w.bare+"/v2/images?limit=10", workers, d)
			g = closedLoop(t, w.guard+"/v2/images?limit=10", workers, d)
		} else {
			g = closedLoop(t, w.guard+"/v2/images?limit=10", workers, d)
			b = closedLoop(t, w.bare+"/v2/images?limit=10", workers, d)
		}
		bare, guard, ratio = append(bare, b), append(guard, g), append(ratio, g/b)
	}
	med := func(x []float64) float64 {
		y := slices.Clone(x)
		slices.Sort(y)
		return (y[len(y)/2-1] + y[len(y)/2]) / 2
	}
	report(t, fmt.Sprintf(`### Maximum throughput (closed loop, %d connections, %d adjacent pairs of %s rounds)

| target | req/s (median) | per round |
|---|---:|---|
| bare httputil.ReverseProxy | %.0f | %s |
| imsguard (enforce, decision log to a file) | %.0f | %s |
| imsguard / bare (median of the per-pair ratios) | **%.2f** | %s |
`, workers, rounds, d, med(bare), fmtRates(bare, "%.0f"), med(guard), fmtRates(guard, "%.0f"), med(ratio), fmtRates(ratio, "%.2f")))
}

func fmtRates(r []float64, format string) string {
	var s []string
	for _, x := range r {
		s = append(s, fmt.Sprintf(format, x))
	}
	return strings.Join(s, ", ")
}

// openLoop sends requests at a fixed rate for d (scheduled, not waiting for answers) and
// returns the latencies measured from each request's scheduled time, sorted, so a stall
// counts against every request it delays (no coordinated omission).
func openLoop(t *testing.T, url string, rate int, d time.Duration) (lat []time.Duration, errs int64) {
	client := benchClient()
	defer client.CloseIdleConnections()
	var nerr atomic.Int64
	lat = openLoopRun(rate, d, 1024, 50*time.Microsecond, func(int) {
		if err := get(client, url); err != nil {
			nerr.Add(1)
		}
	})
	slices.Sort(lat)
	return lat, nerr.Load()
}

// openLoopRun is the open-loop schedule of every load test: rate×d requests, request i
// sent at start + i/rate by calling send(i) in a goroutine of its own, whether or not
// earlier ones were answered, and its latency measured from that scheduled time. At most
// outstanding requests are in flight (a full pool delays sends, and the delay counts); the
// scheduler wakes every tick. The latencies are returned by request index.
func openLoopRun(rate int, d time.Duration, outstanding int, tick time.Duration, send func(i int)) []time.Duration {
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, total)
	sem := make(chan struct{}, outstanding)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < total; {
		due := int(time.Since(start)/interval) + 1
		for ; i < total && i < due; i++ {
			scheduled := start.Add(time.Duration(i) * interval)
			sem <- struct{}{}
			n := i
			wg.Go(func() {
				defer func() { <-sem }()
				send(n)
				lat[n] = time.Since(scheduled)
			})
		}
		time.Sleep(tick)
	}
	wg.Wait()
	return lat
}

func pct(lat []time.Duration, p float64) string {
	i := int(float64(len(lat)-1) * p)
	return fmt.Sprintf("%.2f", float64(lat[i].Microseconds())/1000)
}

// TestLoadLatency reports p50/p99/p99.9 latency at fixed request rates up to 5000/s,
// through imsguard and through the bare proxy.
func TestLoadLatency(t *testing.T) {
	loadTest(t)
	w := newBenchWorld(t)
	d := 4 * time.Second
	var b strings.Builder
	fmt.Fprintf(&b, "### Latency at fixed rates (open loop, %s per rate, ms from the scheduled send time)\n\n", d)
	b.WriteString("| rate (req/s) | target | p50 | p99 | p99.9 | max | errors |\n|---:|---|---:|---:|---:|---:|---:|\n")
	for _, rate := range []int{500, 1000, 2000, 5000} {
		for _, tc := range []struct{ name, url string }{{"bare", w.bare}, {"imsguard", w.guard}} {
			runtime.GC()
			lat, errs := openLoop(t, tc.url+"/v2/images?limit=10", rate, d)
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %d |\n", rate, tc.name, pct(lat, .5), pct(lat, .99), pct(lat, .999), pct(lat, 1), errs)
			require.Zero(t, errs)
		}
	}
	report(t, b.String())
}

// TestLoadUploadMemory streams a generated 1 GiB image upload through imsguard (AK/SK,
// UNSIGNED-PAYLOAD) and samples the Go heap while it flows: memory stays flat.
// (TestUploadHeapBound checks the same with 96 MiB in every test run.)
func TestLoadUploadMemory(t *testing.T) {
	loadTest(t)
	w := newBenchWorld(t)
	const size = 1 << 30
	m := streamUpload(t, w.guard, size, 20*time.Millisecond)
	require.Equal(t, 200, m.status)
	report(t, fmt.Sprintf(`### Streaming a 1 GiB upload (PUT /v2/images/{id}/file, AK/SK UNSIGNED-PAYLOAD)

| measure | value |
|---|---:|
| time | %s (%.0f MiB/s) |
| Go heap in use before | %.1f MiB |
| Go heap in use, peak while streaming (client + proxy + upstream in one process) | %.1f MiB |
| bytes allocated during the upload | %.1f MiB |
`, m.elapsed.Round(time.Millisecond), float64(size)/(1<<20)/m.elapsed.Seconds(), mib(m.before), mib(m.peak), mib(m.allocated)))
	require.Less(t, m.growth(), uint64(64<<20), "the upload is not buffered")
}
