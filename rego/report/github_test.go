package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteGitHubEscaping(t *testing.T) {
	cases := []struct {
		name string
		ann  Annotation
		want string
	}{
		{"plain", Annotation{Level: "error", File: "policies/a.json", Line: 4, Column: 60, Title: "E-ACTION-UNREGISTERED", Message: "not registered"},
			"::error file=policies/a.json,line=4,col=60,title=E-ACTION-UNREGISTERED::not registered\n"},
		{"message: percent, CR, LF; colons and commas stay", Annotation{Level: "warning", File: "a.json", Line: 1, Column: 1, Title: "W", Message: "100% sure\r\nfix: a, b::c"},
			"::warning file=a.json,line=1,col=1,title=W::100%25 sure%0D%0Afix: a, b::c\n"},
		{"properties: colon and comma escaped", Annotation{Level: "notice", File: "dir,x/a:b%.json", Line: 2, Column: 3, Title: "imsguard diff: widen, really"},
			"::notice file=dir%2Cx/a%3Ab%25.json,line=2,col=3,title=imsguard diff%3A widen%2C really::\n"},
		{"a message cannot start a command", Annotation{Level: "error", Message: "x\n::error::forged"},
			"::error::x%0A::error::forged\n"},
		{"no file: a run annotation, no position", Annotation{Level: "notice", File: "-", Line: 3, Title: "imsguard lint", Message: "1 file"},
			"::notice title=imsguard lint::1 file\n"},
		{"no position", Annotation{Level: "error", File: "a.json"}, "::error file=a.json::\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, WriteGitHub(&b, []Annotation{tc.ann}))
			assert.Equal(t, tc.want, b.String())
			assert.Equal(t, 1, strings.Count(b.String(), "\n"), "one line per annotation")
		})
	}
}

func TestGitHubLevel(t *testing.T) {
	assert.Equal(t, "error", GitHubLevel("error"))
	assert.Equal(t, "warning", GitHubLevel("warning"))
	assert.Equal(t, "notice", GitHubLevel("info"))
}
