package policy

import (
	"encoding/binary"
	"math/bits"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// u128 is an IP address as a 128-bit number: IPv4 addresses in their IPv4-mapped form
// ::ffff:a.b.c.d, the form the decision engine (OPA's net.cidr_contains, Go's net.IP)
// compares them in.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return 0
}

func (a u128) add1() u128 {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + carry, lo}
}

func (a u128) sub1() u128 {
	lo, borrow := bits.Sub64(a.lo, 1, 0)
	return u128{a.hi - borrow, lo}
}

var (
	ipMin = u128{}
	ipMax = u128{^uint64(0), ^uint64(0)}
	// the IPv4 addresses: ::ffff:0.0.0.0 to ::ffff:255.255.255.255
	v4Lo = u128{0, 0xffff_0000_0000}
	v4Hi = u128{0, 0xffff_ffff_ffff}
)

func u128From16(b []byte) u128 {
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a u128) bytes() [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return b
}

// isV4 reports whether the address is an IPv4 address (IPv4-mapped).
func (a u128) isV4() bool { return a.cmp(v4Lo) >= 0 && a.cmp(v4Hi) <= 0 }

// String writes an IPv4 address dotted, anything else as IPv6.
func (a u128) String() string {
	b := a.bytes()
	if a.isV4() {
		return netip.AddrFrom4([4]byte(b[12:])).String()
	}
	return netip.AddrFrom16(b).String()
}

// ipRange is the addresses from lo to hi, both included.
type ipRange struct{ lo, hi u128 }

// ipSet is a set of IP addresses: sorted, disjoint, non-touching ranges.
type ipSet []ipRange

func newIPSet(rs []ipRange) ipSet {
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo.cmp(rs[j].lo) < 0 })
	var out ipSet
	for _, r := range rs {
		if r.lo.cmp(r.hi) > 0 {
			continue
		}
		if n := len(out); n > 0 && (out[n-1].hi == ipMax || out[n-1].hi.add1().cmp(r.lo) >= 0) {
			if r.hi.cmp(out[n-1].hi) > 0 {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// prefixRanges is what the engine's net.cidr_contains(x, addr) accepts for the policy
// prefix x as written in the digested policy (ParseIPValue(v).String()): Go's
// net.IPNet.Contains compares IPv4 and IPv4-mapped addresses with IPv4 networks only, and
// every other address with IPv6 networks only, so an IPv6 network never contains an
// IPv4-mapped address.
func prefixRanges(x string) ([]ipRange, bool) {
	_, n, err := net.ParseCIDR(x)
	if err != nil {
		return nil, false
	}
	if ip4 := n.IP.To4(); ip4 != nil {
		m := n.Mask
		if len(m) == net.IPv6len {
			m = m[12:]
		}
		lo, hi := v4Lo.bytes(), v4Lo.bytes()
		for i := 0; i < 4; i++ {
			lo[12+i] = ip4[i] & m[i]
			hi[12+i] = ip4[i]&m[i] | ^m[i]
		}
		return []ipRange{{u128From16(lo[:]), u128From16(hi[:])}}, true
	}
	var lo, hi [16]byte
	for i := 0; i < 16; i++ {
		lo[i] = n.IP[i] & n.Mask[i]
		hi[i] = n.IP[i]&n.Mask[i] | ^n.Mask[i]
	}
	r := ipRange{u128From16(lo[:]), u128From16(hi[:])}
	// cut out the IPv4-mapped addresses
	var out []ipRange
	if r.lo.cmp(v4Lo) < 0 {
		out = append(out, ipRange{r.lo, minU(r.hi, v4Lo.sub1())})
	}
	if r.hi.cmp(v4Hi) > 0 {
		out = append(out, ipRange{maxU(r.lo, v4Hi.add1()), r.hi})
	}
	return out, true
}

func minU(a, b u128) u128 {
	if a.cmp(b) < 0 {
		return a
	}
	return b
}

func maxU(a, b u128) u128 {
	if a.cmp(b) > 0 {
		return a
	}
	return b
}

// parseRequestIP reads a request value the way the engine does: it must be a plain IPv4
// address (valid as a /32 CIDR) or an IPv6 address (valid as a /128 CIDR).
func parseRequestIP(v string) (u128, bool) {
	if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
		b := a.As16() // IPv4 as ::ffff:a.b.c.d, as net.IP.To16 gives it
		return u128From16(b[:]), true
	}
	suffix := "/32"
	if strings.Contains(v, ":") {
		suffix = "/128"
	}
	if _, _, err := net.ParseCIDR(v + suffix); err != nil {
		return u128{}, false
	}
	ip := net.ParseIP(v)
	if ip == nil {
		return u128{}, false
	}
	return u128From16(ip.To16()), true
}

func (s ipSet) has(a u128) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi.cmp(a) >= 0 })
	return i < len(s) && s[i].lo.cmp(a) <= 0
}

func (s ipSet) complement() ipSet {
	var out []ipRange
	next, more := ipMin, true
	for _, r := range s {
		if r.lo.cmp(next) > 0 {
			out = append(out, ipRange{next, r.lo.sub1()})
		}
		if r.hi == ipMax {
			more = false
			break
		}
		next = r.hi.add1()
	}
	if more {
		out = append(out, ipRange{next, ipMax})
	}
	return newIPSet(out)
}

func (s ipSet) union(t ipSet) ipSet {
	return newIPSet(append(append([]ipRange(nil), s...), t...))
}

func (s ipSet) intersect(t ipSet) ipSet { return s.complement().union(t.complement()).complement() }

func (s ipSet) minus(t ipSet) ipSet { return s.intersect(t.complement()) }

func (s ipSet) isUniverse() bool { return len(s) == 1 && s[0].lo == ipMin && s[0].hi == ipMax }

// ipSamples returns addresses that separate every piece of the sets: each range end and
// its neighbours (the first address past a range first: the most telling example), then
// the edges of the IPv4 block and of the address space.
func ipSamples(sets ...ipSet) []u128 {
	var out, ends []u128
	for _, s := range sets {
		for _, r := range s {
			if r.hi != ipMax {
				out = append(out, r.hi.add1())
			}
			if r.lo != ipMin {
				out = append(out, r.lo.sub1())
			}
			ends = append(ends, r.lo, r.hi)
		}
	}
	out = append(out, ends...)
	return append(out, v4Lo, v4Hi, v4Lo.sub1(), v4Hi.add1(), ipMin, ipMax)
}

// cidrs writes the set as CIDR prefixes, IPv4 ones dotted; at most max of them, then how
// many more.
func (s ipSet) cidrs(max int) string {
	var out []string
	total := 0
	for _, r := range s {
		for _, c := range rangeCIDRs(r) {
			total++
			if len(out) < max {
				out = append(out, c)
			}
		}
	}
	text := strings.Join(out, ", ")
	if total > max {
		text += " and " + strconv.Itoa(total-max) + " more prefixes"
	}
	return text
}

// rangeCIDRs splits a range into the fewest prefixes, in order. An IPv4 range gives IPv4
// prefixes; a range across the IPv4 block is split at its edges.
func rangeCIDRs(r ipRange) []string {
	var out []string
	lo := r.lo
	for {
		// the largest aligned block starting at lo that stays within r
		size := 0
		for size < 128 {
			next := size + 1
			if !aligned(lo, next) || blockEnd(lo, next).cmp(r.hi) > 0 || crossesV4(lo, next) {
				break
			}
			size = next
		}
		end := blockEnd(lo, size)
		if lo.isV4() {
			out = append(out, lo.String()+"/"+strconv.Itoa(32-size))
		} else {
			out = append(out, lo.String()+"/"+strconv.Itoa(128-size))
		}
		if end.cmp(r.hi) >= 0 || end == ipMax {
			return out
		}
		lo = end.add1()
	}
}

// aligned reports whether the low size bits of a are zero.
func aligned(a u128, size int) bool {
	switch {
	case size == 0:
		return true
	case size <= 64:
		return a.lo&(1<<uint(size)-1) == 0
	default:
		return a.lo == 0 && a.hi&(1<<uint(size-64)-1) == 0
	}
}

// blockEnd is the last address of the block of 2^size addresses starting at a.
func blockEnd(a u128, size int) u128 {
	switch {
	case size == 0:
		return a
	case size < 64:
		return u128{a.hi, a.lo | (1<<uint(size) - 1)}
	case size == 64:
		return u128{a.hi, ^uint64(0)}
	case size < 128:
		return u128{a.hi | (1<<uint(size-64) - 1), ^uint64(0)}
	}
	return ipMax
}

// crossesV4 reports whether a block would mix IPv4 and other addresses, or be an IPv4
// block larger than the IPv4 space.
func crossesV4(a u128, size int) bool {
	end := blockEnd(a, size)
	if a.isV4() {
		return size > 32 || !end.isV4()
	}
	return a.cmp(v4Lo) < 0 && end.cmp(v4Lo) >= 0
}
