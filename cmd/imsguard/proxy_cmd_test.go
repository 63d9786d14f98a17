package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProxyCommandUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"proxy", "extra"}, 2, "no arguments"},
		{[]string{"proxy", "--log-level", "loud"}, 2, "unknown --log-level"},
		{[]string{"proxy", "--config", "/does/not/exist.toml"}, 2, "read config /does/not/exist.toml"},
		{[]string{"validate", "--config", "/does/not/exist.toml"}, 2, "no such file"},
		{[]string{"validate", "x"}, 2, "no arguments"},
		{[]string{"demo", "x"}, 2, "no arguments"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, stderr, code := runCLI(t, "", tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.msg)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		})
	}
}

func TestValidateEmbeddedInProcess(t *testing.T) {
	out, stderr, code := runCLI(t, "", "validate")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "upstream           https://ims.ae-ad-1.g42cloud.com")
	assert.Contains(t, out, "principal          workload: 1 policy document(s); default")
}
