package diff

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkCompare compares a set of 12 documents of up to 6 statements each with an edit
// of it: the cost of a CI run on a large policy repository.
func BenchmarkCompare(b *testing.B) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	var old []genDoc
	for range 12 {
		d := genDoc{scope: genScopes[g.pick(len(genScopes))]}
		for range 1 + g.pick(6) {
			d.stmts = append(d.stmts, g.stmt())
		}
		old = append(old, d)
	}
	cur := g.edit(old)
	os, ns := sideFromGen(b, old, "old"), sideFromGen(b, cur, "new")
	cat := testCatalog(b)
	rt := runtime(b)
	b.ResetTimer()
	for range b.N {
		if _, err := Compare(context.Background(), cat, os, ns, Options{Runtime: rt}); err != nil {
			b.Fatal(err)
		}
	}
}
