package policy

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNodeFind(t *testing.T) {
	root, probs := ParseJSON([]byte(`{"a": [10, {"b/c": true, "~": null, "": 1}], "d": "x", "d": "y", "01": 2}`))
	require.Len(t, probs, 1)
	assert.Equal(t, CodeJSONDupKey, probs[0].Code)
	tests := []struct {
		pointer string
		want    string // pointer of the node found, "-" for none
		near    string // pointer of the node Locate returns
	}{
		{"", "", ""},
		{"/a", "/a", "/a"},
		{"/a/0", "/a/0", "/a/0"},
		{"/a/1/b~1c", "/a/1/b~1c", "/a/1/b~1c"},
		{"/a/1/~0", "/a/1/~0", "/a/1/~0"},
		{"/a/1/", "/a/1/", "/a/1/"},
		{"/d", "/d", "/d"},
		{"/01", "/01", "/01"},
		{"/a/2", "-", "/a"},
		{"/a/01", "-", "/a"},
		{"/a/-", "-", "/a"},
		{"/a/-1", "-", "/a"},
		{"/a/99999999999999999999", "-", "/a"},
		{"/a/0/x", "-", "/a/0"},
		{"/missing/deeper", "-", ""},
		{"/a/1/b/c", "-", "/a/1"},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			n := root.Find(tt.pointer)
			near, exact := root.Locate(tt.pointer)
			require.NotNil(t, near)
			assert.Equal(t, tt.near, near.Pointer)
			if tt.want == "-" {
				assert.Nil(t, n)
				assert.False(t, exact)
				return
			}
			require.NotNil(t, n)
			assert.True(t, exact)
			assert.Equal(t, tt.want, n.Pointer)
		})
	}
	assert.Equal(t, "y", root.Find("/d").Str, "the last duplicate wins")
	assert.Nil(t, root.Find("a"), "a pointer must start with '/'")
	n, exact := root.Locate("a")
	assert.Nil(t, n)
	assert.False(t, exact)

	var nilNode *Node
	assert.Nil(t, nilNode.Find(""))
	assert.Equal(t, root.Find("/a/1"), root.Find("/a").Find("/1"), "Find is relative to its receiver")
}

func TestNodeGet(t *testing.T) {
	root, _ := ParseJSON([]byte(`{"k": 1, "k": 2, "arr": []}`))
	assert.Equal(t, "2", root.Get("k").Str)
	assert.Nil(t, root.Get("K"), "keys are case-sensitive")
	assert.Nil(t, root.Get("arr").Get("k"), "not an object")
	var nilNode *Node
	assert.Nil(t, nilNode.Get("k"))
}

func TestNodePlain(t *testing.T) {
	var nilNode *Node
	assert.Nil(t, nilNode.Plain())
	root, _ := ParseJSON([]byte(`[1.50, "s", false, null, {"x": [], "y": {}}]`))
	assert.Equal(t, []any{json.Number("1.50"), "s", false, nil, map[string]any{"x": []any{}, "y": map[string]any{}}}, root.Plain())
}

func TestKindString(t *testing.T) {
	tests := map[Kind]string{KindNull: "null", KindBool: "bool", KindNumber: "number", KindString: "string", KindArray: "array", KindObject: "object", Kind(42): "Kind(42)"}
	for k, want := range tests {
		t.Run(want, func(t *testing.T) { assert.Equal(t, want, k.String()) })
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{Code: CodeJSON, Severity: SeverityError, Message: "boom", Pos: Pos{Line: 3, Col: 7, Offset: 20}}
	assert.Equal(t, "3:7: E-JSON: boom", p.String())
}
