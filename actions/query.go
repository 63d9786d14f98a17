package actions

import (
	"fmt"
	"strings"
)

// Limits of a query string the matcher accepts. IMS queries are a handful of short filters;
// anything far larger is refused rather than parsed.
const (
	MaxQueryLen    = 8 << 10 // decoded bytes of all keys and values; the raw text may be 3× as long
	MaxQueryParams = 64
)

// QueryParam is one query parameter, percent-decoded ("+" is a space).
type QueryParam struct {
	Key   string
	Value string
}

// Query is a parsed query string: its parameters, decoded, in the order sent. Every key
// occurs once (compared case-insensitively), so there is no question of which of two
// values a server would use. A Query is what is authorized, and Encode is what is
// forwarded, so the two never disagree.
type Query []QueryParam

// QueryError explains why a query string was refused. It never quotes a key or value (they
// may carry secrets); it names the parameter by position.
type QueryError struct {
	Param int    // 1-based parameter position, 0 when not about one parameter
	Msg   string // what is wrong and how to fix it
}

// Error implements error.
func (e *QueryError) Error() string {
	if e.Param > 0 {
		return fmt.Sprintf("query parameter %d: %s", e.Param, e.Msg)
	}
	return "query: " + e.Msg
}

// ParseQuery decodes a raw query string strictly: parameters are separated by "&" (a ";"
// is refused, as servers disagree on it), empty parameters are skipped, a parameter without
// "=" has the empty value, percent-escapes must be well-formed, keys are non-empty and made
// of letters, digits and "-._~:", no key occurs twice (compared case-insensitively), and no
// decoded key or value holds a control character.
func ParseQuery(raw string) (Query, error) {
	if raw == "" {
		return nil, nil
	}
	if len(raw) > 3*MaxQueryLen {
		return nil, errQueryTooLong()
	}
	size := 0
	n := strings.Count(raw, "&") + 1
	q := make(Query, 0, min(n, MaxQueryParams))
	pos := 0
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		pos++
		if pos > MaxQueryParams {
			return nil, &QueryError{Msg: fmt.Sprintf("more than %d parameters", MaxQueryParams)}
		}
		if strings.IndexByte(part, ';') >= 0 {
			return nil, &QueryError{Param: pos, Msg: "\";\" is not a parameter separator here (servers disagree on it); percent-encode it as %3B or use &"}
		}
		rk, rv, _ := strings.Cut(part, "=")
		k, err := queryUnescape(rk)
		if err != nil {
			return nil, &QueryError{Param: pos, Msg: "key: " + err.Error()}
		}
		v, err := queryUnescape(rv)
		if err != nil {
			return nil, &QueryError{Param: pos, Msg: "value: " + err.Error()}
		}
		if k == "" {
			return nil, &QueryError{Param: pos, Msg: "empty key; send key=value"}
		}
		if size += len(k) + len(v); size > MaxQueryLen {
			return nil, errQueryTooLong()
		}
		for i := 0; i < len(k); i++ {
			if c := k[i]; !unreserved(c) && c != ':' {
				return nil, &QueryError{Param: pos, Msg: "key holds " + describeByte(c) + "; keys are letters, digits and -._~:"}
			}
		}
		if i := strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
			return nil, &QueryError{Param: pos, Msg: "value holds " + describeByte(v[i])}
		}
		for j, p := range q {
			if strings.EqualFold(p.Key, k) {
				return nil, &QueryError{Param: pos, Msg: fmt.Sprintf("repeats the key of parameter %d (compared case-insensitively); servers disagree on which one wins, so send each key once", j+1)}
			}
		}
		q = append(q, QueryParam{Key: k, Value: v})
	}
	return q, nil
}

// errQueryTooLong is the error of a query longer than MaxQueryLen, built only when a query
// is refused for it.
func errQueryTooLong() *QueryError {
	return &QueryError{Msg: fmt.Sprintf("longer than %d bytes decoded; send fewer or shorter filters", MaxQueryLen)}
}

// queryUnescape decodes percent-escapes and "+" (a space).
func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return "", fmt.Errorf("invalid percent-encoding at byte %d: %% must be followed by two hex digits", i)
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case '+':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Get returns the value of key (exact match) and whether it is present.
func (q Query) Get(key string) (string, bool) {
	for _, p := range q {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Has reports whether key is present (exact match).
func (q Query) Has(key string) bool {
	_, ok := q.Get(key)
	return ok
}

// Encode returns the one canonical encoding of q, in order: every byte that is not an
// RFC 3986 unreserved character is percent-encoded (upper-case hex; a space is %20, never
// "+"), so any server decodes it to exactly the parameters that were authorized.
func (q Query) Encode() string {
	if len(q) == 0 {
		return ""
	}
	var b strings.Builder
	for i, p := range q {
		if i > 0 {
			b.WriteByte('&')
		}
		escapeTo(&b, p.Key)
		b.WriteByte('=')
		escapeTo(&b, p.Value)
	}
	return b.String()
}

// encodes reports whether Encode would return raw: true for a query sent in its canonical
// form (the usual case), which is then forwarded as sent without building it again.
func (q Query) encodes(raw string) bool {
	const hex = "0123456789ABCDEF"
	i := 0
	next := func(c byte) bool {
		if i < len(raw) && raw[i] == c {
			i++
			return true
		}
		return false
	}
	escaped := func(s string) bool {
		for j := 0; j < len(s); j++ {
			c := s[j]
			if unreserved(c) {
				if !next(c) {
					return false
				}
				continue
			}
			if !next('%') || !next(hex[c>>4]) || !next(hex[c&0xF]) {
				return false
			}
		}
		return true
	}
	for n, p := range q {
		if n > 0 && !next('&') {
			return false
		}
		if !escaped(p.Key) || !next('=') || !escaped(p.Value) {
			return false
		}
	}
	return i == len(raw)
}

func escapeTo(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
}
