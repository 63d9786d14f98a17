package fleet

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// ErrEnv is wrapped, beside ErrConfig, by the errors of ExpandEnv that the environment
// causes rather than the file: a variable that is not set, a value that cannot be
// substituted.
var ErrEnv = errors.New("environment variable")

// minRedacted is the length below which Redact leaves a value alone: a shorter value is
// no secret worth the name, and replacing it (a "1", a "true") would garble every message.
const minRedacted = 4

// ExpandEnv replaces each ${NAME} in data, an OPA configuration file named name, with the
// value lookup gives NAME (nil lookup: nothing is set), as `opa run` does with its
// configuration file, but failing closed where OPA passes text through:
//
//   - a variable that is not set is an error (OPA keeps the text "${NAME}", which would
//     then be sent as a bearer token, say);
//   - "${}", a name that is not [A-Za-z_][A-Za-z0-9_]*, or a "${" not closed by "}" on
//     the same line is an error;
//   - a value holding a newline or a carriage return is an error: it would change the
//     structure of the YAML around it.
//
// A variable set to "" substitutes "", as in OPA. $NAME without braces is left as it is
// (OPA does not substitute it either), and so is a "$" before "${NAME}": there is no
// escape. Substitution is textual, as OPA's: a reference in a YAML comment must be set too.
// Text without "${" is returned as is (the same slice).
//
// Errors wrap ErrConfig (and ErrEnv when the environment is at fault) and say
// "name:LINE: ${NAME} ..." with the 1-based line of the reference; they never hold a
// value, since values are secrets (bearer tokens, client secrets). Neither the values nor
// the substituted text are ever logged; ExpandEnvRedact also gives what keeps them out of
// messages about the expanded configuration.
func ExpandEnv(name string, data []byte, lookup func(string) (string, bool)) ([]byte, error) {
	out, _, err := expandEnv(name, data, lookup)
	return out, err
}

// ExpandEnvRedact is ExpandEnv that also returns the Redact of the values it substituted,
// for OPA's errors and log lines about the expanded configuration (OPA quotes some
// settings in its errors, "unsupported algorithm '...'", and logs request headers other
// than Authorization at debug level). The Redact is never nil.
func ExpandEnvRedact(name string, data []byte, lookup func(string) (string, bool)) ([]byte, Redact, error) {
	out, values, err := expandEnv(name, data, lookup)
	if err != nil {
		return nil, nil, err
	}
	return out, newRedact(values), nil
}

// expandEnv is ExpandEnv; values maps each substituted value to the reference it came
// from.
func expandEnv(name string, data []byte, lookup func(string) (string, bool)) ([]byte, map[string]string, error) {
	if !bytes.Contains(data, []byte("${")) {
		return data, nil, nil
	}
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	values := map[string]string{}
	out := make([]byte, 0, len(data))
	rest := data
	for {
		i := bytes.Index(rest, []byte("${"))
		if i < 0 {
			return append(out, rest...), values, nil
		}
		line := 1 + bytes.Count(data[:len(data)-len(rest)+i], []byte("\n"))
		fail := func(env bool, format string, a ...any) error {
			return &envError{msg: fmt.Sprintf("%s:%d: ", name, line) + fmt.Sprintf(format, a...), env: env}
		}
		after := rest[i+2:]
		end := bytes.IndexAny(after, "}\n")
		if end < 0 || after[end] != '}' {
			return nil, nil, fail(false, "${ is not closed by } on the same line")
		}
		ref := string(rest[i : i+2+end+1])
		v := string(after[:end])
		switch {
		case v == "":
			return nil, nil, fail(false, "${} names no variable; write ${NAME}")
		case !validEnvName(v):
			return nil, nil, fail(false, "%s is not a variable name: use letters, digits and _, not starting with a digit", ref)
		}
		val, ok := lookup(v)
		if !ok {
			return nil, nil, fail(true, "%s is not set in the environment; set it, or write the value in the file", ref)
		}
		if strings.ContainsAny(val, "\r\n") {
			return nil, nil, fail(true, "the value of %s holds a line break, which would change the structure of the file; remove it, or write the value in the file", ref)
		}
		if val != "" {
			values[val] = ref
		}
		out = append(out, rest[:i]...)
		out = append(out, val...)
		rest = after[end+1:]
	}
}

// validEnvName reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// envError is an error of ExpandEnv: its message never holds a value.
type envError struct {
	msg string
	env bool // the environment is at fault, not the file
}

func (e *envError) Error() string { return ErrConfig.Error() + ": " + e.msg }

// Is makes the error ErrConfig, and ErrEnv when the environment is at fault.
func (e *envError) Is(target error) bool {
	return target == ErrConfig || e.env && target == ErrEnv
}

// Redact replaces, in a text, each value an OPA configuration's ${NAME} references were
// substituted with (ExpandEnvRedact) by its reference, as written or as Go would quote it;
// values shorter than 4 bytes are left alone. A nil Redact changes nothing. Safe for
// concurrent use.
type Redact func(string) string

// newRedact is the Redact of values (value → reference), longest value first so that a
// value holding another is replaced whole.
func newRedact(values map[string]string) Redact {
	var pairs []string
	for _, v := range slices.SortedFunc(maps.Keys(values), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	}) {
		if len(v) < minRedacted {
			continue
		}
		pairs = append(pairs, v, values[v])
		if q := strconv.Quote(v); q[1:len(q)-1] != v {
			pairs = append(pairs, q[1:len(q)-1], values[v])
		}
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// String returns s with the values replaced.
func (r Redact) String(s string) string {
	if r == nil {
		return s
	}
	return r(s)
}

// Error returns err with the values replaced in its message; errors.Is sees err's chain
// as before (not errors.As or Unwrap: an inner error's message would show the values). A
// nil err stays nil.
func (r Redact) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := r(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message had values replaced.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is reports whether err's chain holds target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
