package actions

import (
	"fmt"
	"strings"
)

// MaxPathLen is the longest raw path (bytes, before decoding) the matcher accepts.
const MaxPathLen = 2048

// PathError explains why a URL is not one canonical IMS path.
type PathError struct {
	Offset int    // byte offset in the raw path where the problem starts (-1 when not positional)
	Msg    string // what is wrong and how to fix it
}

// Error implements error.
func (e *PathError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("path byte %d: %s", e.Offset, e.Msg)
	}
	return e.Msg
}

// SplitURL separates a request target into its raw (still encoded) path and raw query.
// rawURL is an origin-form request target ("/v2/images?limit=1") or an absolute http(s) URL.
// The fragment, which clients never send, makes the URL invalid.
func SplitURL(rawURL string) (path, query string, err error) {
	s := rawURL
	if !strings.HasPrefix(s, "/") {
		scheme, rest, ok := strings.Cut(s, "://")
		if !ok || (!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https")) {
			return "", "", &PathError{Offset: -1, Msg: "request target must be a path starting with / or an http(s):// URL"}
		}
		i := strings.IndexAny(rest, "/?#")
		if i < 0 {
			rest = "/"
		} else if rest[i] != '/' {
			rest = "/" + rest[i:]
		} else {
			rest = rest[i:]
		}
		if i == 0 {
			return "", "", &PathError{Offset: -1, Msg: "URL has no host"}
		}
		s = rest
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return "", "", &PathError{Offset: i, Msg: "URL contains a fragment (#); send the path without it"}
	}
	path, query, _ = strings.Cut(s, "?")
	return path, query, nil
}

// CanonicalPath validates a raw (percent-encoded) path and returns its one canonical form,
// which is both what is authorized and what is forwarded upstream.
//
// Rules: the path starts with "/"; a single trailing slash is dropped; every segment is
// non-empty; percent-escapes are well-formed and decode to RFC 3986 unreserved characters
// (letters, digits, "-._~"); raw bytes are unreserved characters too (so no control
// characters, NUL, backslash, ";", spaces or non-ASCII); no segment is "." or ".." after
// decoding. Percent-encoded unreserved characters are decoded in the canonical form.
// When the path needs no change, the result shares memory with the input (no allocation).
func CanonicalPath(raw string) (string, error) {
	if raw == "" || raw[0] != '/' {
		return "", &PathError{Offset: 0, Msg: "path must start with /"}
	}
	if len(raw) > MaxPathLen {
		return "", &PathError{Offset: MaxPathLen, Msg: fmt.Sprintf("path is longer than %d bytes", MaxPathLen)}
	}
	if raw == "/" {
		return raw, nil
	}
	p := raw
	if p[len(p)-1] == '/' {
		p = p[:len(p)-1] // one trailing slash is ignored; a second one leaves an empty segment
	}
	encoded := false
	segStart := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		hasPct, err := checkSegment(raw, segStart, p[segStart:i])
		if err != nil {
			return "", err
		}
		encoded = encoded || hasPct
		segStart = i + 1
	}
	if !encoded {
		return p, nil
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '%' {
			b.WriteByte(unhex(p[i+1])<<4 | unhex(p[i+2]))
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String(), nil
}

// checkSegment validates one raw segment starting at byte off of raw.
func checkSegment(raw string, off int, seg string) (hasPct bool, err error) {
	if seg == "" {
		return false, &PathError{Offset: off, Msg: "empty path segment (\"//\"); remove the duplicate slash"}
	}
	dots, n := 0, 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if i+2 >= len(seg) || !ishex(seg[i+1]) || !ishex(seg[i+2]) {
				return false, &PathError{Offset: off + i, Msg: "invalid percent-encoding: % must be followed by two hex digits"}
			}
			c = unhex(seg[i+1])<<4 | unhex(seg[i+2])
			if !unreserved(c) {
				return false, &PathError{Offset: off + i, Msg: "percent-encoded " + describeByte(c) + " inside a path segment is not allowed"}
			}
			hasPct = true
			i += 2
		} else if !unreserved(c) {
			return false, &PathError{Offset: off + i, Msg: describeByte(c) + " is not allowed in a path (only letters, digits and -._~ are)"}
		}
		n++
		if c == '.' {
			dots++
		}
	}
	if dots == n {
		return false, &PathError{Offset: off, Msg: "dot segment (\".\", \"..\" or only dots, possibly percent-encoded) is not allowed; send the resolved path"}
	}
	return hasPct, nil
}

func describeByte(c byte) string {
	switch {
	case c == '/':
		return "slash (/)"
	case c == '\\':
		return "backslash (\\)"
	case c == 0:
		return "NUL byte"
	case c < 0x20 || c == 0x7f:
		return fmt.Sprintf("control character 0x%02x", c)
	case c >= 0x80:
		return fmt.Sprintf("non-ASCII byte 0x%02x", c)
	case c == ' ':
		return "space"
	default:
		return fmt.Sprintf("character %q", rune(c))
	}
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
