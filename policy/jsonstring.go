package policy

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// str parses the string whose opening quote is at p.i and returns its
// decoded text. Strings without escapes share memory with the source.
func (p *parser) str() (string, bool) {
	start, src := p.i, p.src
	for j := start + 1; j < len(src); j++ {
		c := src[j]
		if c == '"' {
			p.i = j + 1
			return src[start+1 : j], true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return p.strSlow(start, j)
		}
	}
	return p.strSlow(start, len(src))
}

// strSlow continues str at offset j, where an escape, a control character,
// a non-ASCII byte or the end of the input was found. It decodes escapes as
// encoding/json does: an unpaired surrogate becomes U+FFFD. Invalid UTF-8 is
// reported (once per parse) and replaced by U+FFFD.
func (p *parser) strSlow(start, j int) (string, bool) {
	src := p.src
	var buf []byte // nil while the decoded text equals the source
	lit := start + 1
	flush := func(end int) {
		if buf == nil {
			buf = make([]byte, 0, end-lit+16)
		}
		buf = append(buf, src[lit:end]...)
	}
	for {
		if j >= len(src) {
			p.fail(j, fmt.Sprintf("unexpected end of input in the string started at %s; add the closing '\"'", p.pos(start)))
			return "", false
		}
		c := src[j]
		switch {
		case c == '"':
			p.i = j + 1
			if buf == nil {
				return src[start+1 : j], true
			}
			flush(j)
			return string(buf), true
		case c == '\\':
			flush(j)
			n, ok := p.escape(j, &buf)
			if !ok {
				return "", false
			}
			j += n
			lit = j
		case c < 0x20:
			p.controlChar(start, j)
			return "", false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(src[j:])
			if r == utf8.RuneError && size == 1 {
				if !p.badUTF8 {
					p.badUTF8 = true
					p.report(CodeJSON, j, fmt.Sprintf("invalid UTF-8 byte 0x%02X in string; save the file as UTF-8", c))
				}
				flush(j)
				buf = utf8.AppendRune(buf, utf8.RuneError)
				lit = j + 1
			}
			j += size
		default:
			j++
		}
	}
}

// escape decodes the escape sequence at src[j] (a backslash), appends it to
// buf and returns its length in the source.
func (p *parser) escape(j int, buf *[]byte) (int, bool) {
	src := p.src
	if j+1 >= len(src) {
		p.failEOF("an escape sequence after '\\'")
		return 0, false
	}
	switch e := src[j+1]; e {
	case '"', '\\', '/':
		*buf = append(*buf, e)
	case 'b':
		*buf = append(*buf, '\b')
	case 'f':
		*buf = append(*buf, '\f')
	case 'n':
		*buf = append(*buf, '\n')
	case 'r':
		*buf = append(*buf, '\r')
	case 't':
		*buf = append(*buf, '\t')
	case 'u':
		r := hex4(src, j)
		if r < 0 {
			end := j + 2
			for end < len(src) && end < j+6 && isWordByte(src[end]) {
				end++
			}
			p.fail(j, fmt.Sprintf("invalid escape '%s': \\u must be followed by 4 hexadecimal digits", src[j:end]))
			return 0, false
		}
		n := 6
		if utf16.IsSurrogate(r) {
			if d := utf16.DecodeRune(r, hex4(src, j+6)); d != utf8.RuneError {
				r, n = d, 12
			} else {
				r = utf8.RuneError
			}
		}
		*buf = utf8.AppendRune(*buf, r)
		return n, true
	default:
		p.fail(j, fmt.Sprintf("invalid escape '\\' followed by %s in string; valid escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX, write \\\\ for a backslash", p.describe(j+1)))
		return 0, false
	}
	return 2, true
}

// controlChar reports the unescaped control character at j in the string
// started at start.
func (p *parser) controlChar(start, j int) {
	c := p.src[j]
	if c == '\n' || c == '\r' {
		p.fail(j, fmt.Sprintf("the string started at %s is not closed before the end of the line; add the closing '\"' (a line break inside a string must be written \\n)", p.pos(start)))
		return
	}
	esc := fmt.Sprintf(`\u%04X`, c)
	if c == '\t' {
		esc = `\t`
	}
	p.fail(j, fmt.Sprintf("control character U+%04X must be escaped in a string; write %s", c, esc))
}

// hex4 decodes the escape \uXXXX at src[j:], or returns -1.
func hex4(src string, j int) rune {
	if j+6 > len(src) || src[j] != '\\' || src[j+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range []byte(src[j+2 : j+6]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
