package proxy

import (
	"io"
	"sync"
	"time"
)

// Buffering of the decision log.
const (
	logFlushInterval = 100 * time.Millisecond // longest a line waits before it is written
	logBufferSize    = 64 << 10               // bytes collected before a write
	logBuffersQueued = 8                      // full buffers waiting for the writer before lines wait
)

// bufferedLog batches decision lines into few writes, off the request path: a request
// appends its line to the current buffer under a short lock; full buffers are queued for a
// writer goroutine that does the write(2) calls, so no request waits for the disk unless
// logBuffersQueued buffers are already waiting (then requests wait: lines are never dropped
// while open). Lines are written in order, at least every logFlushInterval, and on Close.
// Safe for concurrent use; each Write is one whole line, so lines never interleave.
type bufferedLog struct {
	mu     sync.Mutex // guards cur and closed; full is only sent on while it is held
	cur    []byte
	closed bool
	out    io.Writer
	closer io.Closer // the file, or nil for standard output
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // first write error (writer goroutine), reported by Close
}

func newBufferedLog(w io.Writer, closer io.Closer) *bufferedLog {
	b := &bufferedLog{out: w, closer: closer, cur: make([]byte, 0, logBufferSize),
		full: make(chan []byte, logBuffersQueued), free: make(chan []byte, logBuffersQueued+1), done: make(chan struct{})}
	go b.writer()
	return b
}

// Write implements io.Writer. After Close it drops p.
func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return len(p), nil
	}
	if len(b.cur)+len(p) > logBufferSize && len(b.cur) > 0 {
		b.full <- b.cur // in order: sends happen under mu
		b.cur = b.fresh()
	}
	b.cur = append(b.cur, p...)
	return len(p), nil
}

func (b *bufferedLog) fresh() []byte {
	select {
	case buf := <-b.free:
		return buf[:0]
	default:
		return make([]byte, 0, logBufferSize)
	}
}

// writer writes queued buffers, and every logFlushInterval the current one too. It never
// waits for mu (TryLock), so a request blocked on a full queue cannot stall it.
func (b *bufferedLog) writer() {
	defer close(b.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case buf, ok := <-b.full:
			if !ok {
				return
			}
			b.write(buf)
		case <-t.C:
			if !b.mu.TryLock() {
				continue // a request is appending; next tick
			}
			var bufs [][]byte
			for drained := false; !drained; {
				select {
				case buf, ok := <-b.full:
					if ok {
						bufs = append(bufs, buf)
					} else {
						drained = true
					}
				default:
					drained = true
				}
			}
			if len(b.cur) > 0 {
				bufs = append(bufs, b.cur)
				b.cur = b.fresh()
			}
			b.mu.Unlock()
			for _, buf := range bufs {
				b.write(buf)
			}
		}
	}
}

func (b *bufferedLog) write(buf []byte) {
	if _, err := b.out.Write(buf); err != nil && b.err == nil {
		b.err = err
	}
	select {
	case b.free <- buf:
	default:
	}
}

// Close writes everything buffered, stops the writer and closes the file.
func (b *bufferedLog) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	last := b.cur
	b.cur = nil
	if len(last) > 0 {
		b.full <- last
	}
	close(b.full)
	b.mu.Unlock()
	<-b.done
	err := b.err
	if b.closer != nil {
		if cerr := b.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
