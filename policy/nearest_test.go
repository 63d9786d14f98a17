package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNearest(t *testing.T) {
	names := []string{"ims:images:list", "ims:images:get", "ims:images:share", "ims:serverImages:create"}
	tests := []struct {
		name, in, want string
	}{
		{"one letter missing", "ims:images:lst", "ims:images:list"},
		{"case ignored", "IMS:Images:Gte", "ims:images:get"},
		{"exact", "ims:images:share", "ims:images:share"},
		{"transposition", "ims:serverImages:craete", "ims:serverImages:create"},
		{"too far", "ims:volumes:attach", ""},
		{"short and far", "abc", ""},
		{"too long to bother", strings.Repeat("x", 161), ""},
		{"no candidates", "ims:images:list", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cands := names
			if tc.name == "no candidates" {
				cands = nil
			}
			assert.Equal(t, tc.want, Nearest(tc.in, cands))
		})
	}
}
