package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Change is one API (or API variant) or action whose status differs between two
// explanations.
type Change struct {
	// Kind is "api" or "action".
	Kind string `json:"kind"`
	// Name is the API id or the action.
	Name    string `json:"name"`
	Section string `json:"section,omitempty"`
	Method  string `json:"method,omitempty"`
	Path    string `json:"path,omitempty"`
	// When names the request-body variant of an API with several ("" otherwise).
	When string `json:"when,omitempty"`
	From Status `json:"from"`
	To   Status `json:"to"`
	// Widens is true when access grows (Denied → Conditional → Allowed).
	Widens bool `json:"widens"`
	// Reason is why the new policies give the new status.
	Reason string `json:"reason"`
}

// Diff lists what changes from one policy set to another.
type Diff struct {
	Old      []string `json:"old"`
	New      []string `json:"new"`
	Changes  []Change `json:"changes"`
	Widened  int      `json:"widened"`
	Narrowed int      `json:"narrowed"`
}

// Diff compares two explanations made with the same catalog and options: every API
// variant and every action whose status changes, widening first.
func Compare(old, cur *Explanation) *Diff {
	r := &Diff{Old: old.Policies, New: cur.Policies, Changes: []Change{}}
	for i, a := range cur.APIs {
		if i >= len(old.APIs) || old.APIs[i].ID != a.ID {
			continue
		}
		o := old.APIs[i]
		for j, v := range a.Variants {
			if j >= len(o.Variants) || o.Variants[j].Status == v.Status {
				continue
			}
			r.add(Change{Kind: "api", Name: a.ID, Section: a.Section, Method: a.Method, Path: a.Path, When: v.When,
				From: o.Variants[j].Status, To: v.Status, Reason: v.Reason})
		}
	}
	for i, a := range cur.Actions {
		if i >= len(old.Actions) || old.Actions[i].Action != a.Action || old.Actions[i].Status == a.Status {
			continue
		}
		r.add(Change{Kind: "action", Name: a.Action, From: old.Actions[i].Status, To: a.Status, Reason: a.reason()})
	}
	return r
}

func (r *Diff) add(c Change) {
	c.Widens = c.To.rank() > c.From.rank()
	if c.Widens {
		r.Widened++
	} else {
		r.Narrowed++
	}
	r.Changes = append(r.Changes, c)
}

// Narrows reports whether the status goes down (Allowed → Conditional → Denied).
func (c Change) Narrows() bool { return c.To.rank() < c.From.rank() }

// WriteChanges writes one line per change, APIs first, then actions: the sign the caller
// gives it, the API (section, method, path, variant) or the action, the old and new
// status and the reason. Explain's and diff's text reports share it.
func WriteChanges(b *strings.Builder, cs []Change, sign func(Change) string) {
	for _, kind := range []string{"api", "action"} {
		for _, c := range cs {
			if c.Kind != kind {
				continue
			}
			what := c.Name
			if kind == "api" {
				what = fmt.Sprintf("%s %s %s", c.Section, c.Method, c.Path)
				if c.When != "" {
					what += " (when " + c.When + ")"
				}
			}
			fmt.Fprintf(b, "%s %s: %s -> %s (%s)\n", sign(c), what, c.From, c.To, c.Reason)
		}
	}
}

// WriteJSON writes the result as one indented JSON object.
func (r *Diff) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON diff: %w", err)
	}
	return nil
}

// WriteText writes one line per change, "+" widening and "-" narrowing, APIs then
// actions, and a summary line.
func (r *Diff) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Old: %s\nNew: %s\n\n", strings.Join(r.Old, ", "), strings.Join(r.New, ", "))
	WriteChanges(&b, r.Changes, func(c Change) string {
		if c.Widens {
			return "+"
		}
		return "-"
	})
	if len(r.Changes) == 0 {
		b.WriteString("No change in what the policies grant on IMS.\n")
	} else {
		fmt.Fprintf(&b, "\n%s: %d widen access, %d narrow it.\n", plural(len(r.Changes), "change", "changes"), r.Widened, r.Narrowed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// plural renders n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
