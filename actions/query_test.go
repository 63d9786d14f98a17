package actions

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseQuery(t *testing.T) {
	cases := []struct {
		name, raw string
		want      Query
		encoded   string
	}{
		{"empty", "", nil, ""},
		{"plain", "limit=5&visibility=private", Query{{"limit", "5"}, {"visibility", "private"}}, "limit=5&visibility=private"},
		{"order kept", "b=1&a=2", Query{{"b", "1"}, {"a", "2"}}, "b=1&a=2"},
		{"encoded key decoded", "enterprise%5Fproject%5Fid=finance-ep", Query{{"enterprise_project_id", "finance-ep"}}, "enterprise_project_id=finance-ep"},
		{"encoded letter in key", "enterprise_project_i%64=x", Query{{"enterprise_project_id", "x"}}, "enterprise_project_id=x"},
		{"plus is a space", "name=a+b", Query{{"name", "a b"}}, "name=a%20b"},
		{"encoded plus stays a plus", "t=gte%3A2021-01-01T00%3A00%3A00%2B08%3A00", Query{{"t", "gte:2021-01-01T00:00:00+08:00"}}, "t=gte%3A2021-01-01T00%3A00%3A00%2B08%3A00"},
		{"no equals sign", "flag", Query{{"flag", ""}}, "flag="},
		{"empty parts skipped", "&a=1&&b=2&", Query{{"a", "1"}, {"b", "2"}}, "a=1&b=2"},
		{"equals in value", "a=b=c", Query{{"a", "b=c"}}, "a=b%3Dc"},
		{"non-ASCII value", "name=%C3%A9", Query{{"name", "é"}}, "name=%C3%A9"},
		{"colon key", "tags:env=prod", Query{{"tags:env", "prod"}}, "tags%3Aenv=prod"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseQuery(tc.raw)
			require.NoError(t, err)
			assert.Equal(t, tc.want, q)
			assert.Equal(t, tc.encoded, q.Encode())
			assert.Equal(t, tc.raw == tc.encoded, q.encodes(tc.raw), "encodes agrees with Encode")
			assert.True(t, q.encodes(q.Encode()))
			// Every server that decodes the forwarded form sees exactly what was authorized.
			std, err := url.ParseQuery(q.Encode())
			require.NoError(t, err)
			for _, p := range q {
				assert.Equal(t, []string{p.Value}, std[p.Key])
			}
			assert.Len(t, std, len(q))
		})
	}
}

func TestParseQueryRefuses(t *testing.T) {
	cases := []struct {
		name, raw string
		param     int
		msg       string
	}{
		{"duplicate key", "enterprise_project_id=a&enterprise_project_id=b", 2, "repeats the key of parameter 1"},
		{"duplicate after decoding", "enterprise_project_id=a&enterprise%5Fproject%5Fid=b", 2, "repeats"},
		{"duplicate by case", "limit=1&LIMIT=2", 2, "case-insensitively"},
		{"semicolon", "a=1;b=2", 1, "\";\""},
		{"bad escape", "a=%zz", 1, "percent-encoding"},
		{"truncated escape", "a=%4", 1, "percent-encoding"},
		{"empty key", "=x", 1, "empty key"},
		{"space in key", "a+b=1", 1, "space"},
		{"slash in key", "a%2Fb=1", 1, "slash"},
		{"control in value", "a=x%0Ay", 1, "control character"},
		{"NUL in value", "a=x%00", 1, "NUL"},
		{"DEL in value", "a=%7F", 1, "control character"},
		{"too long", "a=" + strings.Repeat("x", MaxQueryLen), 0, "longer than"},
		{"too long raw", "a=" + strings.Repeat("%41", MaxQueryLen+1), 0, "longer than"},
		{"too many", strings.Repeat("k=v&", 1) + manyParams(MaxQueryParams+1), 0, "more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseQuery(tc.raw)
			var qe *QueryError
			require.True(t, errors.As(err, &qe), "want *QueryError, got %v", err)
			assert.Equal(t, tc.param, qe.Param)
			assert.Contains(t, qe.Error(), tc.msg)
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i%5+1))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(strings.Repeat("y", i/26))
		b.WriteString("=1")
	}
	return b.String()
}

// TestQueryErrorsQuoteNothing pins that a refused query never echoes a key or value: they
// end up in logs and error bodies.
func TestQueryErrorsQuoteNothing(t *testing.T) {
	const marker = "SECRETMARKER"
	for _, raw := range []string{
		marker + "=1&" + marker + "=2",
		"a=" + marker + "%0A",
		"a=" + marker + ";b=" + marker,
		marker + "%zz=1",
		"x=%" + marker,
		marker + "+x=1",
		"a=" + strings.Repeat(marker, MaxQueryLen/len(marker)+1),
	} {
		_, err := ParseQuery(raw)
		require.Error(t, err, raw)
		assert.NotContains(t, err.Error(), marker, raw)
		assert.NotContains(t, strings.ToLower(err.Error()), strings.ToLower(marker), raw)
	}
}

func TestRouteQuery(t *testing.T) {
	c := mustCatalog(t)
	r := c.Route("GET", "/v2/cloudimages?enterprise%5Fproject%5Fid=finance-ep&limit=5")
	require.True(t, r.Matched)
	assert.Equal(t, "enterprise_project_id=finance-ep&limit=5", r.Query)
	v, ok := r.QueryParams.Get("enterprise_project_id")
	assert.True(t, ok)
	assert.Equal(t, "finance-ep", v)

	r = c.Route("GET", "/v2/cloudimages?enterprise_project_id=a&enterprise_project_i%64=b")
	assert.False(t, r.Matched)
	assert.Equal(t, ReasonInvalidQuery, r.Reason)
	assert.Equal(t, "/v2/cloudimages", r.Path)
	assert.Empty(t, r.Query)

	r = c.Route("GET", "ftp://host/v2/images?secret=SECRETMARKER")
	assert.Equal(t, ReasonInvalidURL, r.Reason)
	assert.NotContains(t, r.Detail, "SECRETMARKER")
}
