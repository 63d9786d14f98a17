package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

// spinDecider allows every request after spending cost of CPU time: a stand-in for
// decisions expensive enough that the proxy's capacity is below the offered load.
type spinDecider struct{ cost time.Duration }

func (s spinDecider) Decide(_ context.Context, in authz.Input) (authz.Decision, error) {
	for t0 := time.Now(); time.Since(t0) < s.cost; {
	}
	d := authz.Decision{Effect: authz.Allow}
	for _, a := range in.Actions {
		d.Actions = append(d.Actions, authz.ActionDecision{Action: a, Effect: authz.Allow})
	}
	return d, nil
}

// statusLatencies are the latencies of an open-loop run by response status (0: no answer).
type statusLatencies map[int][]time.Duration

// openLoopStatus is openLoopSlice recording the status of every answer.
func openLoopStatus(client *http.Client, url string, rate int, d time.Duration) statusLatencies {
	code := make([]int, int(float64(rate)*d.Seconds()))
	lat := openLoopRun(rate, d, 4096, 100*time.Microsecond, func(i int) {
		if resp, err := client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code[i] = resp.StatusCode
		}
	})
	out := statusLatencies{}
	for i := range lat {
		out[code[i]] = append(out[code[i]], lat[i])
	}
	for _, l := range out {
		slices.Sort(l)
	}
	return out
}

// shedHelper is the proxy process of TestLoadShed: an imsguard Server in front of
// IMSGUARD_SHED_UPSTREAM whose decisions cost IMSGUARD_SHED_COST_US µs of CPU, with the
// [limits] table in IMSGUARD_SHED_LIMITS. It prints "ADDR host:port" and serves until its
// standard input closes.
func shedHelper() int {
	dir, err := os.MkdirTemp("", "imsguard-shed")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	cost := time.Duration(envInt("IMSGUARD_SHED_COST_US", 2000)) * time.Microsecond
	files := map[string]string{"imsguard.toml": perfConfig(perfCases[0], os.Getenv("IMSGUARD_SHED_UPSTREAM"), os.Getenv("IMSGUARD_SHED_LIMITS"))}
	for name, content := range perfCases[0].policies {
		files["policies/"+name] = content
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.WriteFile(p, []byte(content), 0o600)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	cat, err := actions.Embedded()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	srv, err := NewServer(context.Background(), Options{Loader: &Loader{ConfigPath: filepath.Join(dir, "imsguard.toml"), Catalog: cat,
		Linter: func([]*policy.File) error { return nil },
		NewDecider: func(context.Context, *actions.Catalog, []authz.Attachment, authz.Options) (Decider, error) {
			return spinDecider{cost: cost}, nil
		}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	fmt.Printf("ADDR %s\n", srv.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startShedHelper starts shedHelper in a child process (this test binary) and returns
// its base URL; the child stops at the end of the test.
func startShedHelper(t *testing.T, upstream, limits string) string {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "IMSGUARD_SHED_HELPER=1", "IMSGUARD_SHED_UPSTREAM="+upstream, "IMSGUARD_SHED_LIMITS="+limits)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		require.NoError(t, cmd.Wait())
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return "http://" + addr
		}
	}
	t.Fatalf("the proxy process did not start: %v", sc.Err())
	return ""
}

// TestLoadShed drives a proxy past its capacity, open loop, from another process:
// decisions cost IMSGUARD_SHED_COST_US (2000) µs of CPU each, so two cores decide well
// under 1,000 a second, and IMSGUARD_SHED_RATE (1500) requests/s are offered for 4 s by a
// client that opens at most 256 connections. The proxy runs with the default [limits]
// (half the cores), one and four slots per core, and effectively no bound. It reports how many requests were
// admitted (200) and shed (503) and their latencies from the scheduled send time: with a
// bound, shed requests are refused after about queue_wait and admitted ones keep a bounded
// latency; without one, every request queues for the CPU and latencies grow for as long as
// the overload lasts.
func TestLoadShed(t *testing.T) {
	loadTest(t)
	upstream := newPerfWorld(t, "").upstream.URL
	cost := time.Duration(envInt("IMSGUARD_SHED_COST_US", 2000)) * time.Microsecond
	procs := runtime.GOMAXPROCS(0)
	targets := []struct{ name, limits string }{
		{fmt.Sprintf("default [limits]: %d slot(s) (half the cores), queue_wait 50ms", defaultInflightDecisions()), ""},
		{fmt.Sprintf("%d slots (1 per core)", procs), fmt.Sprintf("[limits]\nmax_inflight_decisions = %d", procs)},
		{fmt.Sprintf("%d slots (4 per core)", 4*procs), fmt.Sprintf("[limits]\nmax_inflight_decisions = %d", 4*procs)},
		{"no bound (max_inflight_decisions = 100000, queue_wait = 10s)", "[limits]\nmax_inflight_decisions = 100000\nqueue_wait = \"10s\""},
	}
	rate := envInt("IMSGUARD_SHED_RATE", 1500)
	d := 4 * time.Second
	var b strings.Builder
	fmt.Fprintf(&b, "### Past capacity: %d requests/s for %s, decisions costing %s of CPU (ms from the scheduled send time)\n\n", rate, d, cost)
	b.WriteString("| proxy | admitted (200) | p50 | p99 | max | shed (503) | p50 | p99 | max | other |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var shedWithBound int
	for i, tc := range targets {
		url := startShedHelper(t, upstream, tc.limits)
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute, DisableCompression: true}}
		res := openLoopStatus(client, url+"/v2/images?limit=10", rate, d)
		client.CloseIdleConnections()
		ok, shed := res[200], res[503]
		other := 0
		for code, l := range res {
			if code != 200 && code != 503 {
				other += len(l)
			}
		}
		q := func(l []time.Duration, p float64) string {
			if len(l) == 0 {
				return "–"
			}
			return msf(l[int(float64(len(l)-1)*p)])
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %d | %s | %s | %s | %d |\n", tc.name, len(ok), q(ok, .5), q(ok, .99), q(ok, 1), len(shed), q(shed, .5), q(shed, .99), q(shed, 1), other)
		if i == 0 {
			shedWithBound = len(shed)
		}
		require.Zero(t, other, "every request is admitted or shed")
	}
	report(t, b.String())
	require.Positive(t, shedWithBound, "past capacity the bounded proxy sheds")
}
