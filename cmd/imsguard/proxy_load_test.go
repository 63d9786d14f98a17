package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

// TestE2EUploadMemory streams a generated 1 GiB image upload through the real imsguard
// binary and samples the proxy process' resident memory while it flows. It runs only with
// IMSGUARD_LOADTEST=1 (Linux: it reads /proc).
func TestE2EUploadMemory(t *testing.T) {
	if os.Getenv("IMSGUARD_LOADTEST") == "" || runtime.GOOS != "linux" {
		t.Skip("set IMSGUARD_LOADTEST=1 (Linux) to measure the proxy's memory during a 1 GiB upload")
	}
	w := newE2EWorld(t)
	w.ims.Record = false
	p := startProxy(t, w.config(t, "enforce"))
	pid := p.cmd.Process.Pid
	rss := func(field string) int64 {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		require.NoError(t, err)
		m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(data)
		require.NotNil(t, m)
		kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return kb
	}
	before := rss("VmRSS")
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
			if v := rss("VmRSS"); v > peak.Load() {
				peak.Store(v)
			}
		}
	}()
	const size = 1 << 30
	req, err := http.NewRequest("PUT", p.url+"/v2/images/"+stub.SampleImageID+"/file", io.LimitReader(zeros{}, size))
	require.NoError(t, err)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	require.NoError(t, stub.Sign(req, nil, e2eAdminAK, e2eAdminSK, time.Time{}))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	close(stop)
	require.Equal(t, 204, resp.StatusCode)
	hwm := rss("VmHWM")
	text := fmt.Sprintf(`### imsguard process memory while streaming a 1 GiB upload (real binary)

| measure | value |
|---|---:|
| upload time | %s (%.0f MiB/s) |
| proxy RSS before | %.1f MiB |
| proxy RSS peak while streaming (sampled every 25ms) | %.1f MiB |
| proxy peak RSS over its life (VmHWM) | %.1f MiB |
`, elapsed.Round(time.Millisecond), float64(size)/(1<<20)/elapsed.Seconds(), float64(before)/1024, float64(peak.Load())/1024, float64(hwm)/1024)
	t.Log("\n" + text)
	if out := os.Getenv("IMSGUARD_LOADTEST_OUT"); out != "" {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		_, _ = f.WriteString(text + "\n")
		f.Close()
	}
	require.Less(t, hwm, before+64*1024, "the upload is streamed, not buffered")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
