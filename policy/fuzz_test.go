package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// fuzzSeeds are small inputs that reach every branch of the parser.
var fuzzSeeds = []string{
	``, ` `, `{}`, `[]`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1 "b":2}`, `{"a":[1,2`, `"\ud83d\ude00"`,
	`"\ud83d"`, `"\ude00\u0041"`, `"\q"`, `"\u12G4"`, "\"a\tb\"", "\"a\nb\"", "\xEF\xBB\xBF{}", "[\"\xff\"]",
	"[\xff]", `01`, `-`, `1.`, `1e`, `1E+`, `-0.5e-7`, `+1`, `.5`, `tru`, `True`, `NaN`, `nullx`, `{}{}`,
	`{} x`, `{'a':1}`, `{a:1}`, `// c`, `{"a":1,"a":2}`, `{"é😀":[1 2]}`, `[[[[[[[[[[]]]]]]]]]]`,
	`{"a/b~c":{"":null}}`, `"\/\b\f\n\r\t\\\""`,
	`{"role":{"display_name":"x","type":"XA","policy":{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"]}]}}}`,
	`{"roles":[{"policy":{"Version":"1.0","Statement":[],"Depends":[{"catalog":"OBS","display_name":"Tenant Administrator"}]}},3]}`,
	`{"policy_document":"{\"Version\":\"5.0\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"*\"],\"Condition\":{\"Bool\":{\"ims:Encrypted\":\"true\"}}}]}"}`,
	`{"policy_document":"{\n\"Version\": \"5.0\",\u000a\"Statement\": [\"\ud83d\ude00\" 1]}"}`,
	`{"policy_document":"[1,]"}`, `{"policy_document":""}`, "{\"policy_document\":\"\\\"\xff\\\"\"}",
	`{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["iam:agencies:assume"],"Resource":{"uri":["/iam/agencies/x"]}}]}`,
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	paths, err := filepath.Glob("testdata/*.json")
	require.NoError(f, err)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
	}
}

func FuzzParseJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		root, probs := ParseJSON(data)
		checkProblems(t, data, probs)
		if root != nil {
			checkTree(t, data, root, !hasDupKeys(data))
		}
		body := bytes.TrimPrefix(data, []byte(bom))
		if len(probs) == 0 {
			require.True(t, json.Valid(body), "accepted invalid JSON")
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var want any
			require.NoError(t, dec.Decode(&want))
			require.Equal(t, want, root.Plain())
		}
		// Inputs over 16 KiB may exceed the pointer budget; deeper than
		// maxDepth is rejected on purpose.
		if json.Valid(body) && utf8.Valid(data) && !hasDupKeys(body) && nesting(body) <= maxDepth && len(data) <= 16<<10 {
			for _, p := range probs {
				require.NotEqual(t, CodeJSON, p.Code, "rejected valid JSON: %v", p)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file := Parse("fuzz.json", data)
		checkProblems(t, data, file.Problems)
		table := positions(data)
		for _, p := range file.Problems {
			_, _ = file.PosOf(p.Pointer)
		}
		for _, d := range file.Documents {
			if d.Root == nil {
				continue
			}
			count := 0
			walkNodes(d.Root, func(n *Node) {
				count++
				checkPos(t, table, n.Pos)
				if count < 2000 {
					pos, _ := file.PosOf(n.Pointer)
					checkPos(t, table, pos)
				}
			})
			for _, s := range d.Statements {
				for _, c := range s.Condition {
					require.NotNil(t, c.OpNode)
					require.NotNil(t, c.KeyNode)
				}
			}
		}
	})
}

// checkProblems verifies every problem lies within the input.
func checkProblems(t *testing.T, data []byte, probs []Problem) {
	t.Helper()
	table := positions(data)
	for _, p := range probs {
		require.NotEmpty(t, p.Message)
		require.Contains(t, []string{CodeJSON, CodeJSONDupKey}, p.Code)
		checkPos(t, table, p.Pos)
	}
}

// checkTree verifies the position of every node against a naive
// computation, that it starts where a value can start, and (without
// duplicate keys) that its pointer finds it again.
func checkTree(t *testing.T, data []byte, root *Node, unique bool) {
	t.Helper()
	table := positions(data)
	count := 0
	walkNodes(root, func(n *Node) {
		count++
		checkPos(t, table, n.Pos)
		require.Less(t, n.Pos.Offset, len(data))
		require.Contains(t, "{[\"-0123456789tfn", string(data[n.Pos.Offset]), "node at %v", n.Pos)
		if unique && count < 2000 { // Find is linear in the width of objects
			require.Same(t, n, root.Find(n.Pointer), "pointer %q", n.Pointer)
		}
	})
}

// positions computes naively the position of every byte offset of data
// that starts a character (Pos{} for the others), plus the end.
func positions(data []byte) []Pos {
	table := make([]Pos, len(data)+1)
	line, col, i := 1, 1, 0
	if bytes.HasPrefix(data, []byte(bom)) {
		i = len(bom)
		for j := range i {
			table[j] = Pos{Line: 1, Col: 1, Offset: j}
		}
	}
	for i < len(data) {
		table[i] = Pos{Line: line, Col: col, Offset: i}
		_, size := utf8.DecodeRune(data[i:])
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	table[len(data)] = Pos{Line: line, Col: col, Offset: len(data)}
	return table
}

// checkPos verifies pos is within the input and agrees with the table.
func checkPos(t *testing.T, table []Pos, pos Pos) {
	t.Helper()
	require.GreaterOrEqual(t, pos.Offset, 0)
	require.Less(t, pos.Offset, len(table))
	require.Equal(t, table[pos.Offset], pos)
}

func walkNodes(n *Node, fn func(*Node)) {
	fn(n)
	for _, it := range n.Items {
		walkNodes(it, fn)
	}
	for _, m := range n.Members {
		walkNodes(m.Value, fn)
	}
}

// hasDupKeys reports whether some object in data repeats a key, using
// encoding/json's tokenizer (false for invalid JSON).
func hasDupKeys(data []byte) bool {
	type frame struct {
		keys      map[string]bool
		obj, want bool // want: the next token of an object is a key
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*frame
	valueDone := func() {
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].want = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if len(stack) > 0 && stack[len(stack)-1].want {
			top := stack[len(stack)-1]
			if key, ok := tok.(string); ok {
				if top.keys[key] {
					return true
				}
				top.keys[key], top.want = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, obj: true, want: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// nesting returns the deepest nesting of arrays and objects in data.
func nesting(data []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
