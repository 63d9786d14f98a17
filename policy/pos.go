package policy

import (
	"strings"
	"unicode/utf8"
)

// cursor turns byte offsets into positions. Queries in increasing offset
// order cost time proportional to the distance covered, so a whole parse is
// linear; a query behind the cursor restarts from the beginning.
type cursor struct {
	src   string
	start int // offset of line 1, column 1 (3 after a byte-order mark)
	off   int
	line  int
	col   int
}

func newCursor(src string, start int) cursor {
	return cursor{src: src, start: start, off: start, line: 1, col: 1}
}

// PosAt returns the position of byte offset off in src (clamped to [0, len(src)]): the
// 1-based line and the column in code points, as policy documents count them. For
// positions in other files the tools report, such as a TOML configuration.
func PosAt(src []byte, off int) Pos {
	off = min(max(off, 0), len(src))
	c := newCursor(string(src[:off]), 0)
	return c.at(off)
}

// at returns the position of byte offset off, which must lie in
// [0, len(src)]. Offsets inside the byte-order mark map to 1:1.
func (c *cursor) at(off int) Pos {
	if off < c.start {
		return Pos{Line: 1, Col: 1, Offset: off}
	}
	if off < c.off {
		c.off, c.line, c.col = c.start, 1, 1
	}
	line, col := c.line, c.col
	seg := c.src[c.off:off]
	for i := 0; i < len(seg); i++ {
		b := seg[i]
		if b == '\n' {
			line, col = line+1, 1
			continue
		}
		if b >= utf8.RuneSelf { // count the rest rune by rune
			rest := seg[i:]
			if j := strings.LastIndexByte(rest, '\n'); j >= 0 {
				line += strings.Count(rest, "\n")
				col = 1 + utf8.RuneCountInString(rest[j+1:])
			} else {
				col += utf8.RuneCountInString(rest)
			}
			break
		}
		col++
	}
	c.line, c.col = line, col
	c.off = off
	return Pos{Line: c.line, Col: c.col, Offset: off}
}
