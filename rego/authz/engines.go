package authz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

// Engines builds the engines of a load (the proxy's start-up and every reload) through a
// memo: policy sets with the same content — attachment names, scopes, statements, options
// and catalog — share one Engine, within the load and from the previous committed load.
// Principals that hold the same policies cost one compilation, and a reload compiles only
// the policy sets that changed (their decision caches stay warm). Safe for concurrent use.
type Engines struct {
	rt   *Runtime
	mu   sync.Mutex
	prev map[string]*Engine // the last committed load
	next map[string]*Engine // the load in progress
}

// NewEngines returns an empty memo over the runtime.
func (rt *Runtime) NewEngines() *Engines {
	return &Engines{rt: rt, prev: map[string]*Engine{}, next: map[string]*Engine{}}
}

// New is Runtime.New through the memo. The shared Engine is immutable but for its
// decision cache, which is safe to share: a decision depends only on what the key covers.
func (s *Engines) New(ctx context.Context, cat *actions.Catalog, atts []Attachment, opts Options) (*Engine, error) {
	d, attData, err := readSet(cat, atts, opts)
	if err != nil {
		return nil, err
	}
	key, err := engineKey(cat, atts, opts, attData)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	e := s.next[key]
	if e == nil {
		e = s.prev[key]
	}
	s.mu.Unlock()
	if e != nil {
		if err := e.warm(ctx, opts.Warm); err != nil {
			return nil, fmt.Errorf("warm the decision cache: %w", err)
		}
	} else if e, err = s.rt.build(ctx, cat, atts, opts, d, attData); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.next[key] = e
	s.mu.Unlock()
	return e, nil
}

// Commit ends a successful load: its engines are the memo of the next one; engines only
// earlier loads used are dropped.
func (s *Engines) Commit() {
	s.mu.Lock()
	s.prev, s.next = s.next, map[string]*Engine{}
	s.mu.Unlock()
}

// Abort ends a failed load: the memo stays the last committed load's.
func (s *Engines) Abort() {
	s.mu.Lock()
	s.next = map[string]*Engine{}
	s.mu.Unlock()
}

// engineKey hashes everything an engine's decisions and notes depend on.
func engineKey(cat *actions.Catalog, atts []Attachment, opts Options, attData []any) (string, error) {
	type roleInfo struct {
		Family  policy.Family
		Depends []policy.Depend
		Display string
	}
	roles := make([]roleInfo, len(atts))
	for i, a := range atts {
		if a.Document != nil {
			roles[i] = roleInfo{Family: a.Document.Family, Depends: a.Document.Depends, Display: roleDisplayName(a.Document)}
		}
	}
	data, err := json.Marshal(struct {
		Catalog                string
		MaxBody                int64
		AbsentNegated, Lenient bool
		CacheSize              int
		Attachments            []any
		Roles                  []roleInfo
	}{catalogIdentity(cat), cat.MaxBody(), opts.AbsentNegated, opts.Lenient, opts.CacheSize, attData, roles})
	if err != nil {
		return "", fmt.Errorf("engine key: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// catalogIdentity tells catalogs apart: a catalog and its WithMaxBody copies share their
// APIs; another catalog (--catalog) has its own.
func catalogIdentity(cat *actions.Catalog) string {
	apis := cat.APIs()
	if len(apis) == 0 {
		return cat.Version
	}
	return fmt.Sprintf("%s\x00%s\x00%p", cat.Version, cat.Edition, apis[0])
}
