package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// bodyBuffer reads a request body once, bounded, for a decision (conditional actions,
// signed payload hash) and then replays it upstream byte for byte. Bodies that are never
// asked for are not touched and stream through.
type bodyBuffer struct {
	w        http.ResponseWriter // for the read deadline
	r        *http.Request
	max      int64
	deadline time.Duration
	data     []byte
	done     bool
	err      *denial
}

// get returns the whole body, reading it on first use. A body larger than max, or one that
// cannot be read before the decision deadline, is a denial.
func (b *bodyBuffer) get() ([]byte, *denial) {
	if b.done {
		return b.data, b.err
	}
	b.done = true
	if b.r.ContentLength > b.max {
		b.err = &denial{status: http.StatusRequestEntityTooLarge, reason: reasonBody,
			msg: fmt.Sprintf("request body (%d bytes) is larger than %d bytes and must be read to decide; refused", b.r.ContentLength, b.max)}
		b.replay(nil)
		return nil, b.err
	}
	rc := http.NewResponseController(b.w)
	if b.deadline > 0 {
		_ = rc.SetReadDeadline(time.Now().Add(b.deadline)) // unsupported writers: no deadline
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	}
	data, err := io.ReadAll(io.LimitReader(b.r.Body, b.max+1))
	switch {
	case err != nil:
		b.err = &denial{status: http.StatusBadRequest, reason: reasonBody, msg: "request body could not be read", err: fmt.Errorf("read body: %w", err)}
	case int64(len(data)) > b.max:
		b.err = &denial{status: http.StatusRequestEntityTooLarge, reason: reasonBody,
			msg: fmt.Sprintf("request body is larger than %d bytes and must be read to decide; refused", b.max)}
	}
	b.data = data
	b.replay(data)
	return b.data, b.err
}

// replay puts what was read back in front of the rest of the body, so audit mode forwards
// the body unchanged.
func (b *bodyBuffer) replay(prefix []byte) {
	orig := b.r.Body
	if b.err == nil {
		_ = orig.Close()
		b.r.Body = io.NopCloser(bytes.NewReader(prefix))
		return
	}
	b.r.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(prefix), orig), Closer: orig}
}

// prefixedBody is a body whose first bytes were already read.
type prefixedBody struct {
	io.Reader
	io.Closer
}
