package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// The strict reading of an eval input's parse tree: objects with known fields only,
// values of the expected JSON type, and every problem an *EvalFileError placed at its
// line:column and written the way the file reads (request.context["g:SourceIp"]).

// EvalFileError is a problem in an eval input file: where it is (the file, line:column
// and the JSON pointer of the value) and what is wrong, in words that say how to fix it.
// It wraps ErrEvalFile and, when there is one, the cause: a referenced policy file's
// load error, ErrInvalidScope, ErrBadInput (a malformed action or resource).
type EvalFileError struct {
	File    string
	Pos     policy.Pos // Line 0: the problem has no place in the file
	Pointer string     // RFC 6901 pointer of the value from the file root
	Code    string     // policy.CodeJSON or policy.CodeJSONDupKey for JSON problems, else ""
	Message string
	Err     error
}

// Error formats the problem as "invalid eval input: FILE:LINE:COL: MESSAGE (CODE)".
func (e *EvalFileError) Error() string {
	var b strings.Builder
	b.WriteString(ErrEvalFile.Error())
	b.WriteString(": ")
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		b.WriteString(":")
		b.WriteString(e.Pos.String())
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	return b.String()
}

// Unwrap returns ErrEvalFile and the cause, if any.
func (e *EvalFileError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrEvalFile, e.Err}
	}
	return []error{ErrEvalFile}
}

// evalReader walks the parse tree of an eval input file.
type evalReader struct {
	path string
	data []byte
}

// fail returns the problem at node n; cause may be nil.
func (r *evalReader) fail(n *policy.Node, cause error, format string, args ...any) error {
	return &EvalFileError{File: r.path, Pos: n.Pos, Pointer: n.Pointer, Message: subject(n.Pointer) + fmt.Sprintf(format, args...), Err: cause}
}

// fields checks that n is an object with only the known members and returns them by
// name; example shows how the object is written.
func (r *evalReader) fields(n *policy.Node, example string, known ...string) (map[string]*policy.Node, error) {
	if n.Kind != policy.KindObject {
		return nil, r.fail(n, nil, "must be an object, found %s; write %s", kindText(n), example)
	}
	out := make(map[string]*policy.Node, len(n.Members))
	for _, m := range n.Members {
		if !slices.Contains(known, m.Key) {
			hint := ""
			if s := policy.Nearest(m.Key, known); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, &EvalFileError{File: r.path, Pos: m.KeyPos, Pointer: m.Value.Pointer,
				Message: fmt.Sprintf("%sunknown field %q%s; the fields are %s", subject(n.Pointer), m.Key, hint, strings.Join(known, ", "))}
		}
		out[m.Key] = m.Value
	}
	return out, nil
}

// str returns the string value of field key of f ("" when absent).
func (r *evalReader) str(f map[string]*policy.Node, key, example string) (string, error) {
	n := f[key]
	if n == nil {
		return "", nil
	}
	if n.Kind != policy.KindString {
		return "", r.fail(n, nil, "must be a string, found %s; write %q: %q", kindText(n), key, example)
	}
	return n.Str, nil
}

// strList returns the strings of field key of f, an array of strings (nil when absent).
func (r *evalReader) strList(f map[string]*policy.Node, key, example string) ([]string, error) {
	n := f[key]
	if n == nil {
		return nil, nil
	}
	if n.Kind != policy.KindArray {
		return nil, r.fail(n, nil, "must be an array of strings, found %s; write %q: [%q]", kindText(n), key, example)
	}
	out := make([]string, 0, len(n.Items))
	for _, it := range n.Items {
		if it.Kind != policy.KindString {
			return nil, r.fail(it, nil, "must be a string, found %s; write %q", kindText(it), example)
		}
		out = append(out, it.Str)
	}
	return out, nil
}

// literal is a scalar's JSON text, for "write it as a string" hints.
func literal(n *policy.Node) string {
	switch n.Kind {
	case policy.KindNumber, policy.KindString:
		return n.Str
	case policy.KindBool:
		if n.Bool {
			return "true"
		}
		return "false"
	default:
		return "..."
	}
}

// kindText names a value's JSON type with an article: "a number", "an object", "null".
func kindText(n *policy.Node) string {
	switch n.Kind {
	case policy.KindNull:
		return "null"
	case policy.KindBool:
		return "a boolean"
	case policy.KindArray, policy.KindObject:
		return "an " + n.Kind.String()
	default:
		return "a " + n.Kind.String()
	}
}

// subject starts a message about the value at pointer: "request.context: " or, for the
// root, "the input ".
func subject(pointer string) string {
	if pointer == "" {
		return "the input "
	}
	return where(pointer) + ": "
}

// where writes a JSON pointer the way the file reads: /attachments/0/scope is
// attachments[0].scope, /request/context/g:SourceIp is request.context["g:SourceIp"].
func where(pointer string) string {
	if pointer == "" {
		return "the input"
	}
	var b strings.Builder
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch {
		case tok != "" && strings.Trim(tok, "0123456789") == "":
			b.WriteString("[" + tok + "]")
		case isIdent(tok):
			if b.Len() > 0 {
				b.WriteString(".")
			}
			b.WriteString(tok)
		default:
			fmt.Fprintf(&b, "[%q]", tok)
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
