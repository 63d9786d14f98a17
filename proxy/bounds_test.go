package proxy

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// boundConfig is minimalConfig with key set to the TOML value v.
func boundConfig(key, v string) string {
	k := strings.Split(key, ".")
	if len(k) == 1 {
		return k[0] + " = " + v + "\n" + minimalConfig
	}
	return minimalConfig + "[" + strings.Join(k[:len(k)-1], ".") + "]\n" + k[len(k)-1] + " = " + v + "\n"
}

// boundValue writes v of b's unit as TOML.
func boundValue(b bound, v int64) string {
	if b.unit == unitDuration {
		return fmt.Sprintf("%q", time.Duration(v).String())
	}
	return fmt.Sprint(v)
}

// TestBoundsEnforced: every bounded key accepts its ends (and 0 where 0 means something)
// and refuses one step past each end, naming the key, its line and the range.
func TestBoundsEnforced(t *testing.T) {
	for _, b := range bounds {
		t.Run(b.key, func(t *testing.T) {
			ok := []int64{b.min, b.max}
			if b.zero != "" {
				ok = append(ok, 0)
			}
			for _, v := range ok {
				_, err := ParseConfig("c.toml", []byte(boundConfig(b.key, boundValue(b, v))))
				assert.NoError(t, err, "%s = %s is in range", b.key, boundValue(b, v))
			}
			for _, v := range []int64{b.min - 1, b.max + 1} {
				if v == 0 && b.zero != "" {
					continue
				}
				text := boundConfig(b.key, boundValue(b, v))
				_, err := ParseConfig("c.toml", []byte(text))
				var ce *ConfigError
				require.ErrorAs(t, err, &ce, "%s = %s is out of range", b.key, boundValue(b, v))
				assert.ErrorIs(t, err, ErrInvalidConfig)
				assert.Equal(t, b.key, ce.Key)
				line := strings.Count(text, "\n") // the last line, or the first for a top-level key
				if !strings.Contains(b.key, ".") {
					line = 1
				}
				assert.Equal(t, line, ce.Line, "the line of the key: %v", err)
				assert.Contains(t, err.Error(), b.allowed())
			}
		})
	}
}

// TestBoundsCoverEveryNumericKey: every duration and number of the configuration has a
// bound, so no key can take a value nobody checked (a new key must be added to bounds,
// proxy/bounds.go, and its range documented in docs/proxy.md).
func TestBoundsCoverEveryNumericKey(t *testing.T) {
	var keys []string
	var walk func(t reflect.Type, path []string)
	walk = func(ty reflect.Type, path []string) {
		for i := range ty.NumField() {
			f := ty.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			key := append(slices.Clone(path), tag)
			ft := f.Type
			switch {
			case ft == durationType, ft.Kind() == reflect.Int, ft.Kind() == reflect.Int64:
				keys = append(keys, strings.Join(key, "."))
			case ft.Kind() == reflect.Struct:
				walk(ft, key)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), key)
			case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), key)
			}
		}
	}
	walk(reflect.TypeFor[Config](), nil)
	var bounded []string
	for _, b := range bounds {
		bounded = append(bounded, b.key)
	}
	require.NotEmpty(t, keys)
	for _, k := range keys {
		assert.Contains(t, bounded, k, "%s has no bound: add it to bounds (proxy/bounds.go) with its range and state the range in docs/proxy.md", k)
	}
	defaults := Defaults()
	for _, b := range bounds {
		assert.NoError(t, b.check(b.get(&defaults)), "the default of %s is in its range", b.key)
	}
}

// TestBoundsDocumented: the configuration reference of docs/proxy.md states every range in
// the row of its key, as "(range: 1s … 1h)".
func TestBoundsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/proxy.md")
	require.NoError(t, err)
	rows := map[string]string{} // dotted key → its row
	tick := regexp.MustCompile("`([^`]+)`")
	for line := range strings.SplitSeq(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		table := ""
		for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
			name := m[1]
			if strings.HasPrefix(name, "[") {
				table = strings.Trim(name, "[]") + "."
				continue
			}
			rows[table+name] = line
		}
	}
	for _, b := range bounds {
		row, ok := rows[b.key]
		if !assert.True(t, ok, "docs/proxy.md has no row for %s", b.key) {
			continue
		}
		assert.Contains(t, row, "(range: "+b.rangeText()+")", "docs/proxy.md states the range of %s", b.key)
	}
}
