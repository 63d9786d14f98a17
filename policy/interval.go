package policy

import (
	"math/big"
	"sort"
	"strings"
)

// endpoint is one end of an interval: -∞, +∞, or a finite value, included or not.
type endpoint struct {
	inf  int      // -1: -∞, +1: +∞, 0: finite
	v    *big.Rat // the value of a finite end
	open bool     // a finite end that is excluded
}

func finite(v *big.Rat, open bool) endpoint { return endpoint{v: v, open: open} }

var (
	negInf = endpoint{inf: -1}
	posInf = endpoint{inf: 1}
)

// interval is the numbers between lo and hi.
type interval struct{ lo, hi endpoint }

// intervals is a set of numbers (condition values of type number, or times in
// nanoseconds) as sorted, disjoint, non-touching intervals within a universe. In an
// integral set (times) every member is an integer and ends are kept closed.
type intervals struct {
	integral bool
	universe interval
	ivs      []interval
}

// cmpLo orders lower ends: -∞ first; at equal values a closed end comes first.
func cmpLo(a, b endpoint) int { return cmpEnd(a, b, 1) }

// cmpHi orders upper ends: +∞ last; at equal values an open end comes first.
func cmpHi(a, b endpoint) int { return cmpEnd(a, b, -1) }

// cmpEnd orders ends by value, -∞ first and +∞ last; at equal finite values an open end
// sorts after a closed one when openSide is 1, before it when openSide is -1.
func cmpEnd(a, b endpoint, openSide int) int {
	if a.inf != 0 || b.inf != 0 {
		return a.inf - b.inf
	}
	if c := a.v.Cmp(b.v); c != 0 {
		return c
	}
	switch {
	case a.open == b.open:
		return 0
	case a.open:
		return openSide
	default:
		return -openSide
	}
}

// empty reports whether the interval holds no number.
func (iv interval) empty() bool {
	if iv.lo.inf == 1 || iv.hi.inf == -1 {
		return true
	}
	if iv.lo.inf != 0 || iv.hi.inf != 0 {
		return false
	}
	c := iv.lo.v.Cmp(iv.hi.v)
	return c > 0 || (c == 0 && (iv.lo.open || iv.hi.open))
}

// reaches reports whether an interval ending at hi joins one starting at lo without a
// gap (they overlap or touch; for integers, n and n+1 touch).
func reaches(hi, lo endpoint, integral bool) bool {
	if hi.inf == 1 || lo.inf == -1 {
		return true
	}
	if hi.inf == -1 || lo.inf == 1 {
		return false
	}
	c := hi.v.Cmp(lo.v)
	if integral && c < 0 {
		next := new(big.Rat).Add(hi.v, big.NewRat(1, 1))
		return next.Cmp(lo.v) == 0
	}
	return c > 0 || (c == 0 && !(hi.open && lo.open))
}

// clampInt turns the ends of an integral interval into closed integer ends.
func clampInt(iv interval) interval {
	if iv.lo.inf == 0 {
		v := ceilRat(iv.lo.v)
		if iv.lo.open && v.Cmp(iv.lo.v) == 0 {
			v.Add(v, big.NewRat(1, 1))
		}
		iv.lo = finite(v, false)
	}
	if iv.hi.inf == 0 {
		v := floorRat(iv.hi.v)
		if iv.hi.open && v.Cmp(iv.hi.v) == 0 {
			v.Sub(v, big.NewRat(1, 1))
		}
		iv.hi = finite(v, false)
	}
	return iv
}

func floorRat(r *big.Rat) *big.Rat {
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: rounds towards -∞ for a positive denominator
	return new(big.Rat).SetInt(q)
}

func ceilRat(r *big.Rat) *big.Rat {
	f := floorRat(r)
	if f.Cmp(r) != 0 {
		f.Add(f, big.NewRat(1, 1))
	}
	return f
}

// newIntervals normalizes ivs (clipped to the universe) into a set.
func newIntervals(integral bool, universe interval, ivs []interval) intervals {
	var in []interval
	for _, iv := range ivs {
		if cmpLo(iv.lo, universe.lo) < 0 {
			iv.lo = universe.lo
		}
		if cmpHi(iv.hi, universe.hi) > 0 {
			iv.hi = universe.hi
		}
		if integral {
			iv = clampInt(iv)
		}
		if !iv.empty() {
			in = append(in, iv)
		}
	}
	sort.Slice(in, func(i, j int) bool { return cmpLo(in[i].lo, in[j].lo) < 0 })
	var out []interval
	for _, iv := range in {
		if n := len(out); n > 0 && reaches(out[n-1].hi, iv.lo, integral) {
			if cmpHi(iv.hi, out[n-1].hi) > 0 {
				out[n-1].hi = iv.hi
			}
			continue
		}
		out = append(out, iv)
	}
	return intervals{integral: integral, universe: universe, ivs: out}
}

// has reports whether x is in the set.
func (s intervals) has(x *big.Rat) bool {
	for _, iv := range s.ivs {
		if aboveLo(x, iv.lo) && belowHi(x, iv.hi) {
			return true
		}
	}
	return false
}

// hasInt64 is has(x) for an integer (a time in nanoseconds), compared without allocating
// where an end is an int64 (as every end of a set of times is).
func (s intervals) hasInt64(x int64) bool {
	for _, iv := range s.ivs {
		if insideInt64(x, iv.lo, 1) && insideInt64(x, iv.hi, -1) {
			return true
		}
	}
	return false
}

// insideInt64 reports whether x is on the inner side of e: above a lower end (side 1) or below
// an upper end (side -1), or on a closed end.
func insideInt64(x int64, e endpoint, side int) bool {
	if e.inf != 0 {
		return e.inf == -side
	}
	var c int
	if n := e.v.Num(); e.v.IsInt() && n.IsInt64() {
		switch v := n.Int64(); {
		case x < v:
			c = -1
		case x > v:
			c = 1
		}
	} else {
		c = new(big.Rat).SetInt64(x).Cmp(e.v)
	}
	return c == side || (c == 0 && !e.open)
}

// aboveLo reports whether x lies at or above the lower end lo.
func aboveLo(x *big.Rat, lo endpoint) bool { return cmpLo(lo, finite(x, false)) <= 0 }

// belowHi reports whether x lies at or below the upper end hi.
func belowHi(x *big.Rat, hi endpoint) bool { return cmpHi(finite(x, false), hi) <= 0 }

// complement is the universe minus s.
func (s intervals) complement() intervals {
	var out []interval
	lo := s.universe.lo
	for _, iv := range s.ivs {
		out = append(out, interval{lo: lo, hi: flip(iv.lo)})
		lo = flip(iv.hi)
	}
	out = append(out, interval{lo: lo, hi: s.universe.hi})
	return newIntervals(s.integral, s.universe, out)
}

// flip turns a lower end into the upper end of the gap before it, and vice versa.
func flip(e endpoint) endpoint {
	if e.inf != 0 {
		return e // nothing lies beyond an infinite end
	}
	return finite(e.v, !e.open)
}

func (s intervals) union(t intervals) intervals {
	return newIntervals(s.integral, s.universe, append(append([]interval(nil), s.ivs...), t.ivs...))
}

func (s intervals) intersect(t intervals) intervals {
	return s.complement().union(t.complement()).complement()
}

func (s intervals) minus(t intervals) intervals { return s.intersect(t.complement()) }

func (s intervals) isEmpty() bool { return len(s.ivs) == 0 }

// isUniverse reports whether s is the whole universe.
func (s intervals) isUniverse() bool { return s.complement().isEmpty() }

// samples returns numbers that separate every piece of the sets: each finite end, one
// either side of it, and one between consecutive ends — the ends first (they make the
// most readable examples), the universe's own bounds last.
func samples(sets ...intervals) []*big.Rat {
	var ends, bounds []*big.Rat
	for _, s := range sets {
		for _, e := range []endpoint{s.universe.lo, s.universe.hi} {
			if e.inf == 0 {
				bounds = append(bounds, e.v)
			}
		}
	}
	isBound := func(v *big.Rat) bool {
		for _, b := range bounds {
			if b.Cmp(v) == 0 {
				return true
			}
		}
		return false
	}
	for _, s := range sets {
		for _, iv := range s.ivs {
			for _, e := range []endpoint{iv.lo, iv.hi} {
				if e.inf == 0 && !isBound(e.v) {
					ends = append(ends, e.v)
				}
			}
		}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Cmp(ends[j]) < 0 })
	one := big.NewRat(1, 1)
	var out, near, mids []*big.Rat
	for i, e := range ends {
		if i > 0 && e.Cmp(ends[i-1]) == 0 {
			continue
		}
		out = append(out, e)
		near = append(near, new(big.Rat).Sub(e, one), new(big.Rat).Add(e, one))
		if i+1 < len(ends) && ends[i+1].Cmp(e) != 0 {
			mid := new(big.Rat).Add(e, ends[i+1])
			mids = append(mids, mid.Quo(mid, big.NewRat(2, 1)))
		}
	}
	out = append(append(append(out, near...), mids...), bounds...)
	if len(out) == 0 {
		out = append(out, new(big.Rat))
	}
	return out
}

// describe writes the set in words with format turning a value into text, e.g.
// "below 900 or from 1000 to 2000"; words name the relations ("below", "at most",
// "above", "at least").
func (s intervals) describe(format func(*big.Rat) string, words [4]string) string {
	if s.isEmpty() {
		return "nothing"
	}
	if s.isUniverse() {
		return "any value"
	}
	if c := s.complement(); allPoints(c) {
		var pts []string
		for _, iv := range c.ivs {
			pts = append(pts, format(iv.lo.v))
		}
		return "anything but " + strings.Join(pts, ", ")
	}
	var parts []string
	for _, iv := range s.ivs {
		parts = append(parts, describeInterval(iv, s.universe, s.integral, format, words))
	}
	return strings.Join(parts, " or ")
}

func allPoints(s intervals) bool {
	for _, iv := range s.ivs {
		if iv.lo.inf != 0 || iv.hi.inf != 0 || iv.lo.v.Cmp(iv.hi.v) != 0 {
			return false
		}
	}
	return len(s.ivs) > 0
}

func describeInterval(iv interval, u interval, integral bool, format func(*big.Rat) string, words [4]string) string {
	loFree := iv.lo.inf != 0 || cmpLo(iv.lo, u.lo) == 0
	hiFree := iv.hi.inf != 0 || cmpHi(iv.hi, u.hi) == 0
	if integral {
		iv = roundEnds(iv)
	}
	var lo, hi string
	if !loFree {
		if iv.lo.open {
			lo = words[2] + " " + format(iv.lo.v)
		} else {
			lo = words[3] + " " + format(iv.lo.v)
		}
	}
	if !hiFree {
		if iv.hi.open {
			hi = words[0] + " " + format(iv.hi.v)
		} else {
			hi = words[1] + " " + format(iv.hi.v)
		}
	}
	switch {
	case loFree && hiFree:
		return "any value"
	case loFree:
		return hi
	case hiFree:
		return lo
	case iv.lo.v.Cmp(iv.hi.v) == 0:
		return format(iv.lo.v)
	case !iv.lo.open && !iv.hi.open:
		return "from " + format(iv.lo.v) + " to " + format(iv.hi.v)
	}
	return lo + " and " + hi
}

// roundEnds writes the closed integer ends of an interval as open ends when that reads
// rounder: "before 2030-01-01T00:00:00Z" rather than "at or before …59.999999999Z".
func roundEnds(iv interval) interval {
	one := big.NewRat(1, 1)
	if iv.lo.inf == 0 && !iv.lo.open {
		if prev := new(big.Rat).Sub(iv.lo.v, one); roundness(prev) > roundness(iv.lo.v) {
			iv.lo = finite(prev, true)
		}
	}
	if iv.hi.inf == 0 && !iv.hi.open {
		if next := new(big.Rat).Add(iv.hi.v, one); roundness(next) > roundness(iv.hi.v) {
			iv.hi = finite(next, true)
		}
	}
	return iv
}

// roundness counts the trailing decimal zeros of an integer.
func roundness(r *big.Rat) int {
	n := new(big.Int).Set(r.Num())
	if n.Sign() == 0 {
		return 100
	}
	ten, m := big.NewInt(10), new(big.Int)
	z := 0
	for {
		q, rem := new(big.Int).QuoRem(n, ten, m)
		if rem.Sign() != 0 {
			return z
		}
		n, z = q, z+1
	}
}

// canonical is a stable text form of the set.
func (s intervals) canonical() string {
	var b strings.Builder
	for _, iv := range s.ivs {
		b.WriteString(endText(iv.lo, "[", "("))
		b.WriteByte(',')
		b.WriteString(endText(iv.hi, "]", ")"))
	}
	return b.String()
}

func endText(e endpoint, closed, open string) string {
	switch {
	case e.inf < 0:
		return "(-inf"
	case e.inf > 0:
		return "+inf)"
	case e.open:
		if open == "(" {
			return open + e.v.RatString()
		}
		return e.v.RatString() + open
	}
	if closed == "[" {
		return closed + e.v.RatString()
	}
	return e.v.RatString() + closed
}
