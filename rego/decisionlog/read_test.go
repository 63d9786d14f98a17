package decisionlog

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// line is a decision line as the proxy writes it (docs/proxy.md).
func line(id, principal, t string, extra string) string {
	return `{"time":"` + t + `","level":"INFO","msg":"decision","decision_id":"` + id + `","generation":1,"principal":"` + principal +
		`","auth":"aksk","access_key":"DEMO****","source_ip":"10.0.0.7","project":"ae-ad-1","method":"GET","path":"/v2/cloudimages","api":"list_cloudimages","actions":["ims:images:list"],"decision":"Allow","matched":["ims:images:list=p.json#0:Allow"],"enforced":true,"forwarded":true,"status":200` + extra + `,"upstream_status":200,"upstream_ms":0.2,"decision_ms":0.3,"latency_ms":0.6}` + "\n"
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	old := write("decisions.jsonl.2.gz", gz(t, line("a1", "builder", "2026-11-27T01:00:00Z", "")+line("a2", "reader", "2026-11-27T01:30:00Z", "")))
	mid := write("decisions.jsonl.1", []byte(line("b1", "builder", "2026-11-27T02:00:00Z", "")+
		"time=2026-11-27T02:00:01Z level=INFO msg=reloaded generation=2\n"+ // operational line
		`{"time":"2026-11-27T02:00:02Z","level":"INFO","msg":"reloaded"}`+"\n"+
		line("a2", "reader", "2026-11-27T01:30:00Z", "")+ // the same line in two rotations
		"\n"))
	cur := write("decisions.jsonl", []byte(line("c1", "builder", "2026-11-27T03:00:00Z", `,"would_deny":true`)+`{"time":"2026-11-27T03:00:01Z","level":"INFO","msg":"decis`))

	tests := []struct {
		name    string
		paths   []string
		stdin   string
		filter  Filter
		ids     []string
		check   func(t *testing.T, st Stats)
		wantErr string
	}{
		{name: "rotated files, gzip, duplicates and a torn line", paths: []string{old, mid, cur}, ids: []string{"a1", "a2", "b1", "c1"},
			check: func(t *testing.T, st Stats) {
				assert.Equal(t, 5, st.Decisions)
				assert.Equal(t, 1, st.Duplicates)
				assert.Equal(t, 2, st.Malformed, "the operational text line and the torn last line")
				assert.Equal(t, mid+":2", st.FirstMalformed)
				assert.Equal(t, map[string]int{"builder": 3, "reader": 1}, st.Principals)
				assert.Equal(t, "2026-11-27T01:00:00Z", st.First.Format(time.RFC3339))
				assert.Equal(t, "2026-11-27T03:00:00Z", st.Last.Format(time.RFC3339))
			}},
		{name: "one principal", paths: []string{old, mid, cur}, filter: Filter{Principals: []string{"builder"}}, ids: []string{"a1", "b1", "c1"},
			check: func(t *testing.T, st Stats) {
				assert.Equal(t, map[string]int{"builder": 3}, st.Principals)
				assert.Equal(t, map[string]int{"builder": 3, "reader": 1}, st.Seen)
			}},
		{name: "since", paths: []string{old, mid, cur}, filter: Filter{Since: time.Date(2026, 11, 27, 1, 30, 0, 0, time.UTC)}, ids: []string{"a2", "b1", "c1"}},
		{name: "stdin, gzip", paths: []string{"-"}, stdin: string(gz(t, line("s1", "x", "2026-11-27T03:00:00Z", ""))), ids: []string{"s1"}},
		{name: "a missing file", paths: []string{filepath.Join(dir, "nope")}, wantErr: "no such file"},
		{name: "a long line is not a decision", paths: []string{write("long", []byte(`{"msg":"decision","decision_id":"l1","path":"`+strings.Repeat("a", MaxLine)+`"}`+"\n"+line("l2", "x", "2026-11-27T03:00:00Z", "")))},
			ids: []string{"l2"}, check: func(t *testing.T, st Stats) { assert.Equal(t, 1, st.Malformed) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, st, err := ReadAll(tc.paths, strings.NewReader(tc.stdin), tc.filter)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrRead)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			var ids []string
			for _, e := range entries {
				ids = append(ids, e.DecisionID)
			}
			assert.Equal(t, tc.ids, ids)
			if tc.check != nil {
				tc.check(t, st)
			}
		})
	}
}

func TestEntryFields(t *testing.T) {
	entries, _, err := ReadAll([]string{"-"}, strings.NewReader(line("c1", "builder", "2026-11-27T03:00:00Z",
		`,"enterprise_projects":["query=ep-dev","image=other","body=?"],"would_deny":true`)), Filter{})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	e := entries[0]
	assert.Equal(t, "ae-ad-1", e.Project)
	assert.Equal(t, []string{"ims:images:list"}, e.Actions)
	assert.True(t, e.Accepted())
	assert.True(t, e.Allowed())
	assert.True(t, e.Decidable())
	assert.True(t, e.WouldDeny)
	assert.Equal(t, 1, e.Line)
	assert.Equal(t, []EPFact{{Source: "query", ID: "ep-dev"}, {Source: "image", Other: true}, {Source: "body"}}, e.EPFacts())
	assert.True(t, e.EPFacts()[1].Established())
	assert.False(t, e.EPFacts()[2].Established())

	e.Reason = "body"
	assert.False(t, e.Decidable(), "refused before the engine")
	e.UpstreamStatus = 404
	assert.False(t, e.Accepted())
}
