package proxy

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Buffering of the decision log.
const (
	logFlushInterval = 100 * time.Millisecond // longest a line waits; also the retry and rotation check period
	logBufferSize    = 64 << 10               // bytes collected before the writer is woken
	logQueueLimit    = 512 << 10              // while writes succeed, requests wait above this many unwritten bytes
	logMaxPending    = 16 << 20               // while they fail, lines beyond this many unwritten bytes are dropped
)

// bufferedLog batches decision lines into few writes, off the request path, and survives
// write failures without losing, tearing or repeating a line:
//
//   - A request appends its line (each Write is one whole line) under a short lock. The
//     writer goroutine takes everything buffered when logBufferSize is reached and at least
//     every logFlushInterval, and writes it in one call. While writes succeed and more than
//     logQueueLimit bytes wait, requests wait for the writer (back pressure, nothing is
//     dropped).
//   - A failed or short write keeps the unwritten bytes and retries them every
//     logFlushInterval; the bytes of a line that did reach the file are not written again.
//     While writes fail, requests never wait: their lines are kept up to logMaxPending
//     unwritten bytes, and beyond that dropped whole and counted.
//   - The first failure of a burst is logged through the operational logger, and so is the
//     recovery with the number of lines lost; every failure and dropped line is counted.
//   - Writing to a file (path set), the file is reopened on Reopen and when its path names
//     another file or none (log rotation by rename or removal), checked before each write.
//
// With sync set (an injected writer), a Write is written before it returns while the
// writer accepts writes. Safe for concurrent use.
type bufferedLog struct {
	mu      sync.Mutex
	space   *sync.Cond // broadcast when the writer takes buf, the log starts failing or closes
	buf     []byte     // whole lines not taken by the writer yet (the first may be torn: skip)
	taken   int        // bytes the writer took and has not written yet
	dropped int64      // lines dropped since the log last recovered (reported then)
	closed  bool
	failing atomic.Bool // set under mu: the last write or reopen failed and none succeeded since
	max     int         // logMaxPending; tests lower it
	sync    bool

	wmu        sync.Mutex // held while writing, reopening and closing; guards the fields below
	out        io.Writer
	path       string   // the decision_log file, or "" when out is not a file
	file       *os.File // out, when writing to a file
	reopen     bool     // reopen path before the next write (Reopen)
	skip       int      // bytes of the first unwritten line already written to out
	spare      []byte   // a written buffer to collect lines in again
	burstStart time.Time
	burstFails int
	name       string // target in operational messages: the path, or what out is
	log        *slog.Logger
	m          *logMetrics

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// sinkOptions configure a bufferedLog; the zero value writes asynchronously, logs nowhere
// and counts into metrics of its own.
type sinkOptions struct {
	name string       // target in operational messages
	path string       // the file out is, reopened on rotation and Reopen
	sync bool         // write on the caller's goroutine while writes succeed
	log  *slog.Logger // operational messages
	m    *logMetrics
	max  int // most unwritten bytes kept while writes fail (default logMaxPending)
}

func newBufferedLog(out io.Writer, o sinkOptions) *bufferedLog {
	b := &bufferedLog{out: out, path: o.path, sync: o.sync, max: o.max, name: o.name, log: o.log, m: o.m,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	b.space = sync.NewCond(&b.mu)
	if b.max <= 0 {
		b.max = logMaxPending
	}
	if f, ok := out.(*os.File); ok && o.path != "" {
		b.file = f
	}
	if b.name == "" {
		b.name = o.path
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.m == nil {
		b.m = newLogMetrics(nil)
	}
	b.m.writable.Set(1)
	go b.run()
	return b
}

// Write implements io.Writer; p must be one whole line. It never fails: a line that cannot
// be kept (the bound is reached while writes fail, or after Close) is dropped and counted.
func (b *bufferedLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	for !b.closed && !b.failing.Load() && len(b.buf) >= logQueueLimit {
		b.wake()
		b.space.Wait()
	}
	switch {
	case b.closed:
		b.m.dropped.Inc()
	case len(b.buf)+b.taken+len(p) > b.max:
		b.dropped++
		b.m.dropped.Inc()
	default:
		b.buf = append(b.buf, p...)
	}
	n, now := len(b.buf), b.sync && !b.closed && !b.failing.Load()
	b.mu.Unlock()
	switch {
	case now:
		b.flush()
	case n >= logBufferSize:
		b.wake()
	}
	return len(p), nil
}

// wake asks the writer goroutine to write now.
func (b *bufferedLog) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// run writes when woken and every logFlushInterval (which is also when a failed write is
// retried and the file checked for rotation), until Close.
func (b *bufferedLog) run() {
	defer close(b.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.kick:
			if !b.failing.Load() { // while failing, retry on the tick only
				b.flush()
			}
		case <-t.C:
			b.flush()
		}
	}
}

// flush writes what is buffered; failures are handled (kept, counted, logged).
func (b *bufferedLog) flush() {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	_ = b.flushLocked()
}

// flushLocked reopens the file when needed and writes everything buffered in one call. On
// failure the unwritten bytes go back in front of the buffer and the error is returned.
// b.wmu is held.
func (b *bufferedLog) flushLocked() error {
	if err := b.checkFile(); err != nil {
		b.failed(err)
		return err
	}
	b.mu.Lock()
	chunk := b.buf
	if len(chunk) > 0 {
		b.buf, b.spare = b.spare[:0], nil
		b.taken = len(chunk)
		b.space.Broadcast()
	}
	b.mu.Unlock()
	if len(chunk) == 0 {
		b.recovered() // a reopen that failed has succeeded
		return nil
	}
	n, err := b.out.Write(chunk[b.skip:])
	n = max(0, min(n, len(chunk)-b.skip))
	written := b.skip + n
	if err == nil && written < len(chunk) {
		err = io.ErrShortWrite
	}
	if err != nil {
		cut := bytes.LastIndexByte(chunk[:written], '\n') + 1 // whole lines written
		b.skip = written - cut
		b.mu.Lock()
		rest := make([]byte, 0, len(chunk)-cut+len(b.buf)+logBufferSize)
		b.buf = append(append(rest, chunk[cut:]...), b.buf...)
		b.taken = 0
		b.mu.Unlock()
		b.failed(err)
		return fmt.Errorf("write decision log %s: %w", b.name, err)
	}
	b.skip = 0
	b.mu.Lock()
	b.taken = 0
	b.mu.Unlock()
	if cap(chunk) <= 2*logQueueLimit {
		b.spare = chunk[:0]
	}
	b.recovered()
	return nil
}

// failed counts a failed write or reopen and, on the first of a burst, marks the log
// failing and says so once through the operational logger. b.wmu is held.
func (b *bufferedLog) failed(err error) {
	b.m.failures.Inc()
	if b.failing.Load() {
		b.burstFails++
		return
	}
	b.m.writable.Set(0)
	b.mu.Lock()
	b.failing.Store(true)
	held := len(b.buf)
	b.space.Broadcast()
	b.mu.Unlock()
	b.burstStart, b.burstFails = time.Now(), 1
	b.log.Error("decision log cannot be written; keeping its lines in memory and retrying", "decision_log", b.name,
		"error", err, "buffered_bytes", held, "limit_bytes", b.max)
}

// recovered ends a failure burst after a successful write (or reopen) and reports how
// many lines it lost. b.wmu is held.
func (b *bufferedLog) recovered() {
	if !b.failing.Load() {
		return
	}
	b.mu.Lock()
	b.failing.Store(false)
	lost := b.dropped
	b.dropped = 0
	b.mu.Unlock()
	b.m.writable.Set(1)
	b.log.Warn("decision log writable again", "decision_log", b.name, "failed_attempts", b.burstFails,
		"lines_lost", lost, "failing_for", time.Since(b.burstStart).Round(time.Millisecond).String())
}

// Close stops the writer, makes a last attempt to write what is buffered and closes the
// file. Lines that could not be written are counted as dropped and the error says how many.
// Later Writes are dropped.
func (b *bufferedLog) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.space.Broadcast()
	b.mu.Unlock()
	close(b.stop)
	<-b.done
	b.wmu.Lock()
	defer b.wmu.Unlock()
	err := b.flushLocked()
	if err != nil {
		b.mu.Lock()
		lost := bytes.Count(b.buf, []byte{'\n'})
		b.buf = nil
		b.mu.Unlock()
		b.m.dropped.Add(float64(lost))
		err = fmt.Errorf("%d decision line(s) lost at shutdown: %w", lost, err)
	}
	if b.file != nil {
		if cerr := b.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close decision log %s: %w", b.name, cerr)
		}
		b.file = nil
	}
	return err
}

// writable reports whether the log accepts writes: false from a failed write or reopen
// until one succeeds.
func (b *bufferedLog) writable() bool { return !b.failing.Load() }
