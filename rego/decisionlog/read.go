package decisionlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Filter selects the entries Read passes on. The zero Filter passes every decision line.
type Filter struct {
	// Principals keeps only these principals (none: all, the unidentified included).
	Principals []string
	// Since keeps only entries at or after this time (zero: no bound).
	Since time.Time
}

func (f Filter) keeps(e *Entry) bool {
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if len(f.Principals) == 0 {
		return true
	}
	for _, p := range f.Principals {
		if p == e.Principal {
			return true
		}
	}
	return false
}

// Stats say what Read went through.
type Stats struct {
	// Files are the files read, as given ("-" for standard input).
	Files []string `json:"files"`
	// Lines counts the lines read, Decisions the decision lines among them (before the
	// filter), Kept those the filter kept.
	Lines     int `json:"lines"`
	Decisions int `json:"decisions"`
	Kept      int `json:"kept"`
	// Malformed counts lines that are not JSON objects (a line torn by a crash, another
	// program's output); FirstMalformed says where the first one is (file:line).
	Malformed      int    `json:"malformed"`
	FirstMalformed string `json:"first_malformed,omitempty"`
	// Duplicates counts decision lines whose decision_id was already read (overlapping
	// rotations, a file given twice).
	Duplicates int `json:"duplicates"`
	// First and Last are the times of the earliest and latest entry kept.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Principals counts the kept entries per principal ("" for unidentified callers);
	// Seen counts every decision line per principal, before the filter.
	Principals map[string]int `json:"principals"`
	Seen       map[string]int `json:"seen"`
}

// MaxLine is the longest line Read accepts; a decision line is a few KiB at most (every
// text field is capped), so a longer one is not a decision line.
const MaxLine = 1 << 20

// ErrRead is wrapped by errors reading a log (a missing file, a broken gzip stream).
var ErrRead = errors.New("read decision log")

// Read reads the decision logs at paths in order ("-" is stdin; gzip files are
// recognised by their content) and calls fn with every decision entry the filter keeps,
// once per decision_id. fn must not keep the pointer; an error from fn stops the read
// and is returned as is.
func Read(paths []string, stdin io.Reader, f Filter, fn func(*Entry) error) (Stats, error) {
	st := Stats{Principals: map[string]int{}, Seen: map[string]int{}}
	seen := map[string]bool{}
	for _, p := range paths {
		st.Files = append(st.Files, p)
		if err := readOne(p, stdin, f, fn, seen, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func readOne(path string, stdin io.Reader, f Filter, fn func(*Entry) error, seen map[string]bool, st *Stats) error {
	var r io.Reader
	if path == "-" {
		if stdin == nil {
			return fmt.Errorf("%w -: no standard input", ErrRead)
		}
		r = stdin
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRead, err)
		}
		defer fh.Close()
		r = fh
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrRead, path, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	line := 0
	var long bool // inside a line longer than MaxLine
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if !long {
				buf = append(buf, chunk...)
				if len(buf) > MaxLine {
					long, buf = true, buf[:0]
				}
			}
			if chunk[len(chunk)-1] == '\n' || err == io.EOF {
				line++
				if long {
					st.Lines++
					st.malformed(path, line)
				} else if err := st.line(path, line, buf, f, fn, seen); err != nil {
					return err
				}
				long, buf = false, buf[:0]
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			return nil
		default:
			return fmt.Errorf("%w %s:%d: %w", ErrRead, path, line+1, err)
		}
	}
}

func (st *Stats) malformed(path string, line int) {
	st.Malformed++
	if st.FirstMalformed == "" {
		st.FirstMalformed = fmt.Sprintf("%s:%d", path, line)
	}
}

// line handles one line (newline included, if any).
func (st *Stats) line(path string, n int, b []byte, f Filter, fn func(*Entry) error, seen map[string]bool) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	st.Lines++
	var e Entry
	if b[0] != '{' || json.Unmarshal(b, &e) != nil {
		st.malformed(path, n)
		return nil
	}
	if e.Msg != "decision" || e.DecisionID == "" {
		return nil
	}
	st.Decisions++
	if seen[e.DecisionID] {
		st.Duplicates++
		return nil
	}
	seen[e.DecisionID] = true
	st.Seen[e.Principal]++
	if !f.keeps(&e) {
		return nil
	}
	e.File, e.Line = path, n
	st.Kept++
	st.Principals[e.Principal]++
	if st.First.IsZero() || e.Time.Before(st.First) {
		st.First = e.Time
	}
	if e.Time.After(st.Last) {
		st.Last = e.Time
	}
	return fn(&e)
}

// ReadAll reads like Read and returns the entries kept.
func ReadAll(paths []string, stdin io.Reader, f Filter) ([]Entry, Stats, error) {
	var out []Entry
	st, err := Read(paths, stdin, f, func(e *Entry) error {
		out = append(out, *e)
		return nil
	})
	return out, st, err
}
