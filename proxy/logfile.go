package proxy

import (
	"bytes"
	"fmt"
	"os"
)

// openLogFile opens (creating it when missing) the decision log file for appending.
func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open decision_log: %w", err)
	}
	return f, nil
}

// Reopen reopens the decision log file now (SIGHUP after log rotation) and writes what is
// buffered there. The error is the reopen's or the write's; either way the lines stay
// buffered and the log is retried as after any failure. Without a file (standard output,
// an injected writer) and after Close it does nothing.
func (b *bufferedLog) Reopen() error {
	if b.path == "" {
		return nil
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil
	}
	b.reopen = true
	return b.flushLocked()
}

// checkFile reopens the file when Reopen asked for it, when the last reopen failed, or when
// the path no longer names the open file: it was renamed away (logrotate without
// copytruncate) or removed. A missing file is created. b.wmu is held.
func (b *bufferedLog) checkFile() error {
	if b.path == "" || (!b.reopen && b.file != nil && b.pathIsOpenFile()) {
		return nil
	}
	f, err := openLogFile(b.path)
	if err != nil {
		return err
	}
	b.reopen = false
	b.switchTo(f)
	return nil
}

// pathIsOpenFile reports whether the path still names the open file.
func (b *bufferedLog) pathIsOpenFile() bool {
	open, err := b.file.Stat()
	if err != nil {
		return false
	}
	named, err := os.Stat(b.path)
	return err == nil && os.SameFile(open, named)
}

// switchTo makes f the file written. A line torn by a short write stays whole: its rest is
// written to the old file first; if that fails too, the line is written whole to f (the old
// file then ends with an incomplete line without a newline). b.wmu is held.
func (b *bufferedLog) switchTo(f *os.File) {
	old := b.file
	if old != nil {
		if b.skip > 0 && !sameFile(old, f) {
			b.finishTornLine(old)
		}
		if err := old.Close(); err != nil {
			b.log.Warn("closing the previous decision log file", "decision_log", b.name, "error", err)
		}
	}
	b.file, b.out = f, f
	b.log.Info("decision log file reopened", "decision_log", b.name)
}

// finishTornLine writes the rest of the first buffered line, b.skip bytes of which are in
// old already, to old. b.wmu is held.
func (b *bufferedLog) finishTornLine(old *os.File) {
	b.mu.Lock()
	line := b.buf[:bytes.IndexByte(b.buf, '\n')+1]
	b.mu.Unlock()
	if len(line) > b.skip {
		if _, err := old.Write(line[b.skip:]); err == nil {
			b.mu.Lock()
			b.buf = b.buf[len(line):]
			b.mu.Unlock()
		}
	}
	b.skip = 0
}

func sameFile(a, b *os.File) bool {
	sa, err := a.Stat()
	if err != nil {
		return false
	}
	sb, err := b.Stat()
	return err == nil && os.SameFile(sa, sb)
}
