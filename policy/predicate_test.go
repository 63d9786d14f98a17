package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pred(t testing.TB, op, key string, vals ...string) Predicate {
	t.Helper()
	p, err := NewPredicate(CondEntry{Operator: op, Key: key, Values: vals}, PredicateOptions{})
	require.NoError(t, err)
	return p
}

type cond struct {
	op, key string
	vals    []string
}

func c(op, key string, vals ...string) cond { return cond{op, key, vals} }

// TestImplies checks containment both ways per operator family: "fwd" is whether every
// request a admits is admitted by b (b is no narrower), "back" the reverse.
func TestImplies(t *testing.T) {
	const ip, tm, user, age, mfa, tags = "g:SourceIp", "g:CurrentTime", "g:UserName", "g:MFAAge", "g:MFAPresent", "g:TagKeys"
	cases := []struct {
		name      string
		a, b      cond
		fwd, back Truth
	}{
		// IP sets
		{"ip range widened", c("IpAddress", ip, "10.0.0.0/8"), c("IpAddress", ip, "0.0.0.0/0"), True, False},
		{"ip subnet", c("IpAddress", ip, "10.1.0.0/16"), c("IpAddress", ip, "10.0.0.0/8"), True, False},
		{"ip second range", c("IpAddress", ip, "10.0.0.0/8"), c("IpAddress", ip, "10.0.0.0/8", "11.0.0.0/8"), True, False},
		{"ip adjacent ranges merge", c("IpAddress", ip, "10.0.0.0/8", "11.0.0.0/8"), c("IpAddress", ip, "10.0.0.0/7"), True, True},
		{"ip host address", c("IpAddress", ip, "10.1.2.3"), c("IpAddress", ip, "10.1.2.3/32"), True, True},
		{"ip mapped prefix", c("IpAddress", ip, "::ffff:10.0.0.0/104"), c("IpAddress", ip, "10.0.0.0/8"), True, True},
		{"ipv6 all is not ipv4", c("IpAddress", ip, "::/0"), c("IpAddress", ip, "0.0.0.0/0"), False, False},
		{"not-ip loosened", c("NotIpAddress", ip, "10.0.0.0/8"), c("NotIpAddress", ip, "10.1.0.0/16"), True, False},
		{"ip inside vs not-ip elsewhere", c("IpAddress", ip, "10.0.0.0/8"), c("NotIpAddress", ip, "11.0.0.0/8"), True, False},
		{"ip to not-ip", c("IpAddress", ip, "10.0.0.0/8"), c("NotIpAddress", ip, "10.0.0.0/8"), False, False},
		{"ip IfExists", c("IpAddress", ip, "10.0.0.0/8"), c("IpAddressIfExists", ip, "10.0.0.0/8"), True, False},
		// dates
		{"date moved later", c("DateLessThan", tm, "2030-01-01T00:00:00Z"), c("DateLessThan", tm, "2035-01-01T00:00:00Z"), True, False},
		{"date strict vs equals", c("DateLessThan", tm, "2030-01-01T00:00:00Z"), c("DateLessThanEquals", tm, "2029-12-31T23:59:59.999999999Z"), True, True},
		{"date window inside", c("DateGreaterThan", tm, "2031-01-01T00:00:00Z"), c("DateGreaterThanEquals", tm, "2030-01-01T00:00:00+04:00"), True, False},
		{"date vs string", c("DateLessThan", tm, "2030-01-01T00:00:00Z"), c("StringEquals", tm, "2029-01-01T00:00:00Z"), False, True},
		// numbers
		{"number strict", c("NumberLessThan", age, "900"), c("NumberLessThanEquals", age, "900"), True, False},
		{"number point in range", c("NumberEquals", age, "3"), c("NumberGreaterThan", age, "2.5"), True, False},
		{"number not-equals grown", c("NumberNotEquals", age, "3", "4"), c("NumberNotEquals", age, "3"), True, False},
		{"number not-equals admits huge values", c("NumberNotEquals", age, "3"), c("NumberLessThan", age, "10"), False, False},
		{"number any-of alias", c("NumberEqualsAnyOf", age, "1", "2"), c("NumberEquals", age, "2", "1"), True, True},
		// strings
		{"string value added", c("StringEquals", user, "alice"), c("StringEquals", user, "alice", "bob"), True, False},
		{"string IfExists", c("StringEquals", user, "alice"), c("StringEqualsIfExists", user, "alice"), True, False},
		{"string ignore case", c("StringEquals", user, "alice"), c("StringEqualsIgnoreCase", user, "ALICE"), True, False},
		{"string prefix", c("StringStartWith", user, "ab"), c("StringStartWith", user, "A"), True, False},
		{"string contains", c("StringLike", user, "abc"), c("StringLike", user, "B"), True, False},
		{"string suffix in contains", c("StringEndWith", user, "xyz"), c("StringLike", user, "yz"), True, False},
		{"string glob", c("StringMatch", user, "a*c"), c("StringMatch", user, "a*"), True, False},
		{"string glob vs prefix", c("StringMatch", user, "a*"), c("StringStartWith", user, "a"), True, False},
		{"string not-equals", c("StringNotEquals", user, "bob", "carol"), c("StringNotEquals", user, "bob"), True, False},
		{"string equals vs not-equals", c("StringEquals", user, "alice"), c("StringNotEquals", user, "bob"), True, False},
		{"string key absent vs negation", c("StringNotEquals", user, "bob"), c("StringNotEqualsIfExists", user, "bob"), True, False},
		{"string unprovable globs", c("StringMatch", user, "?*"), c("StringMatch", user, "*?"), Unknown, Unknown},
		{"string vs ip unprovable", c("IpAddress", user, "10.0.0.0/8"), c("StringNotEqualsIgnoreCase", user, "x"), Unknown, False},
		// Bool and the null checks
		{"bool IfExists", c("Bool", mfa, "true"), c("BoolIfExists", mfa, "TRUE"), True, False},
		{"bool flipped", c("Bool", mfa, "true"), c("Bool", mfa, "false"), False, False},
		{"bool is case-insensitive equality", c("Bool", mfa, "true"), c("StringEqualsIgnoreCase", mfa, "TRUE"), True, True},
		{"null checks", c("IsNull", user), c("IsNullOrEmpty", user), True, False},
		{"present checks", c("IsNotNull", user), c("Null", user, "false"), True, True},
		{"equals implies present", c("StringEquals", user, "alice"), c("IsNotNull", user), True, False},
		// qualifiers
		{"for-all grown", c("ForAllValues:StringEquals", tags, "a"), c("ForAllValues:StringEquals", tags, "a", "b"), True, False},
		{"for-any vs for-all", c("ForAnyValue:StringEquals", tags, "a"), c("ForAllValues:StringEquals", tags, "a"), False, False},
		{"no qualifier is for-any", c("StringEquals", tags, "a"), c("ForAnyValue:StringEquals", tags, "a"), True, True},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := pred(t, tc.a.op, tc.a.key, tc.a.vals...), pred(t, tc.b.op, tc.b.key, tc.b.vals...)
			got, w := Implies([]Predicate{a}, b)
			assert.Equal(t, tc.fwd, got, "a => b")
			if got == False {
				assert.True(t, a.Holds(w) && !b.Holds(w), "counterexample %q", w)
			}
			got, w = Implies([]Predicate{b}, a)
			assert.Equal(t, tc.back, got, "b => a")
			if got == False {
				assert.True(t, b.Holds(w) && !a.Holds(w), "counterexample %q", w)
			}
		})
	}
}

func TestImpliesAll(t *testing.T) {
	user := pred(t, "StringEquals", "g:UserName", "alice")
	id := pred(t, "StringEquals", "g:UserId", "alice")
	corp := pred(t, "IpAddress", "g:SourceIp", "10.0.0.0/8")
	got, ctx := ImpliesAll([]Predicate{user}, []Predicate{id})
	assert.Equal(t, False, got, "a swapped key is no proof")
	assert.True(t, ctx.Holds([]Predicate{user}) && !ctx.Holds([]Predicate{id}))

	got, _ = ImpliesAll([]Predicate{user, corp}, []Predicate{corp})
	assert.Equal(t, True, got, "dropping a condition narrows nothing when going from more to fewer conditions")
	got, ctx = ImpliesAll([]Predicate{corp}, []Predicate{user, corp})
	assert.Equal(t, False, got)
	assert.True(t, ctx.Holds([]Predicate{corp}))
	got, _ = ImpliesAll(nil, nil)
	assert.Equal(t, True, got)
}

func TestSatisfiable(t *testing.T) {
	in := pred(t, "IpAddress", "g:SourceIp", "10.0.0.0/8")
	out := pred(t, "NotIpAddress", "g:SourceIp", "10.0.0.0/8")
	got, ctx := Satisfiable([]Predicate{in, out})
	assert.Equal(t, True, got, "inside and outside 10/8 at once: with two values")
	assert.Len(t, ctx["g:sourceip"], 2)
	got, _ = Satisfiable([]Predicate{in, pred(t, "ForAllValues:NotIpAddress", "g:SourceIp", "10.0.0.0/8")})
	assert.Equal(t, False, got, "every value outside 10/8, one inside")
	got, ctx = Satisfiable([]Predicate{in, pred(t, "StringEquals", "g:UserName", "alice")})
	assert.Equal(t, True, got)
	assert.Equal(t, []string{"alice"}, ctx["g:username"])
	got, _ = Satisfiable([]Predicate{pred(t, "ForAllValues:StringEquals", "g:TagKeys", "a"), pred(t, "ForAnyValue:StringEquals", "g:TagKeys", "b")})
	assert.Equal(t, False, got)
}

func TestPredicateWords(t *testing.T) {
	cases := []struct {
		c    cond
		want string
	}{
		{c("IpAddress", "g:SourceIp", "10.0.0.0/8"), "g:SourceIp in 10.0.0.0/8"},
		{c("NotIpAddress", "g:SourceIp", "10.0.0.0/8", "192.168.0.0/16"), "g:SourceIp not in 10.0.0.0/8, 192.168.0.0/16"},
		{c("DateLessThan", "g:CurrentTime", "2030-01-01T00:00:00Z"), "g:CurrentTime before 2030-01-01T00:00:00Z"},
		{c("NumberLessThanEquals", "g:MFAAge", "900"), "g:MFAAge at most 900"},
		{c("NumberNotEquals", "g:MFAAge", "3"), "g:MFAAge is anything but 3"},
		{c("StringEqualsIfExists", "g:UserName", "alice", "bob"), "g:UserName is alice, bob (or absent)"},
		{c("StringNotEqualsIgnoreCase", "g:UserName", "Bob"), "g:UserName is none of Bob (any case)"},
		{c("ForAllValues:StringEquals", "g:TagKeys", "a"), "every value of g:TagKeys is a (or absent)"},
		{c("Bool", "g:MFAPresent", "true"), "g:MFAPresent is true"},
		{c("IsNull", "g:UserName"), "g:UserName is absent"},
		{c("Null", "g:UserName", "false"), "g:UserName is present"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, pred(t, tc.c.op, tc.c.key, tc.c.vals...).String())
	}
	a, b := pred(t, "IpAddress", "g:SourceIp", "10.0.0.0/8"), pred(t, "IpAddress", "g:SourceIp", "0.0.0.0/0")
	d, ok := b.Set.Minus(a.Set)
	require.True(t, ok)
	assert.Equal(t, "0.0.0.0/5, 8.0.0.0/7, 11.0.0.0/8, 12.0.0.0/6, 16.0.0.0/4, 32.0.0.0/3 and 2 more prefixes", d.Describe())
	u, ok := a.Set.Union(pred(t, "IpAddress", "g:SourceIp", "11.0.0.0/8").Set)
	require.True(t, ok)
	assert.Equal(t, "10.0.0.0/7", u.Describe())
	_, ok = a.Set.Union(pred(t, "StringEquals", "g:SourceIp", "x").Set)
	assert.False(t, ok, "different domains")
	got, w := b.Set.Subset(a.Set)
	assert.Equal(t, False, got)
	assert.True(t, b.Set.Has(w) && !a.Set.Has(w))
}

func TestNewPredicateErrors(t *testing.T) {
	cases := []cond{
		c("NumericEquals", "g:MFAAge", "1"),
		c("NumberEquals", "g:MFAAge", "one"),
		c("DateLessThan", "g:CurrentTime", "tomorrow"),
		c("IpAddress", "g:SourceIp", "10.0.0.0/33"),
		c("Bool", "g:MFAPresent", "yes"),
		c("StringEquals", "g:UserName"),
		c("Null", "g:UserName", "true", "false"),
		c("NullIfExists", "g:UserName", "true"),
	}
	for _, tc := range cases {
		_, err := NewPredicate(CondEntry{Operator: tc.op, Key: tc.key, Values: tc.vals}, PredicateOptions{})
		assert.ErrorIs(t, err, ErrInvalidCondition, tc.op)
	}
}

func TestHolds(t *testing.T) {
	cases := []struct {
		c    cond
		vals []string
		want bool
	}{
		{c("IpAddress", "k", "10.0.0.0/8"), []string{"10.1.1.1"}, true},
		{c("IpAddress", "k", "10.0.0.0/8"), []string{"::ffff:10.1.1.1"}, true},
		{c("IpAddress", "k", "10.0.0.0/8"), []string{"10.1.1.1/32"}, false},
		{c("NotIpAddress", "k", "10.0.0.0/8"), []string{"not-an-ip"}, false},
		{c("NotIpAddress", "k", "10.0.0.0/8"), nil, false},
		{c("NumberLessThan", "k", "10"), []string{"9.99"}, true},
		{c("NumberLessThan", "k", "10"), []string{"1e1"}, false},
		{c("NumberNotEquals", "k", "10"), []string{strings.Repeat("1", 400)}, true},
		{c("DateGreaterThan", "k", "2030-01-01T00:00:00Z"), []string{"2030-01-01T04:00:01+04:00"}, true},
		{c("StringLike", "k", "Adm"), []string{"sysADMIN"}, true},
		{c("StringMatch", "k", "a?c*"), []string{"abcdef"}, true},
		{c("StringMatch", "k", "a?c*"), []string{"ABCDEF"}, false},
		{c("ForAllValues:StringEquals", "k", "a", "b"), []string{"a", "c"}, false},
		{c("ForAnyValue:StringEquals", "k", "a", "b"), []string{"a", "c"}, true},
		{c("IsNullOrEmpty", "k"), []string{""}, true},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, pred(t, tc.c.op, tc.c.key, tc.c.vals...).Holds(tc.vals), "%v %q", tc.c, tc.vals)
	}
}
