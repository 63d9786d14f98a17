package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/proxy/stub"
)

// stallingBody sends n zero bytes, then blocks until abort is closed and fails, which makes
// the Go HTTP client close its connection in the middle of the upload.
type stallingBody struct {
	n     int64
	abort <-chan struct{}
}

var errClientGivesUp = errors.New("client gives up")

func (b *stallingBody) Read(p []byte) (int, error) {
	if b.n > 0 {
		k := min(int64(len(p)), b.n)
		clear(p[:k])
		b.n -= k
		return int(k), nil
	}
	<-b.abort
	return 0, errClientGivesUp
}

// TestClientDropsMidUpload uploads with a real HTTP client that stops half way and closes
// its connection once IMS has received the first bytes: the request is the client's doing
// (499, canceled), not an unreachable IMS (502).
func TestClientDropsMidUpload(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	const sent, size = 1 << 20, 64 << 20
	arrived, upstreamDone := make(chan struct{}), make(chan int64, 1)
	e.up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.CopyN(io.Discard, r.Body, sent/2)
		close(arrived)
		m, _ := io.Copy(io.Discard, r.Body) // ends when the proxy gives up the upstream request
		upstreamDone <- n + m
		w.WriteHeader(http.StatusNoContent)
	})

	abort := make(chan struct{})
	path := "/v2/images/" + stub.SampleImageID + "/file"
	req, err := http.NewRequest("PUT", e.url+path, &stallingBody{n: sent, abort: abort})
	require.NoError(t, err)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	require.NoError(t, stub.Sign(req, nil, adminAK, adminSK, time.Time{}))
	clientErr := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	select {
	case <-arrived:
	case err := <-clientErr:
		t.Fatalf("upload ended before reaching IMS: %v; log: %s", err, e.log.String())
	}
	close(abort)
	require.ErrorIs(t, <-clientErr, errClientGivesUp)
	assert.Less(t, <-upstreamDone, int64(size), "IMS never got the whole image")

	var line map[string]any
	require.Eventually(t, func() bool {
		lines := e.log.lines(t)
		if len(lines) == 0 {
			return false
		}
		line = lines[len(lines)-1]
		return true
	}, 10*time.Second, 10*time.Millisecond, "the request is logged")
	assert.EqualValues(t, 499, line["status"], "%v", line)
	assert.Equal(t, reasonCanceled, line["reason"])
	assert.Contains(t, line["error"], "client canceled the request")
	assert.Equal(t, "Allow", line["decision"])
	assert.Equal(t, true, line["forwarded"])
	assert.Equal(t, 1.0, counter(t, e.srv.metrics.upstreamErrors.WithLabelValues("canceled")))
	assert.Zero(t, counter(t, e.srv.metrics.upstreamErrors.WithLabelValues("unreachable")), "not counted against IMS availability")
	assert.Zero(t, counter(t, e.srv.metrics.upstreamErrors.WithLabelValues("timeout")))
}

func TestUpstreamDenial(t *testing.T) {
	live := httptest.NewRequest("PUT", "/v2/images/x/file", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := live.WithContext(ctx)
	refused := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	cases := []struct {
		name      string
		r         *http.Request
		err       error
		clientErr error
		status    int
		reason    string
	}{
		{"refused", live, &url.Error{Op: "Put", URL: refused.String(), Err: syscall.ECONNREFUSED}, nil, 502, "unreachable"},
		{"body ended early, not the client's doing", live, io.ErrUnexpectedEOF, nil, 502, "unreachable"},
		{"response header timeout", live, &url.Error{Op: "Put", URL: refused.String(), Err: context.DeadlineExceeded}, nil, 504, "timeout"},
		{"client context canceled", gone, context.Canceled, nil, 499, reasonCanceled},
		{"client body read failed", live, io.ErrUnexpectedEOF, io.ErrUnexpectedEOF, 499, reasonCanceled},
		{"client body read failed, request context canceled too", gone, errors.New("readfrom tcp: connection reset by peer"), syscall.ECONNRESET, 499, reasonCanceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := upstreamDenial(tc.r, tc.err, tc.clientErr)
			assert.Equal(t, tc.status, d.status)
			assert.Equal(t, tc.reason, d.reason)
			require.Error(t, d.err)
			assert.NotContains(t, d.err.Error(), refused.Host, "the upstream URL is not repeated")
		})
	}
}
