package policy

import (
	"fmt"
	"strings"
)

// maxDepth is the deepest nesting of arrays and objects ParseJSON accepts.
const maxDepth = 100

// bom is the UTF-8 byte-order mark, accepted (and skipped) at the start of a
// file.
const bom = "\xEF\xBB\xBF"

// ParseJSON parses data as exactly one JSON value (RFC 8259) and returns its
// tree with positions and JSON pointers. It accepts any JSON value as the
// root; [Parse] additionally requires an object. Problems are E-JSON (syntax
// errors, invalid UTF-8, nesting deeper than 100 levels, more than one value)
// and E-JSON-DUPKEY (a key repeated in one object; parsing continues). The
// parser stops at the first syntax error and returns the tree built so far,
// or nil when there is none. A leading UTF-8 byte-order mark is skipped and
// not counted in columns. ParseJSON never panics and runs in time linear in
// the input.
func ParseJSON(data []byte) (*Node, []Problem) {
	root, probs, _, _ := parseFile(data)
	return root, probs
}

// parseFile parses data as ParseJSON does and also returns the text the
// nodes refer to and the offset where it starts after a byte-order mark.
func parseFile(data []byte) (root *Node, probs []Problem, src string, start int) {
	src = string(data)
	if strings.HasPrefix(src, bom) {
		start = len(bom)
	}
	cur := newCursor(src, start)
	p := &parser{src: src, i: start, cur: &cur}
	p.init()
	root, probs = p.run()
	return root, probs, src, start
}

// parser is a recursive-descent JSON parser. It parses src, but reports
// positions in the file that cur reads: the same text for a file, or the
// enclosing file for a policy embedded in a JSON string (then omap or
// shift translate offsets in src to offsets in the file).
type parser struct {
	src       string
	i         int
	cur       *cursor
	shift     int    // file offset of src[0] when omap is nil
	omap      []int  // file offset of every byte of src, plus one for the end
	prefix    string // JSON pointer of the root value
	msgPrefix string // prepended to every message

	probs   []Problem
	failed  bool // a syntax error stopped the parse
	badUTF8 bool // invalid UTF-8 in a string was reported already
	depth   int
	path    []frame // open containers, for the pointer of a problem

	ptrBytes int      // total length of the pointers of the nodes allocated
	slab     []Node   // nodes are carved from slabs to save allocations
	mscratch []Member // members of the objects being parsed
	iscratch []*Node  // elements of the arrays being parsed
	marena   []Member // finished member lists are carved from here
	iarena   []*Node  // finished element lists are carved from here
}

// frame is an open array or object: where it starts and which child is
// being parsed.
type frame struct {
	open     int
	arr      bool
	set      bool // key or idx names the child being parsed
	key      string
	idx      int
	childLen int // length of the JSON pointer of the child being parsed
}

// init sizes the scratch stacks for a typical policy.
func (p *parser) init() {
	p.path = make([]frame, 0, 8)
	p.mscratch = make([]Member, 0, 16)
	p.iscratch = make([]*Node, 0, 16)
}

func (p *parser) run() (*Node, []Problem) {
	p.skipWS()
	if p.i >= len(p.src) {
		if strings.TrimPrefix(p.src, bom) == "" {
			p.fail(p.i, "empty input; expected a JSON value")
		} else {
			p.fail(p.i, "unexpected end of input: the input holds only white space; expected a JSON value")
		}
		return nil, p.probs
	}
	rootOff := p.i
	root := p.value()
	if !p.failed {
		p.skipWS()
		if p.i < len(p.src) {
			p.trailing()
		}
	}
	if root != nil && !p.assignPointers(root, rootOff) {
		root = nil
	}
	return root, p.probs
}

// fail records a fatal syntax error at offset off and stops the parse.
func (p *parser) fail(off int, msg string) {
	p.report(CodeJSON, off, msg)
	p.failed = true
}

// report records a problem at offset off with the pointer of the value being
// parsed.
func (p *parser) report(code string, off int, msg string) {
	p.probs = append(p.probs, Problem{
		Code:     code,
		Severity: SeverityError,
		Message:  p.msgPrefix + msg,
		Pos:      p.pos(off),
		Pointer:  p.pathPointer(),
	})
}

// pos converts an offset in src into a position in the file.
func (p *parser) pos(off int) Pos {
	fo := off + p.shift
	if p.omap != nil {
		fo = p.omap[min(off, len(p.omap)-1)]
	}
	return p.cur.at(fo)
}

func (p *parser) skipWS() {
	i, src := p.i, p.src
	for i < len(src) {
		c := src[i]
		if c > ' ' || (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
			break
		}
		i++
	}
	p.i = i
}

// value parses the value at p.i, which is not at the end of the input.
func (p *parser) value() *Node {
	switch c := p.src[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		start := p.i
		s, ok := p.str()
		if !ok {
			return nil
		}
		n := p.node(KindString, start)
		n.Str = s
		return n
	case c == '-' || isDigit(c):
		return p.number()
	case c >= 'a' && c <= 'z':
		start := p.i
		switch word := p.word(start); word {
		case "true", "false":
			p.i += len(word)
			n := p.node(KindBool, start)
			n.Bool = word == "true"
			return n
		case "null":
			p.i += len(word)
			return p.node(KindNull, start)
		}
	}
	p.badValue()
	return nil
}

// enter opens a container at offset open, failing when it nests too deep.
func (p *parser) enter(open int, arr bool) bool {
	if p.depth >= maxDepth {
		p.fail(open, fmt.Sprintf("nesting deeper than %d levels of arrays and objects; a policy never needs this, flatten the document", maxDepth))
		return false
	}
	p.depth++
	p.path = append(p.path, frame{open: open, arr: arr, childLen: p.childLen()})
	p.i++
	p.skipWS()
	return true
}

// childLen returns the length of the JSON pointer of the value about to be
// parsed.
func (p *parser) childLen() int {
	if len(p.path) == 0 {
		return len(p.prefix)
	}
	return p.path[len(p.path)-1].childLen
}

func (p *parser) leave() {
	p.depth--
	p.path = p.path[:len(p.path)-1]
}

func (p *parser) object() *Node {
	open := p.i
	n := p.node(KindObject, open)
	if !p.enter(open, false) {
		return nil
	}
	fr := len(p.path) - 1
	plen := p.path[fr].childLen
	mark := len(p.mscratch)
	var seen map[string]Pos // first position of each key, once the object is large
	if p.i < len(p.src) && p.src[p.i] == '}' {
		p.i++
		p.leave()
		return n
	}
	for {
		if p.i >= len(p.src) || p.src[p.i] != '"' {
			p.badKey(open, -1)
			break
		}
		keyOff := p.i
		key, ok := p.str()
		if !ok {
			break
		}
		keyPos := p.pos(keyOff)
		p.path[fr].key, p.path[fr].set = key, true
		p.path[fr].childLen = plen + 1 + escapedLen(key)
		seen = p.checkDup(mark, seen, key, keyOff, keyPos)
		p.skipWS()
		if p.i >= len(p.src) || p.src[p.i] != ':' {
			p.fail(p.i, fmt.Sprintf("expected ':' after object key %q, found %s; write \"key\": value", key, p.describe(p.i)))
			break
		}
		p.i++
		p.skipWS()
		if p.i >= len(p.src) {
			p.failEOF(fmt.Sprintf("a value for key %q", key))
			break
		}
		v := p.value()
		if v == nil {
			break
		}
		p.mscratch = append(p.mscratch, Member{Key: key, KeyPos: keyPos, Value: v})
		if p.failed {
			break
		}
		p.path[fr].set = false
		more, comma := p.next('}', "object member", "an object key")
		if !more {
			break
		}
		if p.i >= len(p.src) || p.src[p.i] != '"' {
			p.badKey(open, comma)
			break
		}
	}
	n.Members = p.takeMembers(mark)
	p.leave()
	return n
}

// checkDup reports key when an earlier member of the object being parsed
// (members mscratch[mark:]) has the same key. Small objects are scanned;
// from 16 members on, a map is kept.
func (p *parser) checkDup(mark int, seen map[string]Pos, key string, keyOff int, keyPos Pos) map[string]Pos {
	ms := p.mscratch[mark:]
	first, dup := Pos{}, false
	if seen == nil && len(ms) >= 16 {
		seen = make(map[string]Pos, 2*len(ms))
		for i := len(ms) - 1; i >= 0; i-- {
			seen[ms[i].Key] = ms[i].KeyPos
		}
	}
	if seen != nil {
		if first, dup = seen[key]; !dup {
			seen[key] = keyPos
		}
	} else {
		for _, m := range ms {
			if m.Key == key {
				first, dup = m.KeyPos, true
				break
			}
		}
	}
	if dup {
		p.report(CodeJSONDupKey, keyOff, fmt.Sprintf("duplicate key %q (first defined at %s); remove one of them, JSON readers disagree on which one wins", key, first))
	}
	return seen
}

// next consumes what follows an object member or array element: the closing byte
// (more is false: the container is done), or a comma that another item follows (more is
// true; comma is the comma's offset). Anything else, including a trailing comma, is
// reported and ends the container. item names what was just parsed ("object member"), want
// what must follow a comma ("an object key").
func (p *parser) next(close byte, item, want string) (more bool, comma int) {
	p.skipWS()
	if p.i >= len(p.src) {
		p.failEOF(fmt.Sprintf("',' or '%c'", close))
		return false, 0
	}
	if c := p.src[p.i]; c == close {
		p.i++
		return false, 0
	} else if c != ',' {
		p.fail(p.i, fmt.Sprintf("expected ',' or '%c' after %s, found %s%s", close, item, p.describe(p.i), p.missingComma(p.i)))
		return false, 0
	}
	comma = p.i
	p.i++
	p.skipWS()
	if p.i < len(p.src) && p.src[p.i] == close {
		p.fail(p.i, fmt.Sprintf("expected %s after ',' but found '%c' (trailing comma is not allowed in JSON); remove the comma at %s", want, close, p.pos(comma)))
		return false, 0
	}
	return true, comma
}

func (p *parser) array() *Node {
	open := p.i
	n := p.node(KindArray, open)
	if !p.enter(open, true) {
		return nil
	}
	fr := len(p.path) - 1
	plen := p.path[fr].childLen
	mark := len(p.iscratch)
	if p.i < len(p.src) && p.src[p.i] == ']' {
		p.i++
		p.leave()
		return n
	}
	for {
		if p.i >= len(p.src) {
			p.failEOF("a JSON value or ']'")
			break
		}
		idx := len(p.iscratch) - mark
		p.path[fr].idx, p.path[fr].set = idx, true
		p.path[fr].childLen = plen + 1 + decimalLen(idx)
		v := p.value()
		if v == nil {
			break
		}
		p.iscratch = append(p.iscratch, v)
		if p.failed {
			break
		}
		p.path[fr].set = false
		if more, _ := p.next(']', "array element", "a value"); !more {
			break
		}
	}
	n.Items = p.takeItems(mark)
	p.leave()
	return n
}
