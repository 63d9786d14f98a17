package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/imsguard/imsguard/rego/explain"
)

var kindSign = map[Kind]string{KindWiden: "+", KindUnproven: "!", KindNarrow: "-", KindNeutral: "="}

// WriteJSON writes the report as one indented JSON object {old, new, changes, ims,
// summary, notes}.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON diff: %w", err)
	}
	return nil
}

// WriteText writes every statement change ("+" widens, "!" changed but not provably
// narrower, "-" narrows, "=" written differently, same access) with its explanation,
// then the IMS APIs and actions whose status changes, then a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Old: %s\nNew: %s\n", listOrNothing(r.Old), listOrNothing(r.New))
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	if len(r.Changes) > 0 {
		b.WriteString("\nStatements:\n")
	}
	for _, c := range r.Changes {
		writeChange(&b, c)
	}
	for _, d := range r.IMS {
		title := "IMS APIs and actions"
		if d.Principal != "" {
			title += " of principal " + d.Principal
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		explain.WriteChanges(&b, d.Changes, routeSign)
	}
	b.WriteString("\n")
	b.WriteString(r.Summary.text(len(r.Changes)))
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// routeSign marks an IMS route-level change: "+" widens, "-" narrows, "~" a wider status
// that allows nothing new.
func routeSign(c explain.Change) string {
	switch {
	case c.Widens:
		return "+"
	case c.Narrows():
		return "-"
	}
	return "~"
}

func listOrNothing(l []string) string {
	if len(l) == 0 {
		return "(nothing)"
	}
	return strings.Join(l, ", ")
}

func writeChange(b *strings.Builder, c Change) {
	who := ""
	if c.Principal != "" {
		who = "principal " + c.Principal + ": "
	}
	fmt.Fprintf(b, "%s %s: %s%s %s", kindSign[c.Kind], c.Kind, who, c.What, where(c))
	b.WriteString("\n")
	for _, a := range c.Actions {
		if a.Kind == KindNeutral && c.Kind != KindNeutral {
			continue
		}
		line := fmt.Sprintf("    %s: %s", patternWords(a.Action), a.Kind)
		if len(a.APIs) > 0 {
			line += " (IMS APIs " + strings.Join(a.APIs, ", ") + ")"
		}
		if a.Kind == KindUnproven {
			line += " — " + a.Reason
		}
		b.WriteString(line + "\n")
	}
	if c.Scope != "" {
		fmt.Fprintf(b, "    scope: %s\n", c.Scope)
	}
	for _, cc := range c.Conditions {
		fmt.Fprintf(b, "    condition %s: %s → %s: %s\n", cc.Key, cc.Old, cc.New, cc.Change)
	}
	if c.What == "added" || c.What == "removed" {
		st := c.New
		if st == nil {
			st = c.Old
		}
		if len(st.Conditions) > 0 {
			fmt.Fprintf(b, "    condition: %s\n", strings.Join(st.Conditions, " and "))
		}
		if st.Scope != "" && st.Scope != "all projects" {
			fmt.Fprintf(b, "    scope: %s\n", st.Scope)
		}
	}
	if c.Example != nil {
		fmt.Fprintf(b, "    e.g. %s\n", c.Example)
	}
	if c.What == "not evaluated" {
		fmt.Fprintf(b, "    %s\n", c.Reason)
	}
}

// where names the statements of a change: "Allow statement a.json statement 0 (line 3),
// was old/a.json statement 0".
func where(c Change) string {
	at := func(s *Statement) string {
		if s.Statement < 0 {
			return s.Policy
		}
		t := fmt.Sprintf("%s statement %d", s.Policy, s.Statement)
		if s.Line > 0 {
			t += fmt.Sprintf(" (line %d)", s.Line)
		}
		return t
	}
	effect := ""
	if c.Effect != "" {
		effect = c.Effect + " "
	}
	switch {
	case c.New != nil && c.Old != nil:
		if c.Old.Effect != c.New.Effect {
			effect = c.Old.Effect + " → " + c.New.Effect + " "
		}
		return effect + at(c.New) + ", was " + at(c.Old)
	case c.New != nil:
		return effect + at(c.New)
	case c.Old != nil:
		return effect + at(c.Old)
	}
	return ""
}

// text is the summary line. It says "no change" only when no statement changed.
func (s Summary) text(changes int) string {
	if changes == 0 && s.IMSWidened+s.IMSNarrowed == 0 {
		return "No change in what the policies grant."
	}
	line := fmt.Sprintf("%d statement %s: %d %s access, %d not provably narrower, %d %s it, %d without effect on access",
		changes, plural(changes, "change", "changes"), s.Widen, plural(s.Widen, "widens", "widen"), s.Unproven,
		s.Narrow, plural(s.Narrow, "narrows", "narrow"), s.Neutral)
	if s.IMSWidened+s.IMSNarrowed > 0 {
		line += fmt.Sprintf("; IMS: %d API/action statuses widen, %d narrow", s.IMSWidened, s.IMSNarrowed)
	}
	if s.FailsGate {
		line += "; fails --fail-on-widen"
	}
	return line + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
