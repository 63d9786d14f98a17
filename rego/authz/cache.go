package authz

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
)

// defaultCacheSize is the decision cache's entries when Options.CacheSize is 0.
const defaultCacheSize = 4096

// decisionCache memoizes an engine's decisions (one immutable policy set), least recently
// used out first. A decision is a pure function of the request's shape — project,
// enterprise project (only ids some attachment is scoped to; any other id selects nothing,
// so all of them share an entry), enterprise-project support, the actions — and of the
// truth of each condition block the request checked, so entries are keyed on exactly
// those: a key has no part a client can vary at will (condition values are not in it, only
// whether each condition held), and a decision that reads g:CurrentTime or g:SourceIp is
// cached like any other: the next request evaluates the conditions again and finds the
// entry only if every one says the same. Safe for concurrent use.
type decisionCache = lru.Cache[string, Decision]

// newDecisionCache returns a cache of size entries (0: the default), or nil for size < 0.
func newDecisionCache(size int) (*decisionCache, error) {
	if size < 0 {
		return nil, nil
	}
	if size == 0 {
		size = defaultCacheSize
	}
	c, err := lru.New[string, Decision](size)
	if err != nil {
		return nil, fmt.Errorf("decision cache: %w", err)
	}
	return c, nil
}

// appendCacheKey appends the key of a prepared request to b: its shape, then one bit per
// conditional statement checked ('1': its conditions hold).
func appendCacheKey(b []byte, r *request, epSupported bool, scopedEPs map[string]bool) []byte {
	b = append(b, r.project...)
	b = append(b, 0)
	switch {
	case !epSupported:
	case r.epUnknown:
		b = append(b, '?')
	case scopedEPs[r.ep]:
		b = append(b, r.ep...)
	}
	b = append(b, 0)
	if epSupported {
		b = append(b, '1')
	}
	for _, a := range r.acts {
		b = append(b, 0)
		b = append(b, a...)
	}
	for i, p := range r.res {
		if i == 0 {
			b = append(b, 1)
		} else {
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	b = append(b, 2)
	for _, id := range r.checked {
		if r.held[id] {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
	}
	return b
}
