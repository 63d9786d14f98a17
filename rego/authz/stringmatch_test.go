package authz

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStringMatchSpansDots: in StringMatch, '*' and '?' match any character, '.' and '/'
// included, in the reference (authz.rego, which answers explained requests) as in the
// compiled engine (the predicate). glob.match with [] delimiters stopped '*' at '.'.
func TestStringMatchSpansDots(t *testing.T) {
	e := engine(t, allProjects(t, "p.json", `{"Version":"1.1","Statement":[
		{"Effect":"Allow","Action":["ims:images:list"],"Condition":{"StringMatch":{"g:UserName":["alice*","*.ops","a?b"]}}}]}`))
	for user, want := range map[string]Effect{"alice.smith": Allow, "team.a.ops": Allow, "a.b": Allow, "bob.smith": ImplicitDeny, "alice": Allow} {
		for _, explain := range []bool{true, false} {
			d, err := e.Decide(context.Background(), Input{Action: "ims:images:list", Project: "ae-ad-1", Context: map[string][]string{"g:UserName": {user}}, Explain: explain})
			require.NoError(t, err)
			assert.Equal(t, want, d.Effect, "%s (explain %v)", user, explain)
		}
	}
}
