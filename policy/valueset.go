package policy

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Domain is the kind of request values a ValueSet compares.
type Domain string

// The value domains of condition operators (spec §5.3, §5.6).
const (
	DomainString Domain = "string" // string operators, Bool, the null checks
	DomainNumber Domain = "number" // Number… operators: decimal request values
	DomainDate   Domain = "date"   // Date… operators: RFC 3339 request values
	DomainIP     Domain = "ip"     // IpAddress, NotIpAddress: IP address request values
)

// ValueSet is the set of single request values one condition accepts, exactly as the
// decision engine decides it: which strings pass the operator against the policy values
// (for a negated operator: pass none of them). Values of another type than the
// operator's (an unparsable number, date or address) are never in the set.
//
// A ValueSet is immutable and safe for concurrent use.
type ValueSet struct {
	dom Domain
	str strSet    // DomainString
	num intervals // DomainNumber, DomainDate (nanoseconds)
	// overflow: DomainNumber, the set holds the decimals too large for a float64, which
	// the engine cannot compare (only negated operators accept them)
	overflow bool
	ip       ipSet // DomainIP
}

var (
	numUniverse  = interval{negInf, posInf}
	timeUniverse = interval{finite(big.NewRat(math.MinInt64, 1), false), finite(big.NewRat(math.MaxInt64, 1), false)}
)

// Domain returns the kind of values the set compares.
func (s ValueSet) Domain() Domain { return s.dom }

// Has reports whether the single request value v passes the condition.
func (s ValueSet) Has(v string) bool {
	switch s.dom {
	case DomainNumber:
		if !IsDecimal(v) {
			return false
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return s.overflow // too large: the engine's to_number fails
		}
		r, _ := new(big.Rat).SetString(v)
		return s.num.has(r)
	case DomainDate:
		ns, ok := requestTime(v)
		return ok && s.num.hasInt64(ns)
	case DomainIP:
		a, ok := parseRequestIP(v)
		return ok && s.ip.has(a)
	}
	return s.str.has(v)
}

// Parsed keeps what reading one request value in each domain gave, so that the sets of
// several predicates on one key read it once. The zero Parsed has read nothing; it belongs
// to one value, which every HasParsed call given it must pass.
type Parsed struct {
	ipRead, ipOK bool
	timeRead     bool
	timeOK       bool
	ip           u128
	ns           int64
}

// HasParsed is Has(v), reading v through p: an address or a date is parsed once per
// Parsed.
func (s ValueSet) HasParsed(v string, p *Parsed) bool {
	switch s.dom {
	case DomainDate:
		if !p.timeRead {
			p.ns, p.timeOK = requestTime(v)
			p.timeRead = true
		}
		return p.timeOK && s.num.hasInt64(p.ns)
	case DomainIP:
		if !p.ipRead {
			p.ip, p.ipOK = parseRequestIP(v)
			p.ipRead = true
		}
		return p.ipOK && s.ip.has(p.ip)
	}
	return s.Has(v)
}

// requestTime reads a request date as the engine does (time.parse_rfc3339_ns): RFC 3339,
// within the nanosecond range of an int64.
func requestTime(v string) (int64, bool) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0, false
	}
	return t.UnixNano(), true
}

// IsEmpty reports whether no value passes.
func (s ValueSet) IsEmpty() bool {
	switch s.dom {
	case DomainNumber:
		return s.num.isEmpty() && !s.overflow
	case DomainDate:
		return s.num.isEmpty()
	case DomainIP:
		return len(s.ip) == 0
	}
	return s.str.isEmpty()
}

// IsAll reports whether every string passes (only string sets can: the other domains
// reject values that do not parse).
func (s ValueSet) IsAll() bool { return s.dom == DomainString && s.str.isAll() }

// Canonical is a text form equal for equal sets of the same domain.
func (s ValueSet) Canonical() string {
	switch s.dom {
	case DomainNumber:
		o := ""
		if s.overflow {
			o = "+overflow"
		}
		return "number:" + s.num.canonical() + o
	case DomainDate:
		return "date:" + s.num.canonical()
	case DomainIP:
		return "ip:" + s.ip.cidrs(math.MaxInt)
	}
	return "string:" + s.str.canonical()
}

// Subset decides whether every value in s is in t. False comes with a value of s that t
// rejects.
func (s ValueSet) Subset(t ValueSet) (Truth, string) {
	if s.IsEmpty() || t.IsAll() {
		return True, ""
	}
	structural := Unknown
	if s.dom == t.dom {
		switch s.dom {
		case DomainNumber:
			structural = truth(s.num.minus(t.num).isEmpty() && (!s.overflow || t.overflow))
		case DomainDate:
			structural = truth(s.num.minus(t.num).isEmpty())
		case DomainIP:
			structural = truth(len(s.ip.minus(t.ip)) == 0)
		default:
			structural = strSubset(s.str, t.str)
		}
	} else if s.dom == DomainString && s.str.finite() {
		structural = True
		for _, v := range s.str.values() {
			if !t.Has(v) {
				structural = False
			}
		}
	} else if t.dom == DomainString && t.str.cofinite() {
		structural = True
		for _, v := range t.str.values() {
			if s.Has(v) {
				structural = False
			}
		}
	}
	if structural == True {
		return True, ""
	}
	for _, v := range Samples(s, t) {
		if s.Has(v) && !t.Has(v) {
			return False, v
		}
	}
	return Unknown, ""
}

// Disjoint decides whether no value is in both s and t. False comes with a value in both.
func (s ValueSet) Disjoint(t ValueSet) (Truth, string) {
	if s.IsEmpty() || t.IsEmpty() {
		return True, ""
	}
	structural := Unknown
	switch {
	case s.dom == t.dom && s.dom == DomainString:
		structural = strDisjoint(s.str, t.str)
	case s.dom == t.dom && s.dom == DomainIP:
		structural = truth(len(s.ip.intersect(t.ip)) == 0)
	case s.dom == t.dom && s.dom == DomainDate:
		structural = truth(s.num.intersect(t.num).isEmpty())
	case s.dom == t.dom:
		structural = truth(s.num.intersect(t.num).isEmpty() && !(s.overflow && t.overflow))
	case s.dom != DomainString && t.dom != DomainString:
		structural = True // a value parses as one type only: an IP is no number or date
	}
	if structural == True {
		return True, ""
	}
	for _, v := range Samples(s, t) {
		if s.Has(v) && t.Has(v) {
			return False, v
		}
	}
	return Unknown, ""
}

// Minus returns the values of s that t rejects, when the domains allow computing it (the
// same number, date or IP domain, or finite string sets); ok is false otherwise.
func (s ValueSet) Minus(t ValueSet) (ValueSet, bool) {
	if s.dom != t.dom {
		return ValueSet{}, false
	}
	out := s
	switch s.dom {
	case DomainNumber, DomainDate:
		out.num = s.num.minus(t.num)
		out.overflow = s.overflow && !t.overflow
	case DomainIP:
		out.ip = s.ip.minus(t.ip)
	default:
		if !s.str.finite() {
			return ValueSet{}, false
		}
		var keep []strAtom
		for _, a := range s.str.atoms {
			if !t.Has(a.x) {
				keep = append(keep, a)
			}
		}
		out.str = newStrSet(false, keep)
	}
	return out, true
}

// Union returns the values in s or t, when the domains allow computing it (the same
// number, date or IP domain, or two string sets that are not negated); ok is false
// otherwise.
func (s ValueSet) Union(t ValueSet) (ValueSet, bool) {
	if s.dom != t.dom {
		return ValueSet{}, false
	}
	out := s
	switch s.dom {
	case DomainNumber, DomainDate:
		out.num = s.num.union(t.num)
		out.overflow = s.overflow || t.overflow
	case DomainIP:
		out.ip = s.ip.union(t.ip)
	default:
		if s.str.neg || t.str.neg {
			return ValueSet{}, false
		}
		out.str = newStrSet(false, append(append([]strAtom(nil), s.str.atoms...), t.str.atoms...))
	}
	return out, true
}

// IsUniverse reports whether the set holds every value of its domain.
func (s ValueSet) IsUniverse() bool {
	switch s.dom {
	case DomainNumber:
		return s.num.isUniverse() && s.overflow
	case DomainDate:
		return s.num.isUniverse()
	case DomainIP:
		return s.ip.isUniverse()
	}
	return s.str.isAll()
}

// Describe writes the set in words, e.g. "10.0.0.0/8", "below 900", "alice, bob".
func (s ValueSet) Describe() string {
	switch s.dom {
	case DomainNumber:
		return s.num.describe(func(r *big.Rat) string { return decimalText(r) }, [4]string{"below", "at most", "above", "at least"})
	case DomainDate:
		return s.num.describe(func(r *big.Rat) string { return timeText(r) }, [4]string{"before", "at or before", "after", "at or after"})
	case DomainIP:
		if len(s.ip) == 0 {
			return "no address"
		}
		if s.ip.isUniverse() {
			return "any address"
		}
		return s.ip.cidrs(6)
	}
	switch {
	case s.str.isAll():
		return "any value"
	case s.str.isEmpty():
		return "no value"
	}
	var parts []string
	for _, a := range s.str.atoms {
		parts = append(parts, atomText(a))
	}
	if s.str.neg {
		return "none of " + strings.Join(parts, ", ")
	}
	return strings.Join(parts, ", ")
}

func atomText(a strAtom) string {
	switch a.kind {
	case atomEqCI:
		return strconv.Quote(a.x) + " in any case"
	case atomPrefixCI:
		return "starting with " + strconv.Quote(a.x)
	case atomSuffixCI:
		return "ending with " + strconv.Quote(a.x)
	case atomContainsCI:
		return "containing " + strconv.Quote(a.x)
	case atomGlob:
		return "matching " + strconv.Quote(a.x)
	}
	return a.x
}

// decimalText writes a number with a finite decimal expansion exactly.
func decimalText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	for prec := 1; prec <= 400; prec++ {
		s := r.FloatString(prec)
		if back, ok := new(big.Rat).SetString(s); ok && back.Cmp(r) == 0 {
			return s
		}
	}
	return r.FloatString(20)
}

// timeText writes nanoseconds since the epoch as an RFC 3339 time (UTC).
func timeText(r *big.Rat) string {
	if !r.IsInt() || !r.Num().IsInt64() {
		return r.RatString() + "ns"
	}
	return time.Unix(0, r.Num().Int64()).UTC().Format(time.RFC3339Nano)
}

// Samples returns request values around the boundaries of the sets — members and
// non-members — for looking for counterexamples. Every piece of a number, date or IP set
// is represented; string sets get values derived from their atoms.
func Samples(sets ...ValueSet) []string {
	var strs []strSet
	var nums, times []intervals
	var ips []ipSet
	for _, s := range sets {
		switch s.dom {
		case DomainNumber:
			nums = append(nums, s.num)
		case DomainDate:
			times = append(times, s.num)
		case DomainIP:
			ips = append(ips, s.ip)
		default:
			strs = append(strs, s.str)
		}
	}
	out := strSamples(strs...)
	if len(nums) > 0 {
		for _, r := range samples(nums...) {
			out = append(out, decimalText(r))
		}
		out = append(out, "1"+strings.Repeat("0", 400), "-1"+strings.Repeat("0", 400))
	}
	if len(times) > 0 {
		for _, r := range samples(times...) {
			if r.IsInt() && r.Num().IsInt64() {
				out = append(out, timeText(r))
			}
		}
	}
	if len(ips) > 0 {
		for _, a := range ipSamples(ips...) {
			out = append(out, a.String())
		}
	}
	return dedupe(out)
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
