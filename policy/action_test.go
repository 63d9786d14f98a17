package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeAction(t *testing.T) {
	cases := []struct {
		in   string
		fam  Family
		want string
		err  string
	}{
		{"ims:serverImages:create", FamilyPolicy, "ims:serverimages:create", ""},
		{"IMS:*:get**", FamilyPolicy, "ims:*:get*", ""},
		{"ims:*", FamilyPolicy, "", "three segments"},
		{"ims:*", FamilyRole, "ims:*:*", ""},
		{"::Get", FamilyRole, "*:*:get", ""},
		{"ims:images:get[0]", FamilyPolicy, "", "characters"},
		{"ims::get", FamilyPolicy, "", "empty segment"},
	}
	for _, tc := range cases {
		got, err := NormalizeAction(tc.in, tc.fam)
		if tc.err != "" {
			require.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), tc.err)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
	}
}
