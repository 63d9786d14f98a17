package generate

import (
	"fmt"
	"net/netip"
	"sort"
)

// aggregate turns addresses into the fewest CIDR prefixes of at least the given lengths
// (IPv4 bits4, IPv6 bits6) that hold them: each address is widened to its prefix, then
// prefixes inside others are dropped and sibling halves merged. With max > 0 and more
// prefixes than that, the two closest prefixes are replaced by their common parent until
// they fit; each such step is a widening, described in the returned notes.
func aggregate(addrs []netip.Addr, bits4, bits6, max int) ([]netip.Prefix, []string) {
	var ps []netip.Prefix
	for _, a := range addrs {
		a = a.Unmap()
		bits := bits6
		if a.Is4() {
			bits = bits4
		}
		p, err := a.Prefix(min(bits, a.BitLen()))
		if err == nil {
			ps = append(ps, p)
		}
	}
	ps = merge(ps)
	var notes []string
	for max > 0 && len(ps) > max {
		i, j, parent := closest(ps)
		if i < 0 {
			break
		}
		notes = append(notes, fmt.Sprintf("%s and %s became %s", ps[i], ps[j], parent))
		ps = append(ps, parent)
		ps = merge(ps)
	}
	return ps, notes
}

// merge sorts prefixes, drops those inside another and joins sibling halves, repeatedly.
func merge(ps []netip.Prefix) []netip.Prefix {
	for {
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].Addr() != ps[j].Addr() {
				return ps[i].Addr().Less(ps[j].Addr())
			}
			return ps[i].Bits() < ps[j].Bits()
		})
		var out []netip.Prefix
		for _, p := range ps {
			if n := len(out); n > 0 && out[n-1].Overlaps(p) && out[n-1].Bits() <= p.Bits() {
				continue // p lies inside the previous prefix
			}
			out = append(out, p)
		}
		changed := len(out) != len(ps)
		ps = out
		out = nil
		for i := 0; i < len(ps); i++ {
			if i+1 < len(ps) && ps[i].Bits() == ps[i+1].Bits() && ps[i].Bits() > 0 {
				a, _ := ps[i].Addr().Prefix(ps[i].Bits() - 1)
				b, _ := ps[i+1].Addr().Prefix(ps[i+1].Bits() - 1)
				if a == b {
					out = append(out, a)
					i++
					changed = true
					continue
				}
			}
			out = append(out, ps[i])
		}
		ps = out
		if !changed {
			return ps
		}
	}
}

// closest finds the two prefixes of one address family whose common parent is the
// longest (the smallest widening).
func closest(ps []netip.Prefix) (int, int, netip.Prefix) {
	bi, bj, best := -1, -1, netip.Prefix{}
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			if ps[i].Addr().Is4() != ps[j].Addr().Is4() {
				continue
			}
			p := commonParent(ps[i], ps[j])
			if bi < 0 || p.Bits() > best.Bits() {
				bi, bj, best = i, j, p
			}
		}
	}
	return bi, bj, best
}

// commonParent is the longest prefix holding both a and b.
func commonParent(a, b netip.Prefix) netip.Prefix {
	for bits := min(a.Bits(), b.Bits()); bits >= 0; bits-- {
		pa, _ := a.Addr().Prefix(bits)
		pb, _ := b.Addr().Prefix(bits)
		if pa == pb {
			return pa
		}
	}
	return netip.Prefix{}
}
