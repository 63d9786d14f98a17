package policy

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestHasInt64 checks the allocation-free membership test of a time against the exact
// one, on ends at, around and beyond int64, open and closed, finite and infinite.
func TestHasInt64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	points := []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, 1700000000e9, math.MaxInt64 - 1, math.MaxInt64}
	huge := new(big.Rat).SetFrac(new(big.Int).Lsh(big.NewInt(1), 70), big.NewInt(1))
	half := big.NewRat(3, 2)
	end := func() endpoint {
		switch rng.IntN(6) {
		case 0:
			return negInf
		case 1:
			return posInf
		case 2:
			if rng.IntN(2) == 0 {
				return finite(huge, rng.IntN(2) == 0)
			}
			return finite(new(big.Rat).Neg(huge), rng.IntN(2) == 0)
		case 3:
			return finite(half, rng.IntN(2) == 0)
		default:
			return finite(new(big.Rat).SetInt64(points[rng.IntN(len(points))]+int64(rng.IntN(3)-1)), rng.IntN(2) == 0)
		}
	}
	for range 5000 {
		var ivs []interval
		for range 1 + rng.IntN(3) {
			ivs = append(ivs, interval{lo: end(), hi: end()})
		}
		s := intervals{ivs: ivs}
		for _, p := range points {
			for _, x := range []int64{p, p + 1, p - 1, rng.Int64()} {
				if got, want := s.hasInt64(x), s.has(new(big.Rat).SetInt64(x)); got != want {
					t.Fatalf("hasInt64(%d) = %v, has = %v, intervals %+v", x, got, want, ivs)
				}
			}
		}
	}
}
