package permmap

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed assets/page.html.tmpl assets/page.css assets/page.js
var assets embed.FS

// page is the template with its CSS and script, parsed once by newPage.
type page struct {
	tmpl       *template.Template
	css        template.CSS
	script     template.JS
	scriptHash string
}

// newPage parses the embedded page. The script's SHA-256 goes in the page's
// Content-Security-Policy: it is the only script the page runs.
func newPage() (*page, error) {
	css, err := assets.ReadFile("assets/page.css")
	if err != nil {
		return nil, err
	}
	js, err := assets.ReadFile("assets/page.js")
	if err != nil {
		return nil, err
	}
	tmpl, err := template.ParseFS(assets, "assets/page.html.tmpl")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(js)
	return &page{tmpl: tmpl, css: template.CSS(css), script: template.JS(js),
		scriptHash: "sha256-" + base64.StdEncoding.EncodeToString(sum[:])}, nil
}

// view is what the template renders: the map, and per cell the words the grid shows.
type view struct {
	Map        *Map
	CSS        template.CSS
	Script     template.JS
	ScriptHash string
	Legend     []legendItem
	Families   []spanHead
	Sections   []spanHead
	Rows       []viewRow
	RowsHeader string
	RowsAre    string
}

type legendItem struct {
	Status        Status
	Symbol, Label string
}

type spanHead struct {
	ID, Label, Family string
	Span              int
}

type viewRow struct {
	R          int
	Name, Kind string
	Cells      []viewCell
}

type viewCell struct {
	R, C                  int
	API, Family           string
	Status                Status
	Symbol, Aria, Tooltip string
}

// WriteHTML writes the map as one self-contained HTML page: inline CSS and script, the
// map's data as JSON the script reads, no external asset. Every text from a policy or a
// configuration goes through html/template's contextual escaping, and the page's
// Content-Security-Policy lets no other script run.
func (m *Map) WriteHTML(w io.Writer) error {
	p, err := newPage()
	if err != nil {
		return fmt.Errorf("permission map page: %w", err)
	}
	v := view{Map: m, CSS: p.css, Script: p.script, ScriptHash: p.scriptHash, RowsHeader: "Principal", RowsAre: "principal"}
	if len(m.Rows) > 0 && m.Rows[0].Kind == "policy" {
		v.RowsHeader, v.RowsAre = "Policy", "policy"
	}
	for _, s := range Statuses {
		v.Legend = append(v.Legend, legendItem{Status: s, Symbol: s.Symbol(), Label: s.Label()})
	}
	for _, f := range m.Families {
		n := 0
		for _, s := range f.Sections {
			v.Sections = append(v.Sections, spanHead{ID: s.ID, Label: s.ID, Family: f.ID, Span: len(s.APIs)})
			n += len(s.APIs)
		}
		v.Families = append(v.Families, spanHead{ID: f.ID, Label: f.Label, Family: f.ID, Span: n})
	}
	for r, row := range m.Rows {
		vr := viewRow{R: r, Name: row.Name, Kind: row.Kind}
		for c, cell := range row.Cells {
			api := m.APIs[c]
			vr.Cells = append(vr.Cells, viewCell{R: r, C: c, API: cell.API, Family: api.Family, Status: cell.Status,
				Symbol:  cell.Status.Symbol(),
				Aria:    fmt.Sprintf("%s, %s %s %s: %s", row.Name, api.Section, api.Method, api.Path, cell.Status.Label()),
				Tooltip: tooltip(row, cell, api)})
		}
		v.Rows = append(v.Rows, vr)
	}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "page.html.tmpl", v); err != nil {
		return fmt.Errorf("render permission map: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// tooltip is the hover text of a cell: status, explain's reason, and the conditions of
// its deciding statements.
func tooltip(row Row, cell Cell, api API) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s · %s %s %s\n%s: %s", row.Name, api.Section, api.Method, api.Path, cell.Status.Label(), cell.Reason)
	for _, i := range cell.Statements {
		st := row.Statements[i]
		fmt.Fprintf(&b, "\n%s", st.Where())
		if st.Condition != "" {
			fmt.Fprintf(&b, " Condition %s", st.Condition)
		}
	}
	return b.String()
}
