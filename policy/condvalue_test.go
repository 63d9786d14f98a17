package policy

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConditionValueParsers(t *testing.T) {
	cases := []struct {
		parse func(string) (string, error)
		in    string
		want  string // "" = error
	}{
		{numberString, "900", "900"},
		{numberString, "-0.5", "-0.5"},
		{numberString, "1e3", ""},
		{numberString, "+1", ""},
		{numberString, "1.", ""},
		{dateString, "2030-01-01T00:00:00Z", "1893456000"},
		{dateString, "2030-01-01T04:00:00+04:00", "1893456000"},
		{dateString, "2030-01-01", ""},
		{ParseBoolValue, "TRUE", "true"},
		{ParseBoolValue, "yes", ""},
		{ipString, "10.1.2.3/8", "10.0.0.0/8"},
		{ipString, "10.1.2.3", "10.1.2.3/32"},
		{ipString, "2001:db8::1", "2001:db8::1/128"},
		{ipString, "10.0.0.0/33", ""},
		{ipString, "host", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := tc.parse(tc.in)
			if tc.want == "" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func numberString(v string) (string, error) {
	f, err := ParseNumberValue(v)
	return fmtFloat(f), err
}

func dateString(v string) (string, error) {
	t, err := ParseDateValue(v)
	return fmtInt(t.Unix()), err
}

func ipString(v string) (string, error) {
	p, err := ParseIPValue(v)
	return p.String(), err
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func fmtInt(i int64) string { return strconv.FormatInt(i, 10) }
