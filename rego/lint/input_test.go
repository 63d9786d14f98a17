package lint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/opa"
)

// evalOnInput evaluates query (which binds y) over the lint input in (no modules needed).
func evalOnInput(t *testing.T, query string, in ast.Value) *ast.Term {
	t.Helper()
	comp, err := opa.Compile(map[string]*ast.Module{})
	require.NoError(t, err)
	y, err := evalTerm(context.Background(), comp, query, in)
	require.NoError(t, err)
	return y
}

// inputOf builds the lint input of the one document of a policy file.
func inputOf(t *testing.T, l *Linter, doc string) ast.Value {
	t.Helper()
	f := policy.Parse("t.json", []byte(doc))
	require.Empty(t, f.Problems)
	require.Len(t, f.Documents, 1)
	return l.input(f, f.Documents[0], false)
}

// twoRouteCatalog has two APIs (one per route family) that both need ims:t:x and ims:t:n
// and one more action each: ims:t:x joins their partial entries in the order api_p, api_q,
// the pattern ims:t:y* (ims:t:ya of api_q, ims:t:yb of api_p) in the order api_q, api_p.
const twoRouteCatalog = `version = "test"
[[api]]
id = "api_p"
section = "1.1.1"
title = "P"
method = "GET"
path = "/p"
family = "extension"
actions = ["ims:t:x", "ims:t:yb", "ims:t:n"]
dependencies = []
iam_project = true
enterprise_project = false
source = "test"

[[api]]
id = "api_q"
section = "1.1.2"
title = "Q"
method = "GET"
path = "/q"
family = "openstack"
actions = ["ims:t:x", "ims:t:ya", "ims:t:n"]
dependencies = []
iam_project = true
enterprise_project = false
source = "test"
`

// TestInputPartialAPIsCountOnce: two Action elements whose partial index entries come in
// different orders have equal m.partial_apis objects, and a set of them has one element.
// OPA caches the hash of a value when it is inserted into an object or set, so an object
// whose member set grew after insertion kept a stale hash and counted twice.
func TestInputPartialAPIsCountOnce(t *testing.T) {
	cat, err := actions.Parse("two-route.toml", []byte(twoRouteCatalog))
	require.NoError(t, err)
	l, err := New(context.Background(), cat, Options{})
	require.NoError(t, err)
	in := inputOf(t, l, `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:t:x", "ims:t:y*"]}]}`)
	y := evalOnInput(t, `y := [input.actions[0].m.partial_apis == input.actions[1].m.partial_apis,
		count({a.m.partial_apis | some a in input.actions})]`, in)
	assert.Equal(t, `[true, 1]`, y.String())
	want := `{"ims:t:n": {"api_p", "api_q"}, "ims:t:x": {"api_p", "api_q"}, "ims:t:ya": {"api_q"}, "ims:t:yb": {"api_p"}}`
	assert.Equal(t, want, evalOnInput(t, `y := input.actions[1].m.partial_apis`, in).String())
}

// TestInputHashesAreFresh builds the input of every test document and compares its hash
// with the hash of the same value built afresh (printed and parsed again): a set or object
// changed after it was inserted into another value would keep a stale hash there, and equal
// values would then count as different in sets and comprehensions.
func TestInputHashesAreFresh(t *testing.T) {
	l := newTestLinter(t, Options{})
	for _, f := range testdataFiles(t) {
		for i, d := range f.Documents {
			in := l.input(f, d, true)
			fresh, err := ast.ParseTerm(in.String())
			require.NoError(t, err)
			assert.Equal(t, fresh.Value.Hash(), in.Hash(), "%s document %d: the input has a stale hash", f.Name, i)
		}
	}
}

// testdataFiles parses the JSON documents under testdata (two levels deep).
func testdataFiles(t testing.TB) []*policy.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*", "*.json"))
	require.NoError(t, err)
	more, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*.json"))
	require.NoError(t, err)
	names = append(names, more...)
	require.Greater(t, len(names), 40)
	out := make([]*policy.File, len(names))
	for i, name := range names {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		out[i] = policy.Parse(name, data)
	}
	return out
}
