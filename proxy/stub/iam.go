package stub

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Identity is what a token says about its holder.
type Identity struct {
	UserID, UserName     string
	DomainID, DomainName string
	ProjectID, Project   string // empty: a domain-scoped token
}

// IAM is an http.Handler speaking the two Keystone v3 token calls: password authentication
// (POST /v3/auth/tokens, the token in X-Subject-Token, a service catalog whose "image"
// endpoint is ImageEndpoint) and token validation (GET /v3/auth/tokens with
// X-Subject-Token). Safe for concurrent use.
type IAM struct {
	mu            sync.Mutex
	users         map[string]user // by name
	tokens        map[string]issued
	imageEndpoint string
	validations   atomic.Int64
}

type user struct {
	password string
	id       Identity
}

type issued struct {
	id      Identity
	expires time.Time
}

// NewIAM returns an IAM stand-in without users.
func NewIAM() *IAM {
	return &IAM{users: map[string]user{}, tokens: map[string]issued{}}
}

// AddUser registers a password user; its tokens are scoped to id.Project.
func (s *IAM) AddUser(password string, id Identity) {
	s.mu.Lock()
	s.users[id.UserName] = user{password: password, id: id}
	s.mu.Unlock()
}

// SetImageEndpoint sets the URL the catalog names for the "image" service.
func (s *IAM) SetImageEndpoint(url string) {
	s.mu.Lock()
	s.imageEndpoint = url
	s.mu.Unlock()
}

// IssueToken creates a token for id valid for ttl (negative: already expired).
func (s *IAM) IssueToken(id Identity, ttl time.Duration) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "MIIE" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = issued{id: id, expires: time.Now().Add(ttl)}
	s.mu.Unlock()
	return tok
}

// Revoke invalidates a token.
func (s *IAM) Revoke(token string) {
	s.mu.Lock()
	delete(s.tokens, token)
	s.mu.Unlock()
}

// Validations returns how many validation calls were answered.
func (s *IAM) Validations() int64 { return s.validations.Load() }

// ServeHTTP implements http.Handler.
func (s *IAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v3/auth/tokens" {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": 404, "message": "not found"}})
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.authenticate(w, r)
	case http.MethodGet:
		s.validate(w, r)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (s *IAM) authenticate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Auth struct {
			Identity struct {
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
		} `json:"auth"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "message": "bad request"}})
		return
	}
	u := req.Auth.Identity.Password.User
	s.mu.Lock()
	known, ok := s.users[u.Name]
	s.mu.Unlock()
	if !ok || known.password != u.Password {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "message": "The username or password is wrong."}})
		return
	}
	tok := s.IssueToken(known.id, time.Hour)
	w.Header().Set("X-Subject-Token", tok)
	writeJSON(w, http.StatusCreated, s.tokenBody(tok, true))
}

func (s *IAM) validate(w http.ResponseWriter, r *http.Request) {
	s.validations.Add(1)
	subject := r.Header.Get("X-Subject-Token")
	s.mu.Lock()
	_, authOK := s.tokens[r.Header.Get("X-Auth-Token")]
	t, ok := s.tokens[subject]
	s.mu.Unlock()
	if !authOK {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"code": 401, "message": "The request you have made requires authentication."}})
		return
	}
	if !ok || time.Now().After(t.expires) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": 404, "message": "Could not find token."}})
		return
	}
	w.Header().Set("X-Subject-Token", subject)
	writeJSON(w, http.StatusOK, s.tokenBody(subject, r.URL.Query().Get("nocatalog") == ""))
}

// tokenBody renders the Keystone v3 token object.
func (s *IAM) tokenBody(tok string, catalog bool) map[string]any {
	s.mu.Lock()
	t := s.tokens[tok]
	endpoint := s.imageEndpoint
	s.mu.Unlock()
	id := t.id
	domain := map[string]any{"id": id.DomainID, "name": id.DomainName}
	body := map[string]any{
		"methods":    []string{"password"},
		"expires_at": t.expires.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  t.expires.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"id": id.UserID, "name": id.UserName, "domain": domain, "password_expires_at": ""},
		"roles":      []any{map[string]any{"id": "0", "name": "op_fine_grained"}},
	}
	if id.Project != "" {
		body["project"] = map[string]any{"id": id.ProjectID, "name": id.Project, "domain": domain}
	} else {
		body["domain"] = domain
	}
	if catalog {
		body["catalog"] = []any{map[string]any{
			"id": "ims", "type": "image", "name": "glance",
			"endpoints": []any{map[string]any{"id": "ims-public", "interface": "public", "region": "ae-ad-1", "region_id": "ae-ad-1", "url": endpoint}},
		}}
	}
	return map[string]any{"token": body}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
