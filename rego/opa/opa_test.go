package opa

import (
	"context"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func prepare(t *testing.T, query string) rego.PreparedEvalQuery {
	t.Helper()
	q, err := rego.New(rego.Query(query), rego.SetRegoVersion(ast.RegoV1)).PrepareForEval(context.Background())
	require.NoError(t, err)
	return q
}

// TestEvalTerm: the result comes back as a term; an undefined result is an error; a
// context done before the evaluation starts stops it — the same with EvalShortTerm.
func TestEvalTerm(t *testing.T) {
	in := ast.NewObject(ast.Item(ast.StringTerm("x"), ast.IntNumberTerm(2)))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for name, eval := range map[string]func(context.Context, rego.PreparedEvalQuery, ast.Value, ...rego.EvalOption) (*ast.Term, error){
		"EvalTerm": EvalTerm, "EvalShortTerm": EvalShortTerm,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := eval(context.Background(), prepare(t, "input.x * 3"), in)
			require.NoError(t, err)
			assert.Equal(t, ast.IntNumberTerm(6).String(), got.String())
			_, err = eval(context.Background(), prepare(t, "input.missing"), in)
			assert.ErrorContains(t, err, "undefined")
			_, err = eval(cancelled, prepare(t, "input.x * 3"), in)
			assert.ErrorIs(t, err, context.Canceled)
		})
	}
}

// TestEvalTermCancels: an evaluation stops when its context is done, before it starts or
// while it runs (without OPA's goroutine per evaluation, context.AfterFunc cancels it).
func TestEvalTermCancels(t *testing.T) {
	// ~10^9 iterations and nothing kept: minutes if nothing stops it.
	q := prepare(t, "count([1 | some i in numbers.range(1, 100000); some j in numbers.range(1, 10000); i == j * 1000000])")
	in := ast.NewObject()

	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := EvalTerm(done, q, in)
	require.ErrorIs(t, err, context.Canceled)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct{ err error }
	out := make(chan result, 1)
	go func() {
		_, err := EvalTerm(ctx, q, in)
		out <- result{err}
	}()
	require.Never(t, func() bool { return len(out) > 0 }, 50*time.Millisecond, 5*time.Millisecond, "the query runs until cancelled")
	cancel()
	select {
	case r := <-out:
		require.Error(t, r.err)
		assert.True(t, topdown.IsCancel(r.err), "a cancellation: %v", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the evaluation went on after its context was cancelled")
	}
}
