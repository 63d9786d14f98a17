package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGlobs(t *testing.T) {
	cases := []struct {
		p, q            string
		subset, overlap bool
	}{
		{"images", "images", true, true},
		{"images", "*", true, true},
		{"get*", "*", true, true},
		{"get*", "g?t*", true, true},
		{"*", "get*", false, true},
		{"get*", "list*", false, false},
		{"*get", "*list", false, false},
		{"a*b", "*", true, true},
		{"a?", "a*", true, true},
		{"a*", "a?", false, true},
		{"?*", "*?", false, true}, // equal languages, not shown
		{"list", "lis?", true, true},
		{"lis?", "list", false, true},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.subset, GlobSubset(tc.p, tc.q), "%s ⊆ %s", tc.p, tc.q)
		assert.Equal(t, tc.overlap, GlobsOverlap(tc.p, tc.q), "%s ∩ %s", tc.p, tc.q)
		assert.Equal(t, tc.overlap, GlobsOverlap(tc.q, tc.p), "%s ∩ %s", tc.q, tc.p)
	}
	assert.True(t, GlobMatch("ims:*:get*", "ims:images:get"))
	assert.True(t, GlobMatch("a?c", "abc"))
	assert.False(t, GlobMatch("a?c", "ac"))
	assert.True(t, GlobMatch("*", ""))
	assert.False(t, GlobMatch("", "a"))
}

func TestActionMatch(t *testing.T) {
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{"ims:images:get", "ims:images:get", true},
		{"ims:*:get*", "ims:images:get", true},
		{"ims:*", "ims:images:get", false}, // a wildcard never crosses ':'
		{"ims:*:*", "ims:images", false},
		{"*", "ims:images:get", false},
		{"ims:image?:*", "ims:images:list", true},
		{"ims:images:get", "IMS:images:get", false}, // case counts
		{"obs:bucket:*", "obs:bucket:*", true},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, ActionMatch(tc.pattern, tc.action), "%s ~ %s", tc.pattern, tc.action)
	}
	assert.True(t, SegmentsMatch("ims:get*:x", "ims:g?t*:x", GlobSubset))
	assert.False(t, SegmentsMatch("ims:*:x", "ims:get*:x", GlobSubset))
}
