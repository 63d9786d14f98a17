package lint

import "sync"

// memo memoizes what the linter derives from strings that recur across documents (action
// names, condition values, operator names): building a Rego object costs more than most
// lint rules that read it, so each distinct string is measured and converted once. Values
// are immutable once stored; at most max are kept (after that they are computed but not
// stored). Safe for concurrent use.
type memo[T any] struct {
	mu  sync.RWMutex
	m   map[string]T
	max int
}

func newMemo[T any](max int) *memo[T] {
	return &memo[T]{m: map[string]T{}, max: max}
}

// get returns the value for key, computing it with build on a miss.
func (c *memo[T]) get(key string, build func() T) T {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = build()
	c.mu.Lock()
	if len(c.m) < c.max {
		c.m[key] = v
	}
	c.mu.Unlock()
	return v
}
