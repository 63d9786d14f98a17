package policy

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseFixture(t *testing.T, name string) *File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return Parse(name, data)
}

func TestParseFixtures(t *testing.T) {
	t.Run("bare 1.1 policy", func(t *testing.T) {
		f := parseFixture(t, "ims-readonly.json")
		require.Empty(t, f.Problems)
		require.Len(t, f.Documents, 1)
		d := f.Documents[0]
		assert.Equal(t, "ims-readonly.json", d.Source)
		assert.Same(t, f.Root, d.Root)
		assert.Nil(t, d.Wrapper)
		assert.Equal(t, WrapperNone, d.WrapperKind)
		assert.Equal(t, "1.1", d.Version)
		assert.Equal(t, FamilyPolicy, d.Family)
		require.Len(t, d.Statements, 1)
		s := d.Statements[0]
		assert.Equal(t, 0, s.Index)
		assert.Equal(t, "/Statement/0", s.Node.Pointer)
		assert.Equal(t, Pos{Line: 4, Col: 9, Offset: 51}, s.Node.Pos)
		assert.Equal(t, "Allow", s.Effect)
		assert.Equal(t, []string{"ims:images:list", "ims:images:get", "ims:quotas:get"}, s.Actions)
		assert.Nil(t, s.Resources)
		assert.Nil(t, s.Condition)
	})
	t.Run("role wrapper", func(t *testing.T) {
		f := parseFixture(t, "role-wrapper.json")
		require.Empty(t, f.Problems)
		require.Len(t, f.Documents, 1)
		d := f.Documents[0]
		assert.Equal(t, WrapperRole, d.WrapperKind)
		assert.Equal(t, "/role", d.Wrapper.Pointer)
		assert.Equal(t, "IMSImageReaders", d.Wrapper.Get("display_name").Str)
		assert.Equal(t, "/role/policy", d.Root.Pointer)
		assert.Equal(t, FamilyPolicy, d.Family)
		require.Len(t, d.Statements, 2)
		assert.Equal(t, "Deny", d.Statements[1].Effect)
		c := d.Statements[0].Condition
		require.Len(t, c, 2)
		assert.Equal(t, "StringEquals", c[0].Operator)
		assert.Equal(t, "g:ProjectName", c[0].Key)
		assert.Equal(t, []string{"ae-ad-1"}, c[0].Values)
		assert.Equal(t, "/role/policy/Statement/0/Condition/StringEquals", c[0].OpNode.Pointer)
		assert.Equal(t, "/role/policy/Statement/0/Condition/StringEquals/g:ProjectName", c[0].KeyNode.Pointer)
		assert.Equal(t, Pos{Line: 13, Col: 59, Offset: 456}, c[0].KeyNode.Pos)
		assert.Equal(t, "DateLessThan", c[1].Operator)
		assert.Equal(t, []string{"2030-01-01T00:00:00Z"}, c[1].Values)
	})
	t.Run("roles list with a 1.0 role", func(t *testing.T) {
		f := parseFixture(t, "roles-list.json")
		require.Empty(t, f.Problems)
		require.Len(t, f.Documents, 2)
		role, pol := f.Documents[0], f.Documents[1]
		assert.Equal(t, WrapperRoles, role.WrapperKind)
		assert.Equal(t, "/roles/0", role.Wrapper.Pointer)
		assert.Equal(t, "/roles/0/policy", role.Root.Pointer)
		assert.Equal(t, FamilyRole, role.Family)
		assert.Equal(t, []string{"ims:*:*", "ecs:*:list", "ecs:*:get", "evs:*:get"}, role.Statements[0].Actions)
		assert.Equal(t, []Depend{{Catalog: "OBS", DisplayName: "Tenant Administrator"}}, role.Depends)
		assert.Equal(t, "/roles/1/policy", pol.Root.Pointer)
		assert.Equal(t, FamilyPolicy, pol.Family)
		assert.Nil(t, pol.Depends)
	})
	t.Run("v5 policy_document", func(t *testing.T) {
		f := parseFixture(t, "v5-policy-document.json")
		require.Empty(t, f.Problems)
		require.Len(t, f.Documents, 1)
		d := f.Documents[0]
		assert.Equal(t, WrapperPolicyDocument, d.WrapperKind)
		assert.Nil(t, d.Wrapper)
		assert.Equal(t, "5.0", d.Version)
		assert.Equal(t, FamilyIdentity, d.Family)
		assert.Equal(t, "/policy_document", d.Root.Pointer)
		s := d.Statements[0]
		assert.Equal(t, "ImportEncrypted", s.Sid)
		assert.Equal(t, []string{"*"}, s.Resources)
		require.Len(t, s.Condition, 2)
		assert.Equal(t, CondEntry{Operator: "Bool", Key: "ims:Encrypted", Values: []string{"true"},
			OpNode: s.Condition[0].OpNode, KeyNode: s.Condition[0].KeyNode}, s.Condition[0], "a 5.0 scalar value is a one-element list")
		assert.Equal(t, []string{"alice", "bob"}, s.Condition[1].Values)

		// Positions inside the string map to the escape or character in
		// the file that produced them.
		effect := s.Node.Get("Effect")
		assert.Equal(t, "/policy_document/Statement/0/Effect", effect.Pointer)
		off := strings.Index(string(f.Data), `\"Allow\"`)
		assert.Equal(t, Pos{Line: 4, Col: off - strings.LastIndexByte(string(f.Data[:off]), '\n'), Offset: off}, effect.Pos)
		pos, ok := f.PosOf("/policy_document/Statement/0/Effect")
		assert.True(t, ok)
		assert.Equal(t, effect.Pos, pos)
	})
	t.Run("agency", func(t *testing.T) {
		f := parseFixture(t, "agency.json")
		require.Empty(t, f.Problems)
		d := f.Documents[0]
		assert.Equal(t, FamilyAgency, d.Family)
		assert.Equal(t, []string{"iam:agencies:assume"}, d.Statements[0].Actions)
		assert.Equal(t, []string{"/iam/agencies/07805acaba800fdd4fbdc00b8f888c7c"}, d.Statements[0].Resources)
	})
	t.Run("trailing comma from the IMS guide", func(t *testing.T) {
		f := parseFixture(t, "trailing-comma.json")
		require.Len(t, f.Problems, 1)
		p := f.Problems[0]
		assert.Equal(t, CodeJSON, p.Code)
		assert.Equal(t, Pos{Line: 8, Col: 13, Offset: 156}, p.Pos)
		assert.Equal(t, "expected a value after ',' but found ']' (trailing comma is not allowed in JSON); remove the comma at 7:36", p.Message)
		assert.Equal(t, "/Statement/0/Action", p.Pointer)
		assert.Empty(t, f.Documents, "no documents from a file with syntax errors")
		assert.NotNil(t, f.Root, "the partial tree is kept")
	})
	t.Run("two objects from the OTC guide", func(t *testing.T) {
		f := parseFixture(t, "two-objects.json")
		require.Len(t, f.Problems, 1)
		assert.Equal(t, Pos{Line: 5, Col: 1, Offset: 96}, f.Problems[0].Pos)
		assert.Contains(t, f.Problems[0].Message, "more than one JSON value: a second value starts at 5:1")
		assert.Empty(t, f.Documents)
	})
}

func TestParseWrappers(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		kinds    []string // WrapperKind of each document
		roots    []string // Root.Pointer of each document, "-" for nil
		wrappers []string // Wrapper.Pointer of each document, "-" for nil
	}{
		{"bare", `{"Version": "1.1", "Statement": []}`, []string{""}, []string{""}, []string{"-"}},
		{"empty object", `{}`, []string{""}, []string{""}, []string{"-"}},
		{"role", `{"role": {"policy": {"Version": "1.1"}}}`, []string{"role"}, []string{"/role/policy"}, []string{"/role"}},
		{"role without policy", `{"role": {"display_name": "x"}}`, []string{"role"}, []string{"-"}, []string{"/role"}},
		{"role with string policy", `{"role": {"policy": "{}"}}`, []string{"role"}, []string{"-"}, []string{"/role"}},
		{"role not an object", `{"role": "admin", "Version": "1.1"}`, []string{""}, []string{""}, []string{"-"}},
		{"roles", `{"roles": [{"policy": {}}, {"name": "x"}, 7]}`, []string{"roles", "roles", "roles"}, []string{"/roles/0/policy", "-", "-"}, []string{"/roles/0", "/roles/1", "/roles/2"}},
		{"empty roles", `{"roles": []}`, nil, nil, nil},
		{"role wins over roles", `{"roles": [], "role": {"policy": {}}}`, []string{"role"}, []string{"/role/policy"}, []string{"/role"}},
		{"policy_document", `{"policy_name": "p", "policy_document": "{\"Version\": \"5.0\"}"}`, []string{"policy_document"}, []string{"/policy_document"}, []string{"-"}},
		{"policy_document not a string", `{"policy_document": {"Version": "5.0"}}`, []string{""}, []string{""}, []string{"-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse("in.json", []byte(tt.in))
			require.Empty(t, f.Problems)
			var kinds, roots, wrappers []string
			for _, d := range f.Documents {
				kinds = append(kinds, d.WrapperKind)
				roots = append(roots, pointerOrDash(d.Root))
				wrappers = append(wrappers, pointerOrDash(d.Wrapper))
			}
			assert.Equal(t, tt.kinds, kinds)
			assert.Equal(t, tt.roots, roots)
			assert.Equal(t, tt.wrappers, wrappers)
		})
	}
}

func pointerOrDash(n *Node) string {
	if n == nil {
		return "-"
	}
	return n.Pointer
}

func TestParsePolicyDocumentProblems(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		code    string
		pos     Pos
		msg     string
		pointer string
		docs    int
	}{
		{"syntax error", `{"policy_document": "{\"Version\": \"5.0\",}"}`, CodeJSON, Pos{Line: 1, Col: 44, Offset: 43},
			`in policy_document: expected an object key after ',' but found '}' (trailing comma is not allowed in JSON); remove the comma at 1:43`, "/policy_document", 0},
		{"error after escaped newline", "{\n  \"policy_document\": \"{\\n\\\"a\\\" 1}\"\n}", CodeJSON, Pos{Line: 2, Col: 32, Offset: 33},
			`in policy_document: expected ':' after object key "a", found '1'`, "/policy_document/a", 0},
		{"error after unicode escape", `{"policy_document": "{\"\u00e9\u00e9\": tru}"}`, CodeJSON, Pos{Line: 1, Col: 41, Offset: 40},
			`in policy_document: invalid literal "tru"`, "/policy_document/éé", 0},
		{"error after surrogate pair", `{"policy_document": "[\"\ud83d\ude00\", 1 2]"}`, CodeJSON, Pos{Line: 1, Col: 43, Offset: 42},
			`in policy_document: expected ',' or ']' after array element, found '2'`, "/policy_document", 0},
		{"error after raw unicode", `{"policy_document": "[\"日本\" \"x\"]"}`, CodeJSON, Pos{Line: 1, Col: 30, Offset: 33},
			`found '"'`, "/policy_document", 0},
		{"empty", `{"policy_document": ""}`, CodeJSON, Pos{Line: 1, Col: 22, Offset: 21},
			"in policy_document: empty input", "/policy_document", 0},
		{"not an object", `{"policy_document": " [1]"}`, CodeJSON, Pos{Line: 1, Col: 23, Offset: 22},
			"in policy_document: policy document must be a JSON object, found an array", "/policy_document", 0},
		{"duplicate key", `{"policy_document": "{\"Version\": \"5.0\", \"Version\": \"5.0\"}"}`, CodeJSONDupKey, Pos{Line: 1, Col: 45, Offset: 44},
			`in policy_document: duplicate key "Version" (first defined at 1:23)`, "/policy_document/Version", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse("v5.json", []byte(tt.in))
			require.Len(t, f.Problems, 1, "%v", f.Problems)
			p := f.Problems[0]
			assert.Equal(t, tt.code, p.Code)
			assert.Equal(t, tt.pos, p.Pos)
			assert.Contains(t, p.Message, tt.msg)
			assert.Equal(t, tt.pointer, p.Pointer)
			assert.Len(t, f.Documents, tt.docs)
		})
	}
}

func TestParseRootNotObject(t *testing.T) {
	for _, in := range []string{`[]`, `"policy"`, `1.1`, `null`, `true`} {
		t.Run(in, func(t *testing.T) {
			f := Parse("x.json", []byte(in))
			require.Len(t, f.Problems, 1)
			assert.Equal(t, CodeJSON, f.Problems[0].Code)
			assert.Contains(t, f.Problems[0].Message, "policy document must be a JSON object, found ")
			assert.Equal(t, Pos{Line: 1, Col: 1, Offset: 0}, f.Problems[0].Pos)
			assert.Empty(t, f.Documents)
			assert.NotNil(t, f.Root)
		})
	}
}

func TestParseFamilies(t *testing.T) {
	tests := []struct {
		name, in, version string
		family            Family
	}{
		{"1.0", `{"Version": "1.0"}`, "1.0", FamilyRole},
		{"1.1", `{"Version": "1.1", "Statement": [{"Resource": ["obs:*:*:bucket:x"]}]}`, "1.1", FamilyPolicy},
		{"1.1 agency", `{"Version": "1.1", "Statement": [{}, {"Resource": {"uri": []}}]}`, "1.1", FamilyAgency},
		{"5.0 with object resource", `{"Version": "5.0", "Statement": [{"Resource": {"uri": []}}]}`, "5.0", FamilyIdentity},
		{"missing", `{"Statement": []}`, "", FamilyUnknown},
		{"number", `{"Version": 1.1}`, "", FamilyUnknown},
		{"other", `{"Version": "2012-10-17"}`, "2012-10-17", FamilyUnknown},
		{"case", `{"version": "1.1"}`, "", FamilyUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse("x.json", []byte(tt.in))
			require.Empty(t, f.Problems)
			require.Len(t, f.Documents, 1)
			assert.Equal(t, tt.version, f.Documents[0].Version)
			assert.Equal(t, tt.family, f.Documents[0].Family)
		})
	}
}

func TestParseStatements(t *testing.T) {
	in := `{"Version": "5.0", "Statement": [
		"not an object",
		{"Sid": 1, "Effect": "Deny", "NotAction": ["ims:images:delete", 7], "NotResource": ["ims:*:*:image:x"],
		 "Condition": {"StringEquals": {"g:UserName": "alice", "g:UserId": [1, "u-1"]}, "Bool": "true", "Null": {}}},
		{"Effect": ["Allow"], "Action": "ims:images:list"}
	], "Depends": [{"catalog": "OBS", "display_name": "Tenant Administrator"}]}`
	f := Parse("x.json", []byte(in))
	require.Empty(t, f.Problems)
	d := f.Documents[0]
	require.Len(t, d.Statements, 3)
	assert.Equal(t, Statement{Index: 0, Node: d.Root.Find("/Statement/0")}, d.Statements[0])

	s := d.Statements[1]
	assert.Equal(t, "", s.Sid, "non-string Sid")
	assert.Equal(t, "Deny", s.Effect)
	assert.Nil(t, s.Actions)
	assert.Equal(t, []string{"ims:images:delete"}, s.NotActions, "non-strings are left for lint")
	assert.Equal(t, []string{"ims:*:*:image:x"}, s.NotResources)
	require.Len(t, s.Condition, 2, "operators whose value is not an object yield no entries")
	assert.Equal(t, []string{"alice"}, s.Condition[0].Values)
	assert.Equal(t, []string{"u-1"}, s.Condition[1].Values)

	s = d.Statements[2]
	assert.Equal(t, "", s.Effect, "non-string Effect")
	assert.Equal(t, []string{"ims:images:list"}, s.Actions, "a single string is a one-element list")
	assert.Nil(t, d.Depends, "Depends is extracted for 1.0 only")

	f = Parse("x.json", []byte(`{"Version": "1.1", "Statement": [{"Condition": {"StringEquals": {"g:UserName": "alice"}}}]}`))
	c := f.Documents[0].Statements[0].Condition
	require.Len(t, c, 1)
	assert.Equal(t, []string{"alice"}, c[0].Values, "a 1.1 scalar value is taken at its word")
	assert.Equal(t, KindString, c[0].KeyNode.Kind, "lint sees the scalar on KeyNode")

	f = Parse("x.json", []byte(`{"Version": "1.0", "Statement": {}, "Depends": [{"catalog": "BASE"}, "x"]}`))
	assert.Nil(t, f.Documents[0].Statements)
	assert.Equal(t, []Depend{{Catalog: "BASE"}}, f.Documents[0].Depends)
}

func TestFilePosOf(t *testing.T) {
	f := parseFixture(t, "role-wrapper.json")
	tests := []struct {
		pointer   string
		line, col int
		exact     bool
	}{
		{"", 1, 1, true},
		{"/role/policy/Statement/1/Effect", 18, 31, true},
		{"/role/policy/Statement/1/Resource", 17, 17, false},
		{"/role/policy/Statement/9", 8, 26, false},
		{"bad", 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			pos, ok := f.PosOf(tt.pointer)
			assert.Equal(t, tt.exact, ok)
			assert.Equal(t, tt.line, pos.Line)
			assert.Equal(t, tt.col, pos.Col)
		})
	}

	v5 := parseFixture(t, "v5-policy-document.json")
	pos, ok := v5.PosOf("/policy_document")
	assert.True(t, ok)
	assert.Equal(t, Pos{Line: 4, Col: 25, Offset: 120}, pos, "the embedded root, just inside the quote")
	_, ok = v5.PosOf("/policy_document/Statement/0/Nope")
	assert.False(t, ok)
	pos, ok = v5.PosOf("/policy_name")
	assert.True(t, ok)
	assert.Equal(t, 2, pos.Line)

	empty := Parse("x.json", nil)
	pos, ok = empty.PosOf("/a")
	assert.False(t, ok)
	assert.Equal(t, Pos{}, pos)
}

func TestParseConcurrent(t *testing.T) {
	// Parse keeps no shared state; run with -race.
	data, err := os.ReadFile(filepath.Join("testdata", "role-wrapper.json"))
	require.NoError(t, err)
	for i := range 4 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			for range 50 {
				f := Parse("role-wrapper.json", data)
				require.Empty(t, f.Problems)
				assert.Equal(t, "ae-ad-1", f.Documents[0].Statements[0].Condition[0].Values[0])
			}
		})
	}
}

func TestDocumentsIn(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		pointer string // of the value to read documents from
		docs    int
		root    string // pointer of the first document's root
		stmtPos Pos    // position of its first statement
		problem string // substring of the first problem
	}{
		{"bare policy", "{\"a\": {\"b\": {\"Version\": \"1.1\",\n \"Statement\": [{\"Effect\": \"Allow\"}]}}}", "/a/b", 1, "/a/b", Pos{Line: 2, Col: 16, Offset: 46}, ""},
		{"after a byte-order mark", "\xEF\xBB\xBF{\"p\": {\"Version\": \"1.1\", \"Statement\": [{}]}}", "/p", 1, "/p", Pos{Line: 1, Col: 40, Offset: 42}, ""},
		{"role wrapper", `{"p": {"role": {"policy": {"Version": "1.0", "Statement": [{}]}}}}`, "/p", 1, "/p/role/policy", Pos{Line: 1, Col: 60, Offset: 59}, ""},
		{"policy_document string", `{"p": {"policy_document": "{\"Version\": \"5.0\", \"Statement\": [{}]}"}}`, "/p", 1, "/p/policy_document", Pos{Line: 1, Col: 67, Offset: 66}, ""},
		{"policy_document syntax error", `{"p": {"policy_document": "{\"Version\": }"}}`, "/p", 0, "", Pos{}, "in policy_document: expected a JSON value"},
		{"not an object", `{"p": [1]}`, "/p", 0, "", Pos{}, "policy document must be a JSON object, found an array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, probs := ParseJSON([]byte(tc.in))
			require.Empty(t, probs)
			docs, probs := DocumentsIn("in.json", []byte(tc.in), root.Find(tc.pointer))
			require.Len(t, docs, tc.docs)
			if tc.problem != "" {
				require.NotEmpty(t, probs)
				assert.Contains(t, probs[0].Message, tc.problem)
				return
			}
			require.Empty(t, probs)
			assert.Equal(t, "in.json", docs[0].Source)
			assert.Equal(t, tc.root, docs[0].Root.Pointer)
			require.NotEmpty(t, docs[0].Statements)
			assert.Equal(t, tc.stmtPos, docs[0].Statements[0].Node.Pos)
		})
	}
	docs, probs := DocumentsIn("in.json", nil, nil)
	assert.Nil(t, docs)
	assert.Nil(t, probs)
}
