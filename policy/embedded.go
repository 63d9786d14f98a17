package policy

import (
	"unicode/utf16"
	"unicode/utf8"
)

// embeddedPrefix is prepended to the messages of problems found inside a
// policy_document string.
const embeddedPrefix = "in policy_document: "

// parseEmbedded parses the JSON text held by the string node s of a file
// (the v5 "policy_document" wrapper). Positions are those of the file: each
// byte of the decoded text maps to the source character or escape sequence
// that produced it, so they are exact even when the string has escapes.
// Pointers start with s.Pointer.
func parseEmbedded(fileSrc string, start int, s *Node) (*Node, []Problem) {
	rawStart := s.Pos.Offset + 1
	raw := fileSrc[rawStart:stringEnd(fileSrc, rawStart)]
	cur := newCursor(fileSrc, start)
	p := &parser{src: s.Str, cur: &cur, prefix: s.Pointer, msgPrefix: embeddedPrefix}
	if raw == s.Str {
		p.shift = rawStart
	} else {
		p.omap = offsetMap(raw, rawStart)
	}
	p.init()
	return p.run()
}

// stringEnd returns the offset of the closing quote of the string body that
// starts at j.
func stringEnd(src string, j int) int {
	for j < len(src) {
		switch src[j] {
		case '"':
			return j
		case '\\':
			j += 2
		default:
			j++
		}
	}
	return len(src)
}

// offsetMap returns, for every byte the body raw of a well-formed JSON
// string decodes to, the file offset (raw starting at base) of the
// character or escape that produced it, plus one final entry for the end.
// It decodes exactly as parser.strSlow does.
func offsetMap(raw string, base int) []int {
	m := make([]int, 0, len(raw)+1)
	for k := 0; k < len(raw); {
		c := raw[k]
		switch {
		case c == '\\' && k+1 < len(raw) && raw[k+1] == 'u':
			r, n := hex4(raw, k), 6
			if utf16.IsSurrogate(r) {
				if d := utf16.DecodeRune(r, hex4(raw, k+6)); d != utf8.RuneError {
					r, n = d, 12
				} else {
					r = utf8.RuneError
				}
			}
			for range max(utf8.RuneLen(r), 1) {
				m = append(m, base+k)
			}
			k += n
		case c == '\\':
			m = append(m, base+k)
			k += 2
		case c < utf8.RuneSelf:
			m = append(m, base+k)
			k++
		default:
			r, size := utf8.DecodeRuneInString(raw[k:])
			if r == utf8.RuneError && size == 1 {
				m = append(m, base+k, base+k, base+k)
			} else {
				for b := range size {
					m = append(m, base+k+b)
				}
			}
			k += size
		}
	}
	return append(m, base+len(raw))
}
