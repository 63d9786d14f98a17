// Package fleettest is an OPA control plane for tests: one HTTP server that serves
// bundles the way nginx or S3 do (GET with ETag and If-None-Match → 304), collects
// decision logs the way OPA's decision_logs plugin uploads them (POST of a gzipped JSON
// array) and receives status reports (POST of JSON). It records what it saw so tests can
// assert on it, and can be taken down and brought back to test what a sidecar does then.
//
// Imports: the standard library only. Safe for concurrent use.
package fleettest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Server is a bundle server, decision-log collector and status receiver in one.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	bundles  map[string][]byte // path → bundle
	down     bool
	bearer   string // required bearer token; "" requires none
	requests int    // every request received
	unauth   int    // requests refused for their Authorization
	gets     int    // bundle GETs answered with a body
	notMod   int    // bundle GETs answered 304
	inm      []string
	events   []map[string]any
	batches  int
	rawLogs  [][]byte
	statuses []map[string]any
}

// New starts a Server; Close stops it.
func New() *Server {
	s := &Server{bundles: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetBundle serves data at path (e.g. "/bundles/imsguard.tar.gz"); nil serves 404.
func (s *Server) SetBundle(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if data == nil {
		delete(s.bundles, path)
		return
	}
	s.bundles[path] = data
}

// SetDown makes every request fail with 503 (true) or be served again (false).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// SetBearer makes every request without "Authorization: Bearer token" fail with 401, as a
// bundle server behind a token does; "" accepts any request again.
func (s *Server) SetBearer(token string) {
	s.mu.Lock()
	s.bearer = token
	s.mu.Unlock()
}

// Requests counts the requests received, and those refused with 401 (SetBearer).
func (s *Server) Requests() (all, unauthorized int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.unauth
}

// ETag is the entity tag the server gives data.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	down, bearer := s.down, s.bearer
	refused := bearer != "" && r.Header.Get("Authorization") != "Bearer "+bearer
	if refused && !down {
		s.unauth++
	}
	s.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if refused {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodGet:
		s.serveBundle(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/logs"):
		s.collect(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/status"):
		var st map[string]any
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.statuses = append(s.statuses, st)
		s.mu.Unlock()
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveBundle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.bundles[r.URL.Path]
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		s.inm = append(s.inm, inm)
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	tag := ETag(data)
	w.Header().Set("ETag", tag)
	if r.Header.Get("If-None-Match") == tag {
		s.mu.Lock()
		s.notMod++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/gzip")
	_, _ = w.Write(data)
}

// collect decodes one upload: gzip (Content-Encoding: gzip, as OPA sends it) of a JSON
// array of events.
func (s *Server) collect(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	plain := body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			http.Error(w, "not gzip: "+err.Error(), http.StatusBadRequest)
			return
		}
		if plain, err = io.ReadAll(zr); err != nil {
			http.Error(w, "bad gzip: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	var events []map[string]any
	if err := json.Unmarshal(plain, &events); err != nil {
		http.Error(w, "not a JSON array of events: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, events...)
	s.rawLogs = append(s.rawLogs, plain)
	s.batches++
	s.mu.Unlock()
}

// Stats are the bundle requests seen: served with a body, answered 304, and the
// If-None-Match values sent.
func (s *Server) Stats() (gets, notModified int, ifNoneMatch []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.notMod, append([]string(nil), s.inm...)
}

// Events are the decision-log events collected, in order; Batches counts uploads;
// RawLogs is every upload's decompressed body.
func (s *Server) Events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...)
}

// Batches counts the decision-log uploads received.
func (s *Server) Batches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches
}

// RawLogs returns every decision-log upload, decompressed.
func (s *Server) RawLogs() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Join(s.rawLogs, []byte("\n"))
}

// Statuses are the status reports received, in order.
func (s *Server) Statuses() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.statuses...)
}

// LastStatus is the last status report (nil before the first).
func (s *Server) LastStatus() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.statuses) == 0 {
		return nil
	}
	return s.statuses[len(s.statuses)-1]
}

// BundleStatus returns the status of bundle name in a report: its fields as reported
// (active_revision, code, message, errors...), or nil.
func BundleStatus(report map[string]any, name string) map[string]any {
	bundles, _ := report["bundles"].(map[string]any)
	b, _ := bundles[name].(map[string]any)
	return b
}

// Tamper rewrites the files of a gzipped tar bundle with edit (name as in the tar,
// e.g. "/data.json"), keeping everything else, a signature included: what an attacker
// who can write to the bundle server but has no signing key can do.
func Tamper(bundle []byte, edit func(name string, data []byte) []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(bundle))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		data = edit(h.Name, data)
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
