package proxy

import (
	"errors"
	"io"
	"sync"
)

// clientBody is the request body as it is forwarded upstream. It remembers the first error
// reading it from the client (a connection closed or reset mid-upload, a read timeout), so
// that a forwarding error the client caused is not mistaken for an unreachable IMS: the
// transport reports a failed body read as a failure of the upstream request. Safe for
// concurrent use: the transport reads on its own goroutine, the error handler asks on the
// request's.
type clientBody struct {
	rc  io.ReadCloser
	mu  sync.Mutex
	err error
}

// Read implements io.Reader; io.EOF is the normal end and not recorded.
func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// Close implements io.Closer.
func (b *clientBody) Close() error { return b.rc.Close() }

// readErr returns the first error reading from the client, or nil. A nil b has none.
func (b *clientBody) readErr() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
