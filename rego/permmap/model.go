package permmap

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/explain"
)

// Status is what a cell shows.
type Status string

// The statuses of a cell, from widest to narrowest access.
const (
	// Allowed: every request of the API is allowed, whatever its context.
	Allowed Status = "allowed"
	// Conditional: the answer depends on the request (a Condition or Resource, or the body).
	Conditional Status = "conditional"
	// Denied: nothing allows it (an implicit deny).
	Denied Status = "denied"
	// ExplicitlyDenied: a Deny statement refuses it whatever the request.
	ExplicitlyDenied Status = "explicit-deny"
)

// Statuses lists the statuses in the order the legend shows them.
var Statuses = []Status{Allowed, Conditional, Denied, ExplicitlyDenied}

// Label is the status as words, never only a color or a symbol.
func (s Status) Label() string {
	switch s {
	case Allowed:
		return "Allowed"
	case Conditional:
		return "Conditional"
	case ExplicitlyDenied:
		return "Explicitly denied"
	default:
		return "Denied (nothing allows it)"
	}
}

// Symbol is the status as one character of its own shape, shown beside its color.
func (s Status) Symbol() string {
	switch s {
	case Allowed:
		return "✓"
	case Conditional:
		return "◐"
	case ExplicitlyDenied:
		return "✕"
	default:
		return "·"
	}
}

// Source is one row to draw: what rego/explain said of one principal's policies (or one
// policy file) and the attachments it explained, which name the deciding statements.
type Source struct {
	// Name is the principal's name or the policy path as given.
	Name string
	// Kind is "principal" or "policy".
	Kind string
	// Identities say who the principal is (users, access keys, the default principal).
	Identities []string
	// Attachments are what Explanation was computed from, in the same order (a
	// StatementRef's Attachment indexes them).
	Attachments []authz.Attachment
	// Explanation is explain.Run's result for Attachments.
	Explanation *explain.Explanation
}

// Options describe the map as a whole.
type Options struct {
	// Title heads the page ("imsguard permission map" when empty).
	Title string
	// Sources are what the rows were read from: a configuration file or policy paths.
	Sources []string
	// Catalog is the IMS catalog version the APIs come from.
	Catalog string
	// Generator names what drew the map ("imsguard v1.2.3"), shown in the page's header
	// and left out of its data.
	Generator string
}

// Map is the permission map: API columns grouped by family and section, one row per
// source. It is also the data the HTML page embeds and its script reads.
type Map struct {
	Title             string   `json:"title"`
	Sources           []string `json:"sources"`
	Catalog           string   `json:"catalog,omitempty"`
	Project           string   `json:"project"`
	EnterpriseProject string   `json:"enterprise_project,omitempty"`
	Families          []Family `json:"families"`
	// APIs are the columns in order (the families' sections' APIs, flattened).
	APIs []API `json:"apis"`
	Rows []Row `json:"rows"`
	// Generator is Options.Generator.
	Generator string `json:"-"`
}

// Family is a group of columns: the IMS extension APIs or the native OpenStack ones.
type Family struct {
	ID       string    `json:"id"`
	Label    string    `json:"label"`
	Sections []Section `json:"sections"`
}

// Section is a chapter of the IMS API reference ("5.1"), a sub-group of a family.
type Section struct {
	ID   string   `json:"id"`
	APIs []string `json:"apis"` // API ids
}

// API is one column.
type API struct {
	ID         string `json:"id"`
	Section    string `json:"section"`
	Title      string `json:"title"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Family     string `json:"family"`
	Deprecated bool   `json:"deprecated,omitempty"`
}

// Row is one principal or policy file, a cell per API in column order.
type Row struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Identities []string `json:"identities,omitempty"`
	// Policies are the attachments explained, with their scopes.
	Policies []string `json:"policies"`
	Notes    []string `json:"notes,omitempty"`
	// Counts are the cells of each status.
	Counts map[Status]int `json:"counts"`
	Cells  []Cell         `json:"cells"`
	// Statements are the statements that decide some cell of the row; cells and actions
	// refer to them by index.
	Statements []Statement `json:"statements"`
}

// Cell is what one row is granted on one API.
type Cell struct {
	API    string `json:"api"`
	Status Status `json:"status"`
	// Reason is rego/explain's sentence for the API.
	Reason string `json:"reason"`
	// Statements decide the cell: the Allows of an allowed cell, the Denies of an explicitly
	// denied one, the conditional statements of a conditional one (indexes into
	// Row.Statements); none when nothing allows it.
	Statements []int `json:"statements"`
	// Variants are the API's request-body cases, each with its actions (one variant with
	// an empty When for most APIs).
	Variants []Variant `json:"variants"`
}

// Variant is one set of actions an API may require.
type Variant struct {
	When    string   `json:"when,omitempty"`
	Status  Status   `json:"status"`
	Reason  string   `json:"reason"`
	Actions []Action `json:"actions"`
}

// Action is the status of one required action and what decides it.
type Action struct {
	Action      string   `json:"action"`
	Status      Status   `json:"status"`
	Statements  []int    `json:"statements"`
	Skipped     []string `json:"skipped,omitempty"`
	ContextKeys []string `json:"context_keys,omitempty"`
}

// Statement is a policy statement that decides a cell: where it is and what it says.
type Statement struct {
	// Policy is the attachment's name (the file, with the document's JSON pointer when the
	// file holds several) and Scope where it is attached.
	Policy string `json:"policy"`
	Scope  string `json:"scope"`
	// File, Line and Column locate the statement in its file.
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	// Index is the statement's position in the Statement array (0-based), Sid its Sid.
	Index  int    `json:"index"`
	Sid    string `json:"sid,omitempty"`
	Effect string `json:"effect"`
	// Condition is the statement's Condition object as compact JSON, "" without one.
	Condition string `json:"condition,omitempty"`
	// Resource lists the statement's Resource, when it has one.
	Resource []string `json:"resource,omitempty"`
}

// Where is "FILE:LINE:COLUMN statement N (Sid "X")", how the page and the markdown name a
// statement.
func (s Statement) Where() string {
	w := fmt.Sprintf("%s:%d:%d statement %d", s.File, s.Line, s.Column, s.Index)
	if s.Sid != "" {
		w += fmt.Sprintf(" (Sid %q)", s.Sid)
	}
	return w
}

// ErrNoRows is returned by Build without any source.
var ErrNoRows = errors.New("permission map: nothing to draw")

// familyLabels name the API families of the catalog.
var familyLabels = map[string]string{
	"extension": "IMS extension APIs",
	"openstack": "OpenStack native APIs",
}

// Build lays out the explanations as a map. Every source must explain the same APIs (one
// catalog); the first source's explanation gives the columns, project and scope.
func Build(sources []Source, opts Options) (*Map, error) {
	if len(sources) == 0 {
		return nil, ErrNoRows
	}
	first := sources[0].Explanation
	m := &Map{Title: opts.Title, Sources: opts.Sources, Catalog: opts.Catalog, Project: first.Project,
		EnterpriseProject: first.EnterpriseProject, Rows: []Row{}, Generator: opts.Generator}
	if m.Title == "" {
		m.Title = "imsguard permission map"
	}
	if m.Sources == nil {
		m.Sources = []string{}
	}
	for _, a := range first.APIs {
		m.APIs = append(m.APIs, API{ID: a.ID, Section: a.Section, Title: a.Title, Method: a.Method, Path: a.Path, Family: a.Family, Deprecated: a.Deprecated})
	}
	m.Families = group(m.APIs)
	for _, src := range sources {
		if len(src.Explanation.APIs) != len(m.APIs) {
			return nil, fmt.Errorf("permission map: %s explains %d APIs, %s %d (one catalog for every row)", src.Name, len(src.Explanation.APIs), sources[0].Name, len(m.APIs))
		}
		m.Rows = append(m.Rows, buildRow(src))
	}
	return m, nil
}

// group puts the APIs in families and sections, in catalog order.
func group(apis []API) []Family {
	var out []Family
	for _, a := range apis {
		if len(out) == 0 || out[len(out)-1].ID != a.Family {
			label := familyLabels[a.Family]
			if label == "" {
				label = a.Family
			}
			out = append(out, Family{ID: a.Family, Label: label})
		}
		f := &out[len(out)-1]
		sec := chapter(a.Section)
		if len(f.Sections) == 0 || f.Sections[len(f.Sections)-1].ID != sec {
			f.Sections = append(f.Sections, Section{ID: sec})
		}
		s := &f.Sections[len(f.Sections)-1]
		s.APIs = append(s.APIs, a.ID)
	}
	return out
}

// chapter is the first two numbers of a section: "5.1" of "5.1.4".
func chapter(section string) string {
	parts := strings.SplitN(section, ".", 3)
	if len(parts) < 2 {
		return section
	}
	return parts[0] + "." + parts[1]
}

// rowBuilder collects a row's statements once each.
type rowBuilder struct {
	src   Source
	row   *Row
	index map[[2]int]int
}

func buildRow(src Source) Row {
	row := Row{Name: src.Name, Kind: src.Kind, Identities: src.Identities, Notes: src.Explanation.Notes,
		Counts: map[Status]int{}, Cells: []Cell{}, Statements: []Statement{}, Policies: []string{}}
	for _, a := range src.Attachments {
		row.Policies = append(row.Policies, a.Name+" ("+scopeText(a.Scope)+")")
	}
	b := &rowBuilder{src: src, row: &row, index: map[[2]int]int{}}
	for _, a := range src.Explanation.APIs {
		c := b.cell(a)
		row.Counts[c.Status]++
		row.Cells = append(row.Cells, c)
	}
	return row
}

// cell classifies one API explanation. rego/explain says Denied for an explicit and an
// implicit deny alike; the deciding Deny statements tell them apart.
func (b *rowBuilder) cell(a explain.APIExplanation) Cell {
	c := Cell{API: a.ID, Reason: a.Reason, Statements: []int{}, Variants: []Variant{}}
	deciding := map[int]bool{}
	for _, v := range a.Variants {
		vv := Variant{When: v.When, Reason: v.Reason, Status: status(v.Status, false), Actions: []Action{}}
		for _, ax := range v.Actions {
			act := b.action(ax)
			vv.Actions = append(vv.Actions, act)
			if act.Status == ExplicitlyDenied && v.Status == explain.StatusDenied {
				vv.Status = ExplicitlyDenied
			}
		}
		c.Variants = append(c.Variants, vv)
	}
	c.Status = status(a.Status, false)
	if a.Status == explain.StatusDenied {
		for _, v := range c.Variants {
			if v.Status == ExplicitlyDenied {
				c.Status = ExplicitlyDenied
			}
		}
	}
	// The deciding statements: those of the actions that have the cell's status. A cell
	// the request body makes conditional (its variants differ, no action is conditional)
	// is decided by the statements of every variant.
	want := func(s Status) bool { return s == c.Status }
	if c.Status == Conditional && !c.has(Conditional) {
		want = func(s Status) bool { return s != Denied }
	}
	for _, v := range c.Variants {
		for _, act := range v.Actions {
			if !want(act.Status) {
				continue
			}
			for _, i := range act.Statements {
				if !deciding[i] {
					deciding[i] = true
					c.Statements = append(c.Statements, i)
				}
			}
		}
	}
	return c
}

// has tells whether any action of the cell has status s.
func (c *Cell) has(s Status) bool {
	for _, v := range c.Variants {
		for _, a := range v.Actions {
			if a.Status == s {
				return true
			}
		}
	}
	return false
}

// action turns one action explanation into the map's terms, its statements into row
// statement indexes.
func (b *rowBuilder) action(ax explain.ActionExplanation) Action {
	act := Action{Action: ax.Action, Status: status(ax.Status, len(ax.Deny) > 0), Statements: []int{}, ContextKeys: ax.ContextKeys}
	var refs []authz.StatementRef
	switch act.Status {
	case Allowed:
		refs = ax.Allow
	case Conditional:
		refs = ax.Conditional
	case ExplicitlyDenied:
		refs = ax.Deny
	}
	for _, r := range refs {
		act.Statements = append(act.Statements, b.statement(r))
	}
	for _, s := range ax.Skipped {
		act.Skipped = append(act.Skipped, s.Policy+" is "+s.Reason)
	}
	return act
}

// statement returns the row index of a statement reference, adding it on first use.
func (b *rowBuilder) statement(r authz.StatementRef) int {
	key := [2]int{r.Attachment, r.Statement}
	if i, ok := b.index[key]; ok {
		return i
	}
	st := Statement{Policy: r.Policy, File: r.Policy, Index: r.Statement, Effect: r.Effect}
	if r.Attachment >= 0 && r.Attachment < len(b.src.Attachments) {
		att := b.src.Attachments[r.Attachment]
		st.Scope = scopeText(att.Scope)
		if d := att.Document; d != nil {
			if d.Source != "" {
				st.File = d.Source
			}
			if r.Statement >= 0 && r.Statement < len(d.Statements) {
				describe(&st, d.Statements[r.Statement])
			}
		}
	}
	b.row.Statements = append(b.row.Statements, st)
	i := len(b.row.Statements) - 1
	b.index[key] = i
	return i
}

// describe fills in what a statement says: position, Sid, Condition, Resource.
func describe(st *Statement, s policy.Statement) {
	st.Sid = s.Sid
	if s.Node != nil {
		st.Line, st.Column = s.Node.Pos.Line, s.Node.Pos.Col
		if c := s.Node.Get("Condition"); c != nil {
			// As written: the renderers escape for their format, this is the text.
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(c.Plain()); err == nil {
				st.Condition = strings.TrimSuffix(b.String(), "\n")
			}
		}
	}
	st.Resource = s.Resources
}

// status maps rego/explain's status; explicit tells a Denied decided by a Deny statement.
func status(s explain.Status, explicit bool) Status {
	switch s {
	case explain.StatusAllowed:
		return Allowed
	case explain.StatusConditional:
		return Conditional
	default:
		if explicit {
			return ExplicitlyDenied
		}
		return Denied
	}
}

// scopeText says where an attachment applies.
func scopeText(s authz.Scope) string {
	switch s.Kind {
	case authz.ScopeProject:
		return "projects " + strings.Join(s.Projects, ", ")
	case authz.ScopeEnterpriseProject:
		return "enterprise projects " + strings.Join(s.EnterpriseProjects, ", ")
	case authz.ScopeGlobal:
		return "global"
	default:
		return "all projects"
	}
}
