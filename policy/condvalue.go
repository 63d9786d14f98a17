package policy

import (
	"errors"
	"math/big"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// decimalRe is a decimal number as condition values write it (spec §5.6): an optional
// minus sign, digits and an optional fraction; no plus sign, no exponent.
var decimalRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Errors of the condition value parsers, wrapped by ParseNumberValue and its siblings.
var (
	// ErrNotNumber: the value is not a decimal number.
	ErrNotNumber = errors.New("not a decimal number")
	// ErrNotDate: the value is not an RFC 3339 date-time.
	ErrNotDate = errors.New("not an ISO 8601 / RFC 3339 date-time like 2030-01-01T00:00:00Z")
	// ErrNotBool: the value is neither "true" nor "false".
	ErrNotBool = errors.New(`must be "true" or "false"`)
	// ErrNotIP: the value is neither an IP address nor a CIDR prefix.
	ErrNotIP = errors.New("not an IP address or CIDR")
)

// IsDecimal reports whether v is written the way number condition values are (spec §5.6).
// The decision engine applies the same test to request values.
func IsDecimal(v string) bool { return decimalRe.MatchString(v) }

// ParseNumberValue parses a number condition value of a policy: decimal syntax (IsDecimal),
// rounded to the float64 the decision engine compares request values with.
func ParseNumberValue(v string) (float64, error) {
	if !IsDecimal(v) {
		return 0, ErrNotNumber
	}
	f, _, err := big.ParseFloat(v, 10, 128, big.ToNearestEven)
	if err != nil {
		return 0, ErrNotNumber
	}
	x, _ := f.Float64()
	return x, nil
}

// ParseDateValue parses a date condition value of a policy: RFC 3339 with Z or a numeric
// offset, optionally with fractional seconds (spec §5.6).
func ParseDateValue(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, ErrNotDate
	}
	return t, nil
}

// ParseBoolValue parses a Bool condition value, case-insensitively, into "true" or "false".
func ParseBoolValue(v string) (string, error) {
	l := strings.ToLower(v)
	if l != "true" && l != "false" {
		return "", ErrNotBool
	}
	return l, nil
}

// ParseIPValue parses an IpAddress / NotIpAddress condition value: a CIDR prefix (host bits
// cleared) or a single address (a /32 or /128 prefix).
func ParseIPValue(v string) (netip.Prefix, error) {
	if pfx, err := netip.ParsePrefix(v); err == nil {
		return pfx.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, ErrNotIP
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
