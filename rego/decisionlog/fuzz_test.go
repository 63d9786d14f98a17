package decisionlog

import (
	"bytes"
	"testing"
)

// FuzzRead: any bytes read as a log never panic, and the counts stay consistent.
func FuzzRead(f *testing.F) {
	f.Add([]byte(line("a1", "builder", "2026-11-27T01:00:00Z", "")))
	f.Add([]byte(line("a1", "b", "2026-11-27T01:00:00Z", "") + line("a1", "b", "2026-11-27T01:00:00Z", "") + `{"msg":"decis`))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Add([]byte(`{"msg":"decision","decision_id":"x","time":"not a time"}` + "\n" + `{"msg":"decision","decision_id":"y","actions":"ims:images:list"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		st, _ := Read([]string{"-"}, bytes.NewReader(data), Filter{}, func(e *Entry) error {
			n++
			if e.DecisionID == "" || e.Msg != "decision" {
				t.Fatalf("entry without a decision id or msg: %+v", e)
			}
			return nil
		})
		if n != st.Kept || st.Kept+st.Duplicates > st.Decisions || st.Decisions+st.Malformed > st.Lines {
			t.Fatalf("counts: passed %d, %+v", n, st)
		}
	})
}
