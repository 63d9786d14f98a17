package policy

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Pos is a location in a file: 1-based line, 1-based column counted in
// Unicode characters (a UTF-8 byte-order mark is not counted), and the
// 0-based byte offset from the start of the file.
type Pos struct {
	Line, Col, Offset int
}

// String formats p as "line:col".
func (p Pos) String() string {
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// Kind is the JSON type of a [Node].
type Kind int

// The JSON types.
const (
	// KindNull is the literal null (also the zero Kind).
	KindNull Kind = iota
	// KindBool is true or false; see Node.Bool.
	KindBool
	// KindNumber is a number; Node.Str holds the literal as written.
	KindNumber
	// KindString is a string; Node.Str holds the decoded text.
	KindString
	// KindArray is an array; see Node.Items.
	KindArray
	// KindObject is an object; see Node.Members.
	KindObject
)

var kindNames = [...]string{"null", "bool", "number", "string", "array", "object"}

// String returns the JSON name of k ("null", "bool", "number", "string",
// "array" or "object").
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Node is one JSON value with its position and its RFC 6901 JSON pointer
// from the file root. Only the fields for its Kind are set: Str for strings
// (decoded) and numbers (the literal as written), Bool for booleans, Items
// for arrays and Members for objects.
type Node struct {
	Kind    Kind
	Pos     Pos
	Pointer string
	Str     string
	Bool    bool
	Items   []*Node
	Members []Member
}

// Member is one key/value pair of an object. Members are kept in source
// order, duplicates included.
type Member struct {
	Key    string
	KeyPos Pos
	Value  *Node
}

// Get returns the value of the last member named key, or nil when n is nil,
// not an object, or has no such member.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != KindObject {
		return nil
	}
	for i := len(n.Members) - 1; i >= 0; i-- {
		if n.Members[i].Key == key {
			return n.Members[i].Value
		}
	}
	return nil
}

// Plain converts n to the values encoding/json produces when decoding into
// an any with UseNumber: map[string]any, []any, string, json.Number, bool or
// nil. For duplicate keys the last one wins.
func (n *Node) Plain() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case KindBool:
		return n.Bool
	case KindNumber:
		return json.Number(n.Str)
	case KindString:
		return n.Str
	case KindArray:
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			out[i] = it.Plain()
		}
		return out
	case KindObject:
		out := make(map[string]any, len(n.Members))
		for _, m := range n.Members {
			out[m.Key] = m.Value.Plain()
		}
		return out
	default:
		return nil
	}
}

// Find returns the node that the RFC 6901 JSON pointer designates, taking n
// as the root: "" is n itself, "/Statement/0/Action" its Statement's first
// element's Action. For duplicate keys the last member wins, as in Get. It
// returns nil when the pointer is malformed or designates nothing. Use
// File.Root.Find (or [File.PosOf]) for pointers from the file root.
func (n *Node) Find(pointer string) *Node {
	found, exact := n.Locate(pointer)
	if !exact {
		return nil
	}
	return found
}

// Locate is like Find but, when the pointer designates nothing, returns the
// deepest existing node on its path and exact=false, so that a problem about
// a missing member can still be placed at its parent. It returns (nil, false)
// when n is nil or the pointer is malformed.
func (n *Node) Locate(pointer string) (found *Node, exact bool) {
	if n == nil {
		return nil, false
	}
	if pointer == "" {
		return n, true
	}
	if pointer[0] != '/' {
		return nil, false
	}
	cur := n
	rest := pointer[1:]
	for {
		tok := rest
		more := false
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			tok, rest, more = rest[:i], rest[i+1:], true
		}
		next := cur.child(unescapeToken(tok))
		if next == nil {
			return cur, false
		}
		cur = next
		if !more {
			return cur, true
		}
	}
}

// child returns the member value or array element named by the unescaped
// pointer token tok.
func (n *Node) child(tok string) *Node {
	switch n.Kind {
	case KindObject:
		return n.Get(tok)
	case KindArray:
		i, ok := arrayIndex(tok)
		if !ok || i >= len(n.Items) {
			return nil
		}
		return n.Items[i]
	default:
		return nil
	}
}

// arrayIndex parses an RFC 6901 array index: decimal, no sign, no leading
// zero.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	i := 0
	for j := 0; j < len(tok); j++ {
		c := tok[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, true
}

// unescapeToken undoes RFC 6901 escaping: "~1" is "/", "~0" is "~".
func unescapeToken(tok string) string {
	if strings.IndexByte(tok, '~') < 0 {
		return tok
	}
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
}

// escapedLen returns the length of key after RFC 6901 escaping.
func escapedLen(key string) int {
	return len(key) + strings.Count(key, "~") + strings.Count(key, "/")
}

// writeEscaped writes key with RFC 6901 escaping.
func writeEscaped(b *strings.Builder, key string) {
	if strings.IndexByte(key, '~') < 0 && strings.IndexByte(key, '/') < 0 {
		b.WriteString(key)
		return
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteByte(c)
		}
	}
}

// appendEscaped appends key with RFC 6901 escaping.
func appendEscaped(b []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '~':
			b = append(b, '~', '0')
		case '/':
			b = append(b, '~', '1')
		default:
			b = append(b, c)
		}
	}
	return b
}
