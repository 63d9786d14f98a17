package policy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file builds the messages of syntax errors: each says what was
// expected, what was found, and how to fix it.

const expectValue = "expected a JSON value (a string in double quotes, a number, an object, an array, true, false or null)"

// badValue reports the character at p.i, which cannot start a value.
func (p *parser) badValue() {
	off := p.i
	c := p.src[off]
	switch {
	case c == '\'':
		p.fail(off, "strings must be enclosed in double quotes, not single quotes")
	case c == '/':
		p.fail(off, "comments are not allowed in JSON; remove the comment")
	case c == '+':
		p.fail(off, "a number must not start with '+'; remove the '+'")
	case c == '.':
		p.fail(off, "a number must start with a digit; write 0.5, not .5")
	case c == ']' || c == '}' || c == ',' || c == ':':
		p.fail(off, fmt.Sprintf("%s, found %s", expectValue, p.describe(off)))
	case isWordByte(c):
		w := p.word(off)
		lw := strings.ToLower(w)
		switch {
		case lw == "true" || lw == "false" || lw == "null":
			p.fail(off, fmt.Sprintf("invalid literal %q; JSON literals are lower case, write %s", w, lw))
		case lw == "nan" || lw == "infinity":
			p.fail(off, fmt.Sprintf("%q is not a valid JSON number; use a string or a finite number", w))
		case strings.HasPrefix("true", w) || strings.HasPrefix("false", w) || strings.HasPrefix("null", w):
			p.fail(off, fmt.Sprintf("invalid literal %q; expected true, false or null", w))
		default:
			p.fail(off, fmt.Sprintf("unexpected word %q; %s", w, expectValue))
		}
	default:
		p.fail(off, fmt.Sprintf("%s, found %s", expectValue, p.describe(off)))
	}
}

// trailing reports what follows the root value.
func (p *parser) trailing() {
	off := p.i
	c := p.src[off]
	w := p.word(off)
	if c == '{' || c == '[' || c == '"' || c == '-' || isDigit(c) || w == "true" || w == "false" || w == "null" {
		p.fail(off, fmt.Sprintf("more than one JSON value: a second value starts at %s; a policy file must contain exactly one JSON value, split the values into separate files", p.pos(off)))
		return
	}
	p.fail(off, fmt.Sprintf("unexpected %s after the end of the JSON value; remove it", p.describe(off)))
}

// badKey reports what stands where an object key should start; comma is the
// offset of the preceding ',' or -1 right after '{'.
func (p *parser) badKey(open, comma int) {
	closing := " or '}'"
	if comma >= 0 {
		closing = ""
	}
	off := p.i
	if off >= len(p.src) {
		p.failEOF("an object key in double quotes" + closing)
		return
	}
	c := p.src[off]
	switch {
	case c == '\'':
		p.fail(off, "object keys must be enclosed in double quotes, not single quotes")
	case isWordByte(c):
		w := p.word(off)
		p.fail(off, fmt.Sprintf("object key %s must be enclosed in double quotes; write %q", w, w))
	case c == '/':
		p.fail(off, "comments are not allowed in JSON; remove the comment")
	default:
		p.fail(off, fmt.Sprintf("expected an object key in double quotes%s, found %s", closing, p.describe(off)))
	}
}

// failEOF reports the end of the input where expected was expected, naming
// the innermost container that is still open.
func (p *parser) failEOF(expected string) {
	msg := "unexpected end of input; expected " + expected
	if len(p.path) > 0 {
		f := p.path[len(p.path)-1]
		kind, closer := "object", '}'
		if f.arr {
			kind, closer = "array", ']'
		}
		msg += fmt.Sprintf(" (the %s opened at %s is not closed; add the missing '%c')", kind, p.pos(f.open), closer)
	}
	p.fail(len(p.src), msg)
}

// missingComma returns a hint when the character at off looks like the start
// of another value, i.e. a comma was probably forgotten.
func (p *parser) missingComma(off int) string {
	switch c := p.src[off]; {
	case c == '"' || c == '{' || c == '[' || c == '-' || isDigit(c):
		return "; add the missing ','"
	case isWordByte(c):
		if w := p.word(off); w == "true" || w == "false" || w == "null" {
			return "; add the missing ','"
		}
	}
	return ""
}

// describe names the character at off for a message.
func (p *parser) describe(off int) string {
	if off >= len(p.src) {
		return "end of input"
	}
	c := p.src[off]
	if c >= utf8.RuneSelf {
		r, size := utf8.DecodeRuneInString(p.src[off:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("invalid UTF-8 byte 0x%02X (save the file as UTF-8)", c)
		}
		return quoteRune(r)
	}
	return quoteRune(rune(c))
}

// quoteRune formats r as 'x', or as U+XXXX when it is not printable.
func quoteRune(r rune) string {
	if r == '\'' {
		return `"'"`
	}
	if unicode.IsPrint(r) {
		return "'" + string(r) + "'"
	}
	return fmt.Sprintf("U+%04X", r)
}

// word returns the run of letters, digits, '_' and '$' at off.
func (p *parser) word(off int) string {
	j := off
	for j < len(p.src) && isWordByte(p.src[j]) && j-off < 32 {
		j++
	}
	return p.src[off:j]
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$'
}

// numText quotes the number-like text at start for a message.
func (p *parser) numText(start int) string {
	j := start
	for j < len(p.src) && j-start < 32 && strings.IndexByte("0123456789+-.eE", p.src[j]) >= 0 {
		j++
	}
	return strconv.Quote(p.src[start:j])
}

// pathPointer returns the JSON pointer of the value being parsed.
func (p *parser) pathPointer() string {
	b := []byte(p.prefix)
	for _, f := range p.path {
		if !f.set {
			break
		}
		b = append(b, '/')
		if f.arr {
			b = strconv.AppendInt(b, int64(f.idx), 10)
		} else {
			b = appendEscaped(b, f.key)
		}
	}
	return string(b)
}
