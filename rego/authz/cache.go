package authz

import (
	"slices"
	"strings"
	"sync"
)

// volatileKeys are condition keys whose value changes on every request; a decision that
// read them is never cached.
var volatileKeys = map[string]bool{"g:currenttime": true, "g:mfaage": true}

// decisionCache memoizes decisions of one engine (one immutable policy set). A decision is a
// pure function of the actions, project, enterprise project, enterprise-project support and
// the values of the condition keys that the checked conditions read, so entries are keyed
// on exactly those:
//
//	base key (request shape) → the condition keys read, or a context-free decision
//	base key + values of those keys → decision
//
// Decisions that read a volatile key (g:CurrentTime, g:MFAAge) are not cached. When either
// map is full it is cleared, which keeps memory bounded. Safe for concurrent use.
type decisionCache struct {
	mu    sync.RWMutex
	max   int
	shape map[string]shapeEntry
	full  map[string]Decision
}

type shapeEntry struct {
	keys     []string  // condition keys read; nil for a context-free decision
	volatile bool      // a volatile key was read: do not cache
	decision *Decision // the decision when keys is nil
}

func newDecisionCache(max int) *decisionCache {
	if max < 0 {
		return nil
	}
	return &decisionCache{max: max, shape: map[string]shapeEntry{}, full: map[string]Decision{}}
}

// get returns a cached decision for the request.
func (c *decisionCache) get(base string, ctx map[string][]string) (Decision, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.shape[base]
	if !ok || s.volatile {
		return Decision{}, false
	}
	if s.keys == nil {
		return *s.decision, true
	}
	d, ok := c.full[fullKey(base, s.keys, ctx)]
	return d, ok
}

// put stores a decision computed for the request; dependent and keys come from the
// evaluation.
func (c *decisionCache) put(base string, ctx map[string][]string, dependent bool, keys []string, d Decision) {
	d.API = nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.shape) >= c.max {
		clear(c.shape)
	}
	if !dependent {
		c.shape[base] = shapeEntry{decision: &d}
		return
	}
	for _, k := range keys {
		if volatileKeys[k] {
			c.shape[base] = shapeEntry{keys: []string{}, volatile: true}
			return
		}
	}
	if prev, ok := c.shape[base]; !ok || !slices.Equal(prev.keys, keys) {
		c.shape[base] = shapeEntry{keys: append([]string{}, keys...)}
	}
	if len(c.full) >= c.max {
		clear(c.full)
	}
	c.full[fullKey(base, keys, ctx)] = d
}

// fullKey extends the base key with the values of keys (lower-case names) in ctx, looked
// up case-insensitively as the evaluation does.
func fullKey(base string, keys []string, ctx map[string][]string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, k := range keys {
		b.WriteByte(1)
		b.WriteString(k)
		for name, vals := range ctx {
			if strings.EqualFold(name, k) {
				for _, v := range vals {
					b.WriteByte(2)
					b.WriteString(v)
				}
			}
		}
	}
	return b.String()
}

// cacheKey is the base key of a request. scopedEPs are the enterprise projects some
// attachment is scoped to: any other enterprise project id selects no attachment, so all
// of them share one key (a client naming made-up ids cannot fill the cache).
func cacheKey(in Input, acts []string, epSupported bool, scopedEPs map[string]bool) string {
	var b strings.Builder
	b.WriteString(in.Project)
	b.WriteByte(0)
	switch {
	case !epSupported:
	case in.EnterpriseProjectUnknown:
		b.WriteByte('?')
	case scopedEPs[in.EnterpriseProjectID]:
		b.WriteString(in.EnterpriseProjectID)
	}
	b.WriteByte(0)
	if epSupported {
		b.WriteByte('1')
	}
	for _, a := range acts {
		b.WriteByte(0)
		b.WriteString(strings.ToLower(a))
	}
	return b.String()
}
