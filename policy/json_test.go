package policy

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseJSONSyntaxErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		line, col int
		msg       string // substring of the message
		pointer   string
	}{
		{"empty", "", 1, 1, "empty input; expected a JSON value", ""},
		{"only white space", " \n\t", 2, 2, "only white space", ""},
		{"bom only", "\xEF\xBB\xBF", 1, 1, "empty input", ""},
		{"object trailing comma", "{\n  \"Version\": \"1.1\",\n}", 3, 1, "trailing comma is not allowed in JSON); remove the comma at 2:19", ""},
		{"array trailing comma", "{\"Action\": [\"ims:images:list\",\n ]}", 2, 2, "expected a value after ',' but found ']' (trailing comma is not allowed in JSON); remove the comma at 1:30", "/Action"},
		{"missing comma between members", "{\"a\": 1\n \"b\": 2}", 2, 2, "expected ',' or '}' after object member, found '\"'; add the missing ','", ""},
		{"missing comma between elements", `["a" "b"]`, 1, 6, "expected ',' or ']' after array element, found '\"'; add the missing ','", ""},
		{"missing colon", `{"Effect" "Allow"}`, 1, 11, `expected ':' after object key "Effect", found '"'`, "/Effect"},
		{"missing value", `{"Effect": }`, 1, 12, "expected a JSON value (a string in double quotes, a number, an object, an array, true, false or null), found '}'", "/Effect"},
		{"unclosed object", `{"a": 1`, 1, 8, "unexpected end of input; expected ',' or '}' (the object opened at 1:1 is not closed; add the missing '}')", ""},
		{"unclosed array", "{\"a\": [\n1", 2, 2, "the array opened at 1:7 is not closed; add the missing ']'", "/a"},
		{"unclosed after colon", `{"a":`, 1, 6, `expected a value for key "a"`, "/a"},
		{"unclosed after open brace", `{`, 1, 2, "expected an object key in double quotes or '}'", ""},
		{"unclosed after comma", `{"a":1,`, 1, 8, "expected an object key in double quotes (the object", ""},
		{"unclosed string", `{"a": "abc`, 1, 11, "unexpected end of input in the string started at 1:7; add the closing '\"'", "/a"},
		{"line break in string", "{\"a\": \"abc\n\"}", 1, 11, "the string started at 1:7 is not closed before the end of the line", "/a"},
		{"tab in string", "[\"a\tb\"]", 1, 4, `control character U+0009 must be escaped in a string; write \t`, "/0"},
		{"control character in string", "[\"a\x01\"]", 1, 4, `write \u0001`, "/0"},
		{"single quoted string", `{"a": 'b'}`, 1, 7, "strings must be enclosed in double quotes", "/a"},
		{"single quoted key", `{'a': 1}`, 1, 2, "object keys must be enclosed in double quotes, not single quotes", ""},
		{"bare key", `{Version: "1.1"}`, 1, 2, `object key Version must be enclosed in double quotes; write "Version"`, ""},
		{"number key", `{1: 2}`, 1, 2, "object key 1 must be enclosed", ""},
		{"comment", "{\n// allow listing\n}", 2, 1, "comments are not allowed in JSON", ""},
		{"comment as value", `[/* x */]`, 1, 2, "comments are not allowed in JSON", "/0"},
		{"capitalised literal", `{"a": True}`, 1, 7, `invalid literal "True"; JSON literals are lower case, write true`, "/a"},
		{"truncated literal", `[tru]`, 1, 2, `invalid literal "tru"; expected true, false or null`, "/0"},
		{"literal with suffix", `[nullx]`, 1, 2, `unexpected word "nullx"`, "/0"},
		{"NaN", `[NaN]`, 1, 2, `"NaN" is not a valid JSON number`, "/0"},
		{"unknown word", `[allow]`, 1, 2, `unexpected word "allow"`, "/0"},
		{"leading zero", `{"n": 012}`, 1, 7, `invalid number "012": leading zeros are not allowed`, "/n"},
		{"negative leading zero", `[-01]`, 1, 2, `invalid number "-01": leading zeros`, "/0"},
		{"dot without fraction", `[1.]`, 1, 2, `invalid number "1.": expected a digit after the decimal point; write 1.0 or 1`, "/0"},
		{"dot then exponent", `[12.e5]`, 1, 2, `invalid number "12.e5": expected a digit after the decimal point; write 12.0 or 12`, "/0"},
		{"lone minus", `[-]`, 1, 2, `invalid number "-": expected a digit after '-'`, "/0"},
		{"minus letter", `[-a]`, 1, 2, `expected a digit after '-'`, "/0"},
		{"empty exponent", `[1e]`, 1, 2, `invalid number "1e": expected a digit in the exponent`, "/0"},
		{"exponent sign only", `[1E+]`, 1, 2, `expected a digit in the exponent`, "/0"},
		{"plus sign", `[+1]`, 1, 2, "a number must not start with '+'", "/0"},
		{"leading dot", `[.5]`, 1, 2, "a number must start with a digit; write 0.5", "/0"},
		{"hex number", `[0x1F]`, 1, 3, "expected ',' or ']' after array element, found 'x'", ""},
		{"invalid escape", `{"a": "C:\windows"}`, 1, 10, `invalid escape '\' followed by 'w' in string`, "/a"},
		{"short unicode escape", `["\u12"]`, 1, 3, `invalid escape '\u12': \u must be followed by 4 hexadecimal digits`, "/0"},
		{"bad hex in unicode escape", `["\u12G4"]`, 1, 3, `invalid escape '\u12G4'`, "/0"},
		{"escape at end", `["\`, 1, 4, "unexpected end of input; expected an escape sequence", "/0"},
		{"two values", "{}\n{}", 2, 1, "more than one JSON value: a second value starts at 2:1", ""},
		{"two strings", `"a" "b"`, 1, 5, "more than one JSON value", ""},
		{"trailing garbage", "{} x", 1, 4, "unexpected 'x' after the end of the JSON value; remove it", ""},
		{"extra closing brace", `{"a":1}}`, 1, 8, "unexpected '}' after the end of the JSON value", ""},
		{"unexpected colon", `[:]`, 1, 2, "found ':'", "/0"},
		{"nbsp outside string", "{\u00a0}", 1, 2, "found U+00A0", ""},
		{"unicode before error", `{"é😀": [1 2]}`, 1, 11, "expected ',' or ']' after array element, found '2'", "/é😀"},
		{"unicode value before error", "{\"a\": \"日本語\",\n \"b\": ,}", 2, 7, "expected a JSON value", "/b"},
		{"bom before error", "\xEF\xBB\xBF{\"a\" 1}", 1, 6, `expected ':' after object key "a"`, "/a"},
		{"invalid utf-8 outside string", "{\"a\": 1\xff}", 1, 8, "found invalid UTF-8 byte 0xFF", ""},
		{"invalid utf-8 as value", "[\xc3]", 1, 2, "found invalid UTF-8 byte 0xC3", "/0"},
		{"pointer escaping", `{"a/b": {"c~d": [0, }}`, 1, 21, "expected a JSON value", "/a~1b/c~0d/1"},
		{"crlf lines", "{\r\n\"a\": 1,\r\n}", 3, 1, "trailing comma", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := ParseJSON([]byte(tt.in))
			require.Len(t, probs, 1, "problems: %v", probs)
			p := probs[0]
			assert.Equal(t, CodeJSON, p.Code)
			assert.Equal(t, SeverityError, p.Severity)
			assert.Equal(t, tt.line, p.Pos.Line, "line; %v", p)
			assert.Equal(t, tt.col, p.Pos.Col, "column; %v", p)
			assert.Contains(t, p.Message, tt.msg)
			assert.Equal(t, tt.pointer, p.Pointer)
			assert.Equal(t, strings.ToLower(p.Message[:1]), p.Message[:1], "messages start in lower case")
		})
	}
}

func TestParseJSONValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"object", `{"Version": "1.1", "n": null, "t": true, "f": false}`, map[string]any{"Version": "1.1", "n": nil, "t": true, "f": false}},
		{"empty containers", `{"a": {}, "b": []}`, map[string]any{"a": map[string]any{}, "b": []any{}}},
		{"scalar root", ` "x" `, "x"},
		{"numbers", `[0, -0, 1, -12, 1.5, -0.25, 1e5, 1E+5, 1e-05, 2.5E3, 123456789012345678901234567890]`,
			[]any{json.Number("0"), json.Number("-0"), json.Number("1"), json.Number("-12"), json.Number("1.5"), json.Number("-0.25"),
				json.Number("1e5"), json.Number("1E+5"), json.Number("1e-05"), json.Number("2.5E3"), json.Number("123456789012345678901234567890")}},
		{"simple escapes", `["\"\\\/\b\f\n\r\t"]`, []any{"\"\\/\b\f\n\r\t"}},
		{"unicode escapes", `["\u0041\u00e9\u65E5"]`, []any{"Aé日"}},
		{"surrogate pair", `["\ud83d\ude00"]`, []any{"😀"}},
		{"lone high surrogate", `["\ud83dx"]`, []any{"\uFFFDx"}},
		{"lone low surrogate", `["\ude00"]`, []any{"\uFFFD"}},
		{"high surrogate then non-surrogate escape", `["\ud83d\u0041"]`, []any{"\uFFFDA"}},
		{"two high surrogates", `["\ud83d\ud83d\ude00"]`, []any{"\uFFFD😀"}},
		{"raw unicode", `["é😀日本"]`, []any{"é😀日本"}},
		{"escaped slash in key", `{"a\/b": 1}`, map[string]any{"a/b": json.Number("1")}},
		{"bom", "\xEF\xBB\xBF{\"a\": 1}", map[string]any{"a": json.Number("1")}},
		{"all white space kinds", " \t\r\n[ 1 ,\t2 ]\r\n", []any{json.Number("1"), json.Number("2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, probs := ParseJSON([]byte(tt.in))
			require.Empty(t, probs)
			require.NotNil(t, n)
			assert.Equal(t, tt.want, n.Plain())
		})
	}
}

func TestParseJSONPositions(t *testing.T) {
	in := "\xEF\xBB\xBF{\n\t\"é😀\": [1, \"x\"],\n  \"b\": {\"c/d~\": null}\n}"
	root, probs := ParseJSON([]byte(in))
	require.Empty(t, probs)
	tests := []struct {
		pointer        string
		line, col, off int
		kind           Kind
	}{
		{"", 1, 1, 3, KindObject},
		{"/é😀", 2, 8, 16, KindArray},
		{"/é😀/0", 2, 9, 17, KindNumber},
		{"/é😀/1", 2, 12, 20, KindString},
		{"/b", 3, 8, 33, KindObject},
		{"/b/c~1d~0", 3, 17, 42, KindNull},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			n := root.Find(tt.pointer)
			require.NotNil(t, n)
			assert.Equal(t, tt.pointer, n.Pointer)
			assert.Equal(t, Pos{Line: tt.line, Col: tt.col, Offset: tt.off}, n.Pos)
			assert.Equal(t, tt.kind, n.Kind)
		})
	}
	assert.Equal(t, Pos{Line: 2, Col: 2, Offset: 6}, root.Members[0].KeyPos)
	assert.Equal(t, "é😀", root.Members[0].Key)
}

func TestParseJSONDuplicateKeys(t *testing.T) {
	in := "{\n  \"Effect\": \"Allow\",\n  \"Effect\": \"Deny\",\n  \"s\": {\"k\": 1, \"\\u006b\": 2}\n}"
	root, probs := ParseJSON([]byte(in))
	require.Len(t, probs, 2)
	assert.Equal(t, Problem{
		Code:     CodeJSONDupKey,
		Severity: SeverityError,
		Message:  `duplicate key "Effect" (first defined at 2:3); remove one of them, JSON readers disagree on which one wins`,
		Pos:      Pos{Line: 3, Col: 3, Offset: 25},
		Pointer:  "/Effect",
	}, probs[0])
	assert.Equal(t, "/s/k", probs[1].Pointer, "keys are compared after decoding escapes")
	assert.Equal(t, Pos{Line: 4, Col: 17, Offset: 59}, probs[1].Pos)

	require.NotNil(t, root)
	assert.Len(t, root.Members, 3, "duplicates are kept")
	assert.Equal(t, "Deny", root.Get("Effect").Str, "the last duplicate wins")
	assert.Equal(t, map[string]any{"Effect": "Deny", "s": map[string]any{"k": json.Number("2")}}, root.Plain())
}

func TestParseJSONDuplicateKeysLargeObject(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 40 {
		b.WriteString(`"k` + strconv.Itoa(i) + `": 1, `)
	}
	b.WriteString(`"k1": 2, "new": 3, "k1": 4}`)
	_, probs := ParseJSON([]byte(b.String()))
	require.Len(t, probs, 2, "two repeats of k1 above the map threshold")
	for _, p := range probs {
		assert.Equal(t, CodeJSONDupKey, p.Code)
		assert.Contains(t, p.Message, `duplicate key "k1" (first defined at 1:11)`)
	}
}

func TestParseJSONInvalidUTF8InString(t *testing.T) {
	in := "{\"a\": \"x\xffy\", \"b\": \"\xfe\"}"
	root, probs := ParseJSON([]byte(in))
	require.Len(t, probs, 1, "reported once per input")
	assert.Equal(t, CodeJSON, probs[0].Code)
	assert.Equal(t, Pos{Line: 1, Col: 9, Offset: 8}, probs[0].Pos)
	assert.Equal(t, "/a", probs[0].Pointer)
	assert.Contains(t, probs[0].Message, "invalid UTF-8 byte 0xFF in string; save the file as UTF-8")
	require.NotNil(t, root, "parsing goes on")
	assert.Equal(t, "x\uFFFDy", root.Get("a").Str)
	assert.Equal(t, "\uFFFD", root.Get("b").Str)
}

func TestParseJSONDepth(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		ok    bool
	}{
		{"100 levels", 100, true},
		{"101 levels", 101, false},
		{"a million levels", 1_000_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Repeat("[", tt.depth) + strings.Repeat("]", tt.depth)
			root, probs := ParseJSON([]byte(in))
			if tt.ok {
				require.Empty(t, probs)
				return
			}
			require.Len(t, probs, 1)
			assert.Equal(t, Pos{Line: 1, Col: 101, Offset: 100}, probs[0].Pos)
			assert.Contains(t, probs[0].Message, "nesting deeper than 100 levels")
			assert.Equal(t, strings.Repeat("/0", 100), probs[0].Pointer)
			require.NotNil(t, root, "the partial tree is returned")
		})
	}
}

func TestParseJSONPartialTree(t *testing.T) {
	root, probs := ParseJSON([]byte(`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["a" "b"]}]}`))
	require.Len(t, probs, 1)
	require.NotNil(t, root)
	assert.Equal(t, map[string]any{
		"Version":   "1.1",
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": []any{"a"}}},
	}, root.Plain())
	assert.Equal(t, "/Statement/0/Action/0", root.Find("/Statement/0/Action/0").Pointer)

	root, probs = ParseJSON([]byte(`{"a": 1}{"b": 2}`))
	require.Len(t, probs, 1)
	assert.Equal(t, map[string]any{"a": json.Number("1")}, root.Plain(), "the first value is kept")

	root, _ = ParseJSON([]byte(`@`))
	assert.Nil(t, root)
}

func TestParseJSONLongLines(t *testing.T) {
	// Positions on one long line must stay cheap: the parse is linear.
	var b strings.Builder
	b.WriteString("[")
	for range 100_000 {
		b.WriteString(`"é",`)
	}
	b.WriteString(`x]`)
	_, probs := ParseJSON([]byte(b.String()))
	require.Len(t, probs, 1)
	assert.Equal(t, 1, probs[0].Pos.Line)
	assert.Equal(t, 2+4*100_000, probs[0].Pos.Col)
}

func TestParseJSONPointerBudget(t *testing.T) {
	key := strings.Repeat("k", 600_000)
	in := `{"` + key + `": [` + strings.Repeat("0,", 150) + `0]}`
	root, probs := ParseJSON([]byte(in))
	require.Len(t, probs, 1)
	assert.Nil(t, root)
	assert.Contains(t, probs[0].Message, "too large to index")
}

// TestPosAt: a byte offset in any file as line and code-point column, the offset clamped.
func TestPosAt(t *testing.T) {
	src := []byte("a = 1\nnäme = \"x\"\n")
	for _, c := range []struct {
		off       int
		line, col int
	}{
		{-4, 1, 1}, {0, 1, 1}, {4, 1, 5}, {6, 2, 1}, {9, 2, 3}, {len("a = 1\nnäme"), 2, 5}, {len(src), 3, 1}, {100, 3, 1},
	} {
		got := PosAt(src, c.off)
		assert.Equal(t, [2]int{c.line, c.col}, [2]int{got.Line, got.Col}, "offset %d", c.off)
	}
}
