package proxy

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

// uploadMemory is what streaming one upload through the proxy cost the Go heap, which the
// client, the proxy and the upstream share in these tests.
type uploadMemory struct {
	status    int
	elapsed   time.Duration
	before    uint64 // heap in use after a collection, just before the upload
	peak      uint64 // heap in use, highest sample while the upload streamed
	allocated uint64 // bytes allocated from the start of the upload to its response
}

// growth is how far the heap in use rose above where it started.
func (m uploadMemory) growth() uint64 { return m.peak - min(m.peak, m.before) }

// streamUpload sends a generated upload of size bytes (PUT /v2/images/{id}/file, AK/SK with
// UNSIGNED-PAYLOAD as the SDK sends uploads) through the proxy at base, sampling the heap in
// use every interval while it flows, and once more at the end.
func streamUpload(t *testing.T, base string, size int64, interval time.Duration) uploadMemory {
	t.Helper()
	req, err := http.NewRequest("PUT", base+"/v2/images/"+stub.SampleImageID+"/file", io.LimitReader(zeroReader{}, size))
	require.NoError(t, err)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	require.NoError(t, stub.Sign(req, nil, adminAK, adminSK, time.Time{}))
	client := benchClient()
	defer client.CloseIdleConnections()

	var m uploadMemory
	var peak atomic.Uint64
	sample := func(ms *runtime.MemStats) {
		runtime.ReadMemStats(ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample(&ms)
			}
		}
	}()
	start := time.Now()
	resp, err := client.Do(req)
	close(stop)
	<-sampled
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	m.elapsed = time.Since(start)
	var after runtime.MemStats
	sample(&after)
	m.status, m.before, m.peak, m.allocated = resp.StatusCode, before.HeapInuse, peak.Load(), after.TotalAlloc-before.TotalAlloc
	return m
}

// TestUploadHeapBound streams a 96 MiB upload through the proxy to an upstream that
// discards it: the heap must stay far below the upload's size, or the proxy buffered the
// body. (TestLoadUploadMemory measures 1 GiB, with IMSGUARD_LOADTEST set.)
func TestUploadHeapBound(t *testing.T) {
	w := newBenchWorld(t)
	const size, bound = 96 << 20, 32 << 20
	received := w.received.Load()
	m := streamUpload(t, w.guard, size, 2*time.Millisecond)
	require.Equal(t, 200, m.status)
	require.EqualValues(t, size, w.received.Load()-received, "the upstream got the whole body")
	t.Logf("%d MiB in %s: heap in use %.1f MiB before, %.1f MiB peak; %.2f MiB allocated", size>>20, m.elapsed.Round(time.Millisecond),
		mib(m.before), mib(m.peak), mib(m.allocated))
	assert.Less(t, m.growth(), uint64(bound), fmt.Sprintf("heap growth while streaming %d MiB", size>>20))
	assert.Less(t, m.allocated, uint64(bound), fmt.Sprintf("bytes allocated while streaming %d MiB", size>>20))
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
