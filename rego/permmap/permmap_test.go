package permmap

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/explain"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/permmap/golden")

const fixtures = "../../testdata/permmap"

// policyRow explains one policy file of the fixtures as a row, as `imsguard explain
// --format html POLICY...` does for each argument.
func policyRow(t testing.TB, cat *actions.Catalog, name string) Source {
	t.Helper()
	files, err := policy.Load([]string{filepath.Join(fixtures, "policies", name)}, nil)
	require.NoError(t, err)
	for _, f := range files {
		f.Name = "policies/" + name
		for _, d := range f.Documents {
			d.Source = f.Name
		}
	}
	atts, err := explain.Attach(files, "")
	require.NoError(t, err)
	x, err := explain.Run(context.Background(), cat, atts, explain.Options{})
	require.NoError(t, err)
	return Source{Name: "policies/" + name, Kind: "policy", Attachments: atts, Explanation: x}
}

// fixtureMap is the map of the three fixture policies.
func fixtureMap(t testing.TB) *Map {
	t.Helper()
	cat, err := actions.Embedded()
	require.NoError(t, err)
	var rows []Source
	for _, n := range []string{"reader.json", "builder.json", "hostile.json"} {
		rows = append(rows, policyRow(t, cat, n))
	}
	m, err := Build(rows, Options{Sources: []string{"policies/reader.json", "policies/builder.json", "policies/hostile.json"}, Catalog: cat.Version})
	require.NoError(t, err)
	return m
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join(fixtures, "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test ./rego/permmap -update to create it")
	assert.Equal(t, string(want), string(got), "golden %s (refresh with -update after checking the change)", name)
}

// TestGoldenData: the data the page embeds and its script reads.
func TestGoldenData(t *testing.T) {
	m := fixtureMap(t)
	data, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	golden(t, "policies.json", append(data, '\n'))
}

// TestGoldenMarkdown: the pull-request comment.
func TestGoldenMarkdown(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, fixtureMap(t).WriteMarkdown(&b))
	golden(t, "policies.md", b.Bytes())
}

// TestCells: the four statuses and their deciding statements, read from rego/explain.
func TestCells(t *testing.T) {
	m := fixtureMap(t)
	require.Len(t, m.APIs, 36)
	cell := func(row, api string) (Row, Cell) {
		for _, r := range m.Rows {
			if r.Name != row {
				continue
			}
			for _, c := range r.Cells {
				if c.API == api {
					return r, c
				}
			}
		}
		t.Fatalf("no cell %s / %s", row, api)
		return Row{}, Cell{}
	}
	cases := []struct {
		row, api string
		status   Status
		index    []int // deciding statement indexes in the file
		cond     string
	}{
		{"policies/reader.json", "list_cloudimages", Allowed, []int{0}, ""},
		{"policies/reader.json", "glance_delete_image", Denied, nil, ""},
		{"policies/builder.json", "glance_delete_image", ExplicitlyDenied, []int{2}, ""},
		{"policies/builder.json", "batch_add_members", Conditional, []int{1}, `{"IpAddress":{"g:SourceIp":["10.0.0.0/8"]}}`},
		{"policies/builder.json", "quick_import_cloudimage", Conditional, []int{0}, ""},
		{"policies/builder.json", "list_api_versions", Allowed, nil, ""},
		{"policies/hostile.json", "glance_delete_image", Conditional, []int{1}, `{"StringEquals":{"g:UserName":["</script><script>window.__pwned = 3</script>"]}}`},
		{"policies/hostile.json", "export_image", ExplicitlyDenied, []int{2}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.row+" "+tc.api, func(t *testing.T) {
			r, c := cell(tc.row, tc.api)
			assert.Equal(t, tc.status, c.Status, c.Reason)
			var idx []int
			for _, i := range c.Statements {
				st := r.Statements[i]
				idx = append(idx, st.Index)
				assert.Equal(t, tc.row, st.File)
				assert.Positive(t, st.Line)
				assert.Equal(t, tc.cond, st.Condition)
			}
			assert.Equal(t, tc.index, idx)
		})
	}
	_, c := cell("policies/builder.json", "quick_import_cloudimage")
	require.Len(t, c.Variants, 2, "the body decides: one variant per body type")
	assert.Equal(t, Allowed, c.Variants[0].Status)
	assert.Equal(t, Denied, c.Variants[1].Status)
}

// TestHTMLEscapesPolicyText: a Sid, a condition value or a row name that looks like markup
// reaches the page as text. The browser test checks that none of it runs.
func TestHTMLEscapesPolicyText(t *testing.T) {
	m := fixtureMap(t)
	m.Rows[2].Name = `team <b>ops</b> " onmouseover="alert(1)`
	var b bytes.Buffer
	require.NoError(t, m.WriteHTML(&b))
	page := b.String()
	for _, raw := range []string{"<script>window.__pwned", `<img src=x`, "</script><script>", "<b>ops</b>", `" onmouseover="alert(1)`} {
		assert.NotContains(t, page, raw)
	}
	assert.Contains(t, page, "team &lt;b&gt;ops&lt;/b&gt; &#34; onmouseover=&#34;alert(1)", "the row name is escaped text")
	assert.Equal(t, 2, strings.Count(page, "<script"), "the data block and the page's own script, nothing else")
	// No external asset: nothing is loaded from anywhere.
	for _, re := range []string{`(?i)<link\b`, `(?i)\bsrc\s*=\s*["']?https?:`, `(?i)url\(\s*["']?https?:`, `(?i)@import`} {
		assert.NotRegexp(t, regexp.MustCompile(re), page)
	}
	assert.Contains(t, page, `script-src 'sha256-`, "only the page's own script may run")
}

// TestMarkdownEscapes: user text cannot break the table or format itself.
func TestMarkdownEscapes(t *testing.T) {
	assert.Equal(t, `a\|b \*c\* \_d\_ \<e\> \[f\](g) h i`, mdEscape("a|b *c* _d_ <e> [f](g) h\ni"))
	assert.Equal(t, "`x`", mdCode("x"))
	assert.Equal(t, "``a`b``", mdCode("a`b"))
	assert.Equal(t, "`` `x ``", mdCode("`x"))
	m := fixtureMap(t)
	m.Rows[0].Name = "team|ops*"
	var b bytes.Buffer
	require.NoError(t, m.WriteMarkdown(&b))
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| API |") {
			assert.Contains(t, line, `team\|ops\*`)
			assert.Equal(t, 1+len(m.Rows)+1, strings.Count(line, "|")-strings.Count(line, `\|`), "one cell per row: %s", line)
		}
	}
}

func TestBuildNeedsRows(t *testing.T) {
	_, err := Build(nil, Options{})
	assert.ErrorIs(t, err, ErrNoRows)
}
