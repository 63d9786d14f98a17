package permmap

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// mdSymbols are the markdown cells: an emoji GitHub renders in color, and a word, so the
// table does not rely on color.
var mdSymbols = map[Status]string{
	Allowed:          "✅ allow",
	Conditional:      "🟡 cond.",
	Denied:           "➖ deny",
	ExplicitlyDenied: "⛔ DENY",
}

// WriteMarkdown writes the map as GitHub-flavoured Markdown for a pull-request comment: a
// table per API family with a line per API and a column per row (principals or policy
// files), then, folded, the deciding statements of every conditional and explicitly
// denied cell. Text from policies and configurations is escaped, so a | or a * in a Sid
// or a file name cannot break the table or its formatting.
func (m *Map) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### %s\n\n", mdEscape(m.Title))
	var meta []string
	if len(m.Sources) > 0 {
		var s []string
		for _, src := range m.Sources {
			s = append(s, mdCode(src))
		}
		meta = append(meta, "From "+strings.Join(s, ", "))
	}
	meta = append(meta, "requests in project "+mdCode(m.Project))
	if m.EnterpriseProject != "" {
		meta = append(meta, "naming enterprise project "+mdCode(m.EnterpriseProject))
	}
	if m.Catalog != "" {
		meta = append(meta, "IMS catalog "+mdEscape(m.Catalog))
	}
	fmt.Fprintf(bw, "%s.\n\n", strings.Join(meta, " · "))
	var legend []string
	for _, s := range Statuses {
		legend = append(legend, mdSymbols[s]+": "+s.Label())
	}
	fmt.Fprintf(bw, "%s.\n", strings.Join(legend, " · "))

	var summary []string
	for _, r := range m.Rows {
		summary = append(summary, fmt.Sprintf("%s: %d allowed, %d conditional, %d denied, %d explicitly denied",
			mdCode(r.Name), r.Counts[Allowed], r.Counts[Conditional], r.Counts[Denied], r.Counts[ExplicitlyDenied]))
	}
	fmt.Fprintf(bw, "\n%s.\n", strings.Join(summary, "; "))

	col := map[string]int{}
	for i, a := range m.APIs {
		col[a.ID] = i
	}
	for _, f := range m.Families {
		fmt.Fprintf(bw, "\n#### %s\n\n| API |", mdEscape(f.Label))
		for _, r := range m.Rows {
			fmt.Fprintf(bw, " %s |", mdEscape(r.Name))
		}
		fmt.Fprint(bw, "\n|---|")
		for range m.Rows {
			fmt.Fprint(bw, ":---:|")
		}
		fmt.Fprintln(bw)
		for _, s := range f.Sections {
			for _, id := range s.APIs {
				c := col[id]
				a := m.APIs[c]
				name := fmt.Sprintf("%s %s", mdEscape(a.Section), mdCode(a.Method+" "+a.Path))
				if a.Deprecated {
					name += " (deprecated)"
				}
				fmt.Fprintf(bw, "| %s |", name)
				for _, r := range m.Rows {
					fmt.Fprintf(bw, " %s |", mdSymbols[r.Cells[c].Status])
				}
				fmt.Fprintln(bw)
			}
		}
	}

	var why []string
	for _, r := range m.Rows {
		for c, cell := range r.Cells {
			if cell.Status != Conditional && cell.Status != ExplicitlyDenied {
				continue
			}
			a := m.APIs[c]
			line := fmt.Sprintf("- %s · %s %s: %s %s", mdCode(r.Name), mdEscape(a.Section), mdCode(a.Method+" "+a.Path), mdSymbols[cell.Status], mdEscape(cell.Reason))
			for _, i := range cell.Statements {
				st := r.Statements[i]
				line += fmt.Sprintf("\n  - %s statement %d", mdCode(fmt.Sprintf("%s:%d:%d", st.File, st.Line, st.Column)), st.Index)
				if st.Sid != "" {
					line += " Sid " + mdCode(st.Sid)
				}
				line += " (" + st.Effect + ")"
				if st.Condition != "" {
					line += ": " + mdCode(st.Condition)
				}
			}
			why = append(why, line)
		}
	}
	if len(why) > 0 {
		fmt.Fprintf(bw, "\n<details><summary>Conditional and explicitly denied cells (%d)</summary>\n\n%s\n\n</details>\n", len(why), strings.Join(why, "\n"))
	}
	return bw.Flush()
}

// mdEscape escapes text that sits inside a Markdown table cell or a line (never at its
// start): the marks that open inline markup — emphasis, code, links, HTML, entities,
// strikethrough — and the table's pipe are backslash-escaped (a GFM table reads \| as a
// literal pipe), and line breaks become spaces.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case strings.ContainsRune("\\`*_[]<>|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode writes s as inline code, outside tables: a fence of more backticks than s has in
// a row, with spaces inside it when s starts or ends with a backtick.
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
