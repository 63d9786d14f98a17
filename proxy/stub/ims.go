// Package stub provides small in-process stand-ins for the Image Management Service and for
// IAM's Keystone v3 token API, and an OTLP trace receiver. The demo command and the tests
// put the proxy in front of them; they record what reaches them so a test can check that
// allowed calls arrive unchanged and denied calls never arrive. They are not IMS or IAM:
// they answer the documented paths with plausible JSON and nothing more. Safe for
// concurrent use.
package stub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Request is one request as it reached the stand-in.
type Request struct {
	Method     string
	Path       string // r.URL.Path
	RawPath    string // r.URL.EscapedPath()
	RawQuery   string
	Host       string
	Header     http.Header
	BodyLen    int64
	BodySHA256 string
}

// IMS is an http.Handler answering IMS paths and recording every request. Image upload
// bodies (PUT /v2/images/{id}/file) are hashed and counted, never stored.
type IMS struct {
	mu     sync.Mutex
	reqs   []Request
	images []Image
	// Record, when false, keeps no requests (benchmarks); NewIMS sets it.
	Record bool
}

// Image is an image the stand-in lists besides the sample image: GET /v2/cloudimages
// returns it (filtered by the id and enterprise_project_id parameters, as IMS does) with
// its enterprise project and __imagetype.
type Image struct {
	ID                  string
	EnterpriseProjectID string
	ImageType           string // "private" (default), "shared" or "gold"
}

// AddImage makes the stand-in know img.
func (s *IMS) AddImage(img Image) {
	if img.ImageType == "" {
		img.ImageType = "private"
	}
	s.mu.Lock()
	s.images = append(s.images, img)
	s.mu.Unlock()
}

// cloudImages answers GET /v2/cloudimages: the sample image and the added ones, filtered
// by id and enterprise_project_id.
func (s *IMS) cloudImages(r *http.Request) []any {
	q := r.URL.Query()
	s.mu.Lock()
	all := []map[string]any{sampleImage()}
	for _, img := range s.images {
		m := sampleImage()
		m["id"], m["enterprise_project_id"], m["__imagetype"] = img.ID, img.EnterpriseProjectID, img.ImageType
		m["self"], m["file"] = "/v2/images/"+img.ID, "/v2/images/"+img.ID+"/file"
		all = append(all, m)
	}
	s.mu.Unlock()
	out := []any{}
	for _, m := range all {
		if id := q.Get("id"); id != "" && m["id"] != id {
			continue
		}
		if ep := q.Get("enterprise_project_id"); ep != "" && ep != "all_granted_eps" && m["enterprise_project_id"] != ep {
			continue
		}
		out = append(out, m)
	}
	return out
}

// NewIMS returns a recording IMS stand-in.
func NewIMS() *IMS { return &IMS{Record: true} }

// Requests returns a copy of the requests received so far.
func (s *IMS) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reset forgets the recorded requests.
func (s *IMS) Reset() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// ServeHTTP implements http.Handler.
func (s *IMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Record {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		rec := Request{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Host: r.Host, Header: r.Header.Clone(), BodyLen: n, BodySHA256: hex.EncodeToString(h.Sum(nil))}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
	} else {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	var status int
	var body any
	if r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/v2/cloudimages" {
		status, body = http.StatusOK, map[string]any{"images": s.cloudImages(r)}
	} else {
		status, body = answer(r)
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// SampleImageID is the id of the one image the stand-in knows.
const SampleImageID = "7f2d0b6e-3c2a-4b8e-9a51-0c6f1d2e3a4b"

func sampleImage() map[string]any {
	return map[string]any{
		"id": SampleImageID, "name": "ubuntu-22.04-demo", "status": "active", "visibility": "private",
		"disk_format": "qcow2", "container_format": "bare", "min_disk": 40, "min_ram": 0, "size": 1073741824,
		"protected": false, "tags": []string{}, "created_at": "2021-06-30T08:00:00Z", "updated_at": "2021-06-30T08:00:00Z",
		"self": "/v2/images/" + SampleImageID, "file": "/v2/images/" + SampleImageID + "/file", "schema": "/v2/schemas/image",
		"__imagetype": "private", "__os_type": "Linux", "__platform": "Ubuntu", "enterprise_project_id": "0",
	}
}

// answer picks the response for a documented path.
func answer(r *http.Request) (int, any) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && p == "":
		return http.StatusMultipleChoices, map[string]any{"versions": []any{
			map[string]any{"id": "v2.0", "status": "CURRENT", "links": []any{map[string]any{"rel": "self", "href": "/v2/"}}},
		}}
	case r.Method == http.MethodGet && p == "/v2/images":
		return http.StatusOK, map[string]any{"images": []any{sampleImage()}, "first": "/v2/images", "schema": "/v2/schemas/images"}
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v2/images/") && strings.Count(p, "/") == 3:
		img := sampleImage()
		img["id"] = strings.TrimPrefix(p, "/v2/images/")
		return http.StatusOK, img
	case r.Method == http.MethodPost && p == "/v2/images":
		img := sampleImage()
		img["status"] = "queued"
		return http.StatusCreated, img
	case r.Method == http.MethodPatch && strings.HasPrefix(p, "/v2/images/"):
		return http.StatusOK, sampleImage()
	case r.Method == http.MethodPut && strings.HasSuffix(p, "/file"):
		return http.StatusNoContent, nil
	case r.Method == http.MethodDelete:
		return http.StatusNoContent, nil
	case r.Method == http.MethodGet && p == "/v1/cloudimages/quota":
		return http.StatusOK, map[string]any{"quotas": map[string]any{"resources": []any{}}}
	case r.Method == http.MethodPost && (strings.HasPrefix(p, "/v2/cloudimages/") || strings.HasPrefix(p, "/v1/cloudimages/")):
		return http.StatusOK, map[string]any{"job_id": "ff8080814dbd65d7014dbe0d84db0013"}
	default:
		return http.StatusOK, map[string]any{}
	}
}
