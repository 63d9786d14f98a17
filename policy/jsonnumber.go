package policy

import "fmt"

// number parses the number at p.i (a '-' or a digit) by the RFC 8259
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. Node.Str keeps
// the literal.
func (p *parser) number() *Node {
	start, j, src := p.i, p.i, p.src
	if src[j] == '-' {
		j++
	}
	switch {
	case j >= len(src) || !isDigit(src[j]):
		p.fail(start, fmt.Sprintf("invalid number %s: expected a digit after '-'", p.numText(start)))
		return nil
	case src[j] == '0':
		j++
		if j < len(src) && isDigit(src[j]) {
			p.fail(start, fmt.Sprintf("invalid number %s: leading zeros are not allowed in JSON; remove them", p.numText(start)))
			return nil
		}
	default:
		j = skipDigits(src, j)
	}
	if j < len(src) && src[j] == '.' {
		j++
		if j >= len(src) || !isDigit(src[j]) {
			whole := src[start : j-1]
			p.fail(start, fmt.Sprintf("invalid number %s: expected a digit after the decimal point; write %s.0 or %s", p.numText(start), whole, whole))
			return nil
		}
		j = skipDigits(src, j)
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		j++
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j >= len(src) || !isDigit(src[j]) {
			p.fail(start, fmt.Sprintf("invalid number %s: expected a digit in the exponent", p.numText(start)))
			return nil
		}
		j = skipDigits(src, j)
	}
	p.i = j
	n := p.node(KindNumber, start)
	n.Str = src[start:j]
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipDigits(s string, j int) int {
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j
}
