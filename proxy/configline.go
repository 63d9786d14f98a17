package proxy

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyLine finds the 1-based line of key in a TOML document for error messages, or 0.
// index selects the occurrence (0-based) of the table that holds the key when that table
// is an array of tables ([[principals]]); -1 takes the first occurrence. It understands
// table headers, dotted and quoted keys; it does not need to be a full TOML parser because
// the document has already been decoded successfully.
func keyLine(data []byte, key toml.Key, index int) int {
	if len(key) == 0 {
		return 0
	}
	var cur []string
	seen := map[string]int{}
	occurrence := 0
	fallback, header := 0, 0 // a line naming the key elsewhere; the header of its table
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '[' {
			inner := strings.TrimLeft(t, "[")
			if j := strings.IndexByte(inner, ']'); j >= 0 {
				inner = inner[:j]
			}
			cur = splitKey(inner)
			h := strings.Join(cur, ".")
			occurrence = seen[h]
			seen[h]++
			if equalKey(cur, key) && (index < 0 || occurrence == index) {
				return i + 1
			}
			if header == 0 && equalKey(cur, key[:len(key)-1]) && (index < 0 || occurrence == index) {
				header = i + 1
			}
			continue
		}
		name, _, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		full := append(append([]string(nil), cur...), splitKey(name)...)
		if equalKey(full, key) && (index < 0 || occurrence == index) {
			return i + 1
		}
		if fallback == 0 && len(full) > 0 && full[len(full)-1] == key[len(key)-1] {
			fallback = i + 1
		}
	}
	if header > 0 {
		return header
	}
	return fallback
}

// splitKey splits a dotted TOML key, removing quotes and surrounding spaces.
func splitKey(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ".") {
		part = strings.TrimSpace(part)
		if uq, err := strconv.Unquote(part); err == nil {
			part = uq
		} else {
			part = strings.Trim(part, `'`)
		}
		out = append(out, part)
	}
	return out
}

func equalKey(a []string, b toml.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
