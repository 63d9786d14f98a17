package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors wrapped by *BodyError, for errors.Is.
var (
	ErrBodyTooLarge = errors.New("request body too large")
	ErrBodyInvalid  = errors.New("request body cannot be resolved")
)

// BodyError says why a request body could not be used to resolve conditional actions.
type BodyError struct {
	API    string // API id
	Reason string // what is wrong and how to fix it
	Err    error  // ErrBodyTooLarge or ErrBodyInvalid
}

// Error implements error.
func (e *BodyError) Error() string {
	return fmt.Sprintf("%s: %s", e.API, e.Reason)
}

// Unwrap returns the sentinel.
func (e *BodyError) Unwrap() error { return e.Err }

// requirements resolves the actions and dependencies of a body-dependent API.
func (c *Catalog) requirements(a *API, body []byte) ([]string, []string, error) {
	bad := func(format string, args ...any) error {
		return &BodyError{API: a.ID, Err: ErrBodyInvalid, Reason: fmt.Sprintf(format, args...)}
	}
	if int64(len(body)) > c.maxBody {
		return nil, nil, &BodyError{API: a.ID, Err: ErrBodyTooLarge,
			Reason: fmt.Sprintf("request body is larger than %d bytes; the required actions depend on it, so it must be read whole (raise the body limit if this is legitimate)", c.maxBody)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, bad("request body is empty; the required actions of %s %s depend on it", a.Method, a.Path)
	}
	if !json.Valid(body) {
		return nil, nil, bad("request body is not valid JSON; the required actions of %s %s depend on it", a.Method, a.Path)
	}
	actions := slices.Clone(a.Actions)
	deps := slices.Clone(a.Dependencies)
	var fields map[string]json.RawMessage // decoded lazily: top-level object members
	var patches []patchPaths
	for _, cond := range a.Conditional {
		var hit bool
		switch cond.Rule.Kind {
		case RuleBodyFieldIn, RuleBodyFieldPresent:
			if fields == nil {
				f, err := objectFields(body)
				if err != nil {
					return nil, nil, bad("%v", err)
				}
				fields = f
			}
			raw, present, err := lookupField(fields, cond.Rule.Field)
			if err != nil {
				return nil, nil, bad("%v", err)
			}
			if cond.Rule.Kind == RuleBodyFieldPresent {
				hit = present
				break
			}
			value := cond.Rule.Default
			if present {
				var s string
				if err := json.Unmarshal(raw, &s); err != nil || raw[0] != '"' {
					return nil, nil, bad("body field %q must be a string, one of %s", cond.Rule.Field, strings.Join(fieldValues(a, cond.Rule.Field), ", "))
				}
				value = s
			}
			if !slices.Contains(fieldValues(a, cond.Rule.Field), value) {
				// The value itself is never quoted: errors reach logs and clients.
				return nil, nil, bad("body field %q has a value that is not one of %s", cond.Rule.Field, strings.Join(fieldValues(a, cond.Rule.Field), ", "))
			}
			hit = slices.Contains(cond.Rule.In, value)
		case RuleJSONPatchPath:
			if patches == nil {
				p, err := jsonPatchPaths(body)
				if err != nil {
					return nil, nil, bad("%v", err)
				}
				patches = p
			}
			for _, p := range patches {
				if pointerRelated(p.path, cond.Rule.Path) || (p.hasFrom && pointerRelated(p.from, cond.Rule.Path)) {
					hit = true
					break
				}
			}
		}
		if hit {
			actions = appendUnique(actions, cond.Action)
			deps = appendUnique(deps, cond.Dependencies...)
		}
	}
	return actions, deps, nil
}

// fieldValues lists every value the body_field_in rules of a accept for field.
func fieldValues(a *API, field string) []string {
	var out []string
	for _, c := range a.Conditional {
		if c.Rule.Kind == RuleBodyFieldIn && c.Rule.Field == field {
			out = append(out, c.Rule.In...)
		}
	}
	return out
}

// objectFields decodes the members of a top-level JSON object. Keys that are equal when
// compared case-insensitively are an error: servers disagree on which one wins.
func objectFields(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("request body must be a JSON object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("request body: %v", err)
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("request body: %v", err)
		}
		for k := range out {
			if strings.EqualFold(k, key) {
				// Key names are not quoted: a body's keys may carry data too.
				return nil, errors.New("request body has a key twice (compared case-insensitively); send each key once")
			}
		}
		out[key] = v
	}
	return out, nil
}

// lookupField finds field exactly; a key that differs only in case is an error (ambiguous).
func lookupField(fields map[string]json.RawMessage, field string) (json.RawMessage, bool, error) {
	if v, ok := fields[field]; ok {
		return v, true, nil
	}
	for k := range fields {
		if strings.EqualFold(k, field) {
			return nil, false, fmt.Errorf("request body has %q; the field is spelled %q (case matters)", k, field)
		}
	}
	return nil, false, nil
}

type patchPaths struct {
	path, from string
	hasFrom    bool
}

// jsonPatchPaths extracts the path (and from) of every operation of a JSON Patch document.
func jsonPatchPaths(body []byte) ([]patchPaths, error) {
	var ops []json.RawMessage
	if err := json.Unmarshal(body, &ops); err != nil {
		return nil, errors.New("request body must be a JSON Patch array of operations")
	}
	if len(ops) == 0 {
		return nil, errors.New("request body is an empty JSON Patch array")
	}
	out := make([]patchPaths, 0, len(ops))
	for i, raw := range ops {
		f, err := objectFields(raw)
		if err != nil {
			return nil, fmt.Errorf("JSON Patch operation %d: %v", i, err)
		}
		var p patchPaths
		rawPath, ok, err := lookupField(f, "path")
		if err != nil || !ok {
			return nil, fmt.Errorf("JSON Patch operation %d: missing \"path\"", i)
		}
		if err := json.Unmarshal(rawPath, &p.path); err != nil {
			return nil, fmt.Errorf("JSON Patch operation %d: \"path\" must be a string", i)
		}
		if rawFrom, ok, err := lookupField(f, "from"); err != nil {
			return nil, fmt.Errorf("JSON Patch operation %d: %v", i, err)
		} else if ok {
			if err := json.Unmarshal(rawFrom, &p.from); err != nil {
				return nil, fmt.Errorf("JSON Patch operation %d: \"from\" must be a string", i)
			}
			p.hasFrom = true
		}
		out = append(out, p)
	}
	return out, nil
}

// pointerRelated reports whether JSON pointer p is target, lies below it, or is an ancestor
// of it (e.g. "" replaces the whole document). Pointers are unescaped (~1 → /, ~0 → ~) and
// compared case-insensitively, which can only add a required action, never drop one.
func pointerRelated(p, target string) bool {
	pt := pointerTokens(p)
	tt := pointerTokens(target)
	n := min(len(pt), len(tt))
	for i := 0; i < n; i++ {
		if !strings.EqualFold(pt[i], tt[i]) {
			return false
		}
	}
	return true
}

func pointerTokens(p string) []string {
	if p == "" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}
