package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the explanation as one indented JSON object.
func (x *Explanation) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(x); err != nil {
		return fmt.Errorf("write JSON explanation: %w", err)
	}
	return nil
}

// WriteText writes one row per API (section, route, status, why), the body variants of
// the APIs that have them, and a summary.
func (x *Explanation) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Policies: %s\n", strings.Join(x.Policies, ", "))
	if x.EnterpriseProject != "" {
		fmt.Fprintf(w, "Scope:    granted on enterprise project %s; requests in project %s naming it\n", x.EnterpriseProject, x.Project)
	} else {
		fmt.Fprintf(w, "Scope:    granted on all projects; requests in project %s\n", x.Project)
	}
	for _, n := range x.Notes {
		fmt.Fprintf(w, "Note:     %s\n", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SECTION\tMETHOD\tPATH\tSTATUS\tWHY\n")
	for _, a := range x.APIs {
		path := a.Path
		if a.Deprecated {
			path += " (deprecated)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Section, a.Method, path, a.Status, a.Reason)
		if len(a.Variants) > 1 {
			for _, v := range a.Variants {
				fmt.Fprintf(tw, "\t\t  body variant\t%s\t%s: %s\n", v.Status, v.When, v.Reason)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d APIs: %d allowed, %d conditional, %d denied.\n", len(x.APIs),
		x.Summary[StatusAllowed], x.Summary[StatusConditional], x.Summary[StatusDenied])
	return err
}
