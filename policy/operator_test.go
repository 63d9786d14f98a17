package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseOperator(t *testing.T) {
	cases := []struct {
		in       string
		base     string
		ifExists bool
		qual     Qualifier
		mismatch bool
		problem  string
	}{
		{"StringEquals", "StringEquals", false, QualNone, false, ""},
		{"stringequals", "StringEquals", false, QualNone, true, ""},
		{"StringEqualsIfExists", "StringEquals", true, QualNone, false, ""},
		{"StringEqualsAnyOfIfExists", "StringEqualsAnyOf", true, QualNone, false, ""},
		{"ForAllValues:StringEquals", "StringEquals", false, QualAll, false, ""},
		{"ForAnyValue:NumberLessThanIfExists", "NumberLessThan", true, QualAny, false, ""},
		{"forallvalues:StringEquals", "StringEquals", false, QualAll, true, ""},
		{"ForSomeValues:StringEquals", "", false, QualNone, false, "unknown qualifier"},
		{"NullIfExists", "Null", true, QualNone, false, "meaningless"},
		{"NumericEquals", "", false, QualNone, false, "unknown operator"},
		{"DateEquals", "", false, QualNone, false, "unknown operator"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			p := ParseOperator(tc.in)
			if tc.problem != "" {
				assert.Contains(t, p.Problem, tc.problem)
				return
			}
			assert.Empty(t, p.Problem)
			assert.Equal(t, tc.base, p.Operator.Name)
			assert.Equal(t, tc.ifExists, p.IfExists)
			assert.Equal(t, tc.qual, p.Qualifier)
			assert.Equal(t, tc.mismatch, p.CaseMismatch)
		})
	}
	assert.Len(t, Operators(), 41)
}
