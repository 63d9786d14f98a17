package proxy

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkProxy is the three-row proxy benchmark of issue 12 (`make bench-proxy`): for
// each policy case (perfCases), rounds of closed-loop load through the case's imsguard
// Server and through the tuned bare httputil.ReverseProxy (newBareProxy), both in front of
// the same fake IMS in this process, alternating which goes first. Each round is a
// sub-benchmark reporting req/s and the process CPU per request; the case's last
// sub-benchmark, "ratio", reports the median req/s of each target and their ratio
// (imsguard/bare, the ratio of the medians) plus the median of the per-round ratios and
// the ratio of the median CPU time per request (bare/imsguard: the throughput ratio on
// cores the test had to itself, which other jobs on the machine disturb far less).
//
// IMSGUARD_BENCH_ROUNDS (default 4) sets the rounds per case, IMSGUARD_BENCH_CLIENTS
// (default 8) the keep-alive client goroutines; -benchtime is the length of a round.
//
//	go test -run '^$' -bench '^BenchmarkProxy$' -benchtime 2s ./proxy/
func BenchmarkProxy(b *testing.B) {
	w := newPerfWorld(b, "")
	rounds := envInt("IMSGUARD_BENCH_ROUNDS", 4)
	clients := envInt("IMSGUARD_BENCH_CLIENTS", 8)
	var summary []string
	for _, c := range perfCases {
		b.Run(c.name, func(b *testing.B) {
			var bare, guard, bareCPU, guardCPU []float64
			for r := range rounds {
				order := []perfTarget{{"bare", w.urls["bare"]}, {"imsguard", w.urls[c.name]}}
				if r%2 == 1 {
					slices.Reverse(order)
				}
				for _, t := range order {
					var rate, cpu float64
					b.Run(fmt.Sprintf("r%d-%s", r+1, t.name), func(b *testing.B) {
						rate, cpu = closedLoopBench(b, c, t.url, clients)
					})
					if t.name == "bare" {
						bare, bareCPU = append(bare, rate), append(bareCPU, cpu)
					} else {
						guard, guardCPU = append(guard, rate), append(guardCPU, cpu)
					}
				}
			}
			perRound := make([]float64, len(bare))
			for i := range bare {
				perRound[i] = guard[i] / bare[i]
			}
			ratio := median(guard) / median(bare)
			b.Run("ratio", func(b *testing.B) {
				b.ReportMetric(median(bare), "bare-req/s")
				b.ReportMetric(median(guard), "imsguard-req/s")
				b.ReportMetric(ratio, "imsguard/bare")
				b.ReportMetric(median(perRound), "median-round-ratio")
				b.ReportMetric(median(bareCPU)/median(guardCPU), "bare-cpu/imsguard-cpu")
			})
			summary = append(summary, fmt.Sprintf("| %s | %.0f | %.0f | **%.2f** | %.2f | %.1f / %.1f = %.2f | %s |", c.title, median(bare), median(guard), ratio, median(perRound),
				median(bareCPU), median(guardCPU), median(bareCPU)/median(guardCPU), fmtRates(perRound, "%.2f")))
		})
	}
	fmt.Printf("\n%d rounds of %s per target and case, %d clients, GOMAXPROCS %d\n\n| policy attached to the caller | bare req/s (median) | imsguard req/s (median) | ratio of medians | median of per-round ratios | CPU µs per request, bare / imsguard (medians) | per-round ratios |\n|---|---:|---:|---:|---:|---:|---|\n%s\n\n",
		rounds, benchtimeString(), clients, runtimeGOMAXPROCS(), strings.Join(summary, "\n"))
}

// closedLoopBench sends b.N requests of case c to base from clients goroutines, back to
// back on keep-alive connections, and returns requests per second. It reports req/s and
// the CPU time of the whole process (clients, proxy, fake IMS) per request, and returns
// both.
func closedLoopBench(b *testing.B, c perfCase, base string, clients int) (rate, cpuPerReq float64) {
	p := newPerfRequester(c)
	defer p.close()
	b.SetParallelism(max(1, clients/runtimeGOMAXPROCS()))
	b.ReportAllocs()
	cpu0 := processCPU()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.do(base); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	rate = float64(b.N) / elapsed.Seconds()
	cpuPerReq = float64((processCPU() - cpu0).Microseconds()) / float64(b.N)
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(cpuPerReq, "cpu-µs/op")
	return rate, cpuPerReq
}

// median returns the median of x (the mean of the middle two for an even count).
func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	y := slices.Clone(x)
	slices.Sort(y)
	if len(y)%2 == 1 {
		return y[len(y)/2]
	}
	return (y[len(y)/2-1] + y[len(y)/2]) / 2
}

// envInt reads a positive integer setting of the benchmarks from the environment.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func runtimeGOMAXPROCS() int { return runtime.GOMAXPROCS(0) }

// benchtimeString is the -benchtime in effect.
func benchtimeString() string {
	if f := flag.Lookup("test.benchtime"); f != nil {
		return f.Value.String()
	}
	return "?"
}

// BenchmarkProxyHandler is the in-process half of BenchmarkProxy: each case's handler and
// the bare proxy serve a request built in memory, with a transport that answers without a
// network (cannedTransport), so ns/op, B/op and allocs/op are the proxies' own work.
func BenchmarkProxyHandler(b *testing.B) {
	w := newPerfWorld(b, "")
	target, _ := url.Parse(w.upstream.URL)
	bare := newBareProxy(target)
	bare.Transport = cannedTransport{}
	for _, c := range perfCases {
		srv := w.guards[c.name]
		srv.Snapshot().fwd.rp.Transport = cannedTransport{}
		for _, t := range []struct {
			name string
			h    http.Handler
		}{{"bare", bare}, {"imsguard", srv}} {
			b.Run(c.name+"/"+t.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r := httptest.NewRequest("GET", "/v2/images?limit=10", nil)
					r.RemoteAddr = "127.0.0.1:40000"
					if c.xff {
						r.Header["X-Forwarded-For"] = []string{perfCallerAddr(i)}
						i++
					}
					rec := httptest.NewRecorder()
					t.h.ServeHTTP(rec, r)
					if rec.Code != 200 {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		}
	}
}
