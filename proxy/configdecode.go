package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imsguard/imsguard/policy"
)

// ErrTOMLSyntax is wrapped by the error of a configuration file that is not valid TOML; it
// wraps ErrInvalidConfig in turn, so errors.Is(err, ErrInvalidConfig) holds for it too.
var ErrTOMLSyntax error = &kindError{msg: "TOML syntax error", parent: ErrInvalidConfig}

// kindError is a sentinel error that is a kind of its parent.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

// syntaxError is the ConfigError of a file that is not valid TOML, or nil: file, line and
// column (in code points, as the policy parser counts them) where the parser stopped.
// Decoding into nothing parses the whole file and converts no value, so a parse error here
// is the file's TOML, not one of its values.
func syntaxError(name string, data []byte) *ConfigError {
	var pe toml.ParseError
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&struct{}{}); !errors.As(err, &pe) {
		return nil
	}
	at := policy.PosAt(data, pe.Position.Start)
	return &ConfigError{File: name, Line: at.Line, Column: at.Col, Err: fmt.Errorf("%w: %s", ErrTOMLSyntax, pe.Message)}
}

// valueError is the ConfigError of a value the decoder refused (an invalid duration
// string), or nil.
func valueError(name string, err error) *ConfigError {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return nil
	}
	msg := pe.Message
	if strings.HasPrefix(msg, "invalid duration") {
		msg += `: write a duration with a unit, such as "500ms", "10s" or "1m30s"`
	}
	return &ConfigError{File: name, Line: pe.Position.Line, Key: pe.LastKey, Err: fmt.Errorf("%w: %s", ErrInvalidConfig, msg)}
}

var durationType = reflect.TypeFor[time.Duration]()

// fieldType returns the Go type of the configuration field key names, following toml tags
// through structs, pointers and slices (arrays of tables); nil when key names no field
// (an entry of a map such as modes, or an unknown key).
func fieldType(t reflect.Type, key []string) reflect.Type {
	for _, part := range key {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := tomlField(t, part)
		if !ok {
			return nil
		}
		t = f.Type
	}
	return t
}

// tomlField finds the field of struct type t whose toml tag is name.
func tomlField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// tomlKeys lists the toml tags of struct type t (after pointers and slices), nil when t
// is not a struct.
func tomlKeys(t reflect.Type) []string {
	for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice) {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// checkDurationTypes rejects a duration written as a number: BurntSushi/toml reads
// `decision = 5` as 5 nanoseconds, which no one means. Durations are strings with a unit;
// the error says which key, where, and what to write instead.
func checkDurationTypes(name string, data []byte, md toml.MetaData, cfg *Config) error {
	root := reflect.TypeFor[Config]()
	for _, k := range md.Keys() {
		if fieldType(root, k) != durationType {
			continue
		}
		typ := md.Type(k...)
		if typ == "String" || typ == "" {
			continue
		}
		last := k[len(k)-1]
		fix := fmt.Sprintf(`write it as a string with a unit, e.g. %s = "10s"`, last)
		if v, ok := durationAt(cfg, k); ok && typ == "Integer" {
			fix = fmt.Sprintf("a bare %d would be read as %d nanoseconds; write %s = \"%ds\"", int64(v), int64(v), last, int64(v))
		}
		return &ConfigError{File: name, Line: keyLine(data, k, -1), Key: k.String(),
			Err: fmt.Errorf("%w: a duration is a string with a unit (ms, s, m, h); %s", ErrInvalidConfig, fix)}
	}
	return nil
}

// durationAt reads the decoded duration at key (structs and pointers only).
func durationAt(cfg *Config, key []string) (time.Duration, bool) {
	v := reflect.ValueOf(cfg).Elem()
	for _, part := range key {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return 0, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return 0, false
		}
		f, ok := tomlField(v.Type(), part)
		if !ok {
			return 0, false
		}
		v = v.FieldByIndex(f.Index)
	}
	d, ok := v.Interface().(time.Duration)
	return d, ok
}

// unknownKeyError is the error of a key no table of the configuration has, with the key
// it was probably meant to be: a near spelling in the same table, or the tables where a
// key of that name does exist.
func unknownKeyError(name string, data []byte, k toml.Key) *ConfigError {
	msg := "unknown key"
	root := reflect.TypeFor[Config]()
	parent, last := k[:len(k)-1], k[len(k)-1]
	if pt := fieldType(root, parent); pt != nil {
		if near := policy.Nearest(last, tomlKeys(pt)); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		} else if where := tablesWith(root, nil, last); len(where) > 0 {
			msg += fmt.Sprintf("; %s is a key of %s", last, strings.Join(where, " and "))
		}
	}
	return &ConfigError{File: name, Line: keyLine(data, k, -1), Key: k.String(),
		Err: fmt.Errorf("%w: %s (see docs/proxy.md for the keys)", ErrInvalidConfig, msg)}
}

// tablesWith lists the tables (as "[a.b]", the top level as "the top level") under t that
// have a key named name.
func tablesWith(t reflect.Type, path []string, name string) []string {
	var out []string
	if slices.Contains(tomlKeys(t), name) {
		where := "the top level"
		if len(path) > 0 {
			where = "[" + strings.Join(path, ".") + "]"
		}
		out = append(out, where)
	}
	for _, key := range tomlKeys(t) {
		ft := fieldType(t, []string{key})
		if ft == nil || ft == durationType {
			continue
		}
		if tomlKeys(ft) != nil {
			out = append(out, tablesWith(ft, append(slices.Clone(path), key), name)...)
		}
	}
	return out
}
