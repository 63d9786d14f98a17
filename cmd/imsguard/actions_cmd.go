package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/actions"
)

func newActionsCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "actions",
		Short: "Show the IMS action catalog and match requests against it",
	}
	cmd.AddCommand(newActionsListCmd(g), newActionsMatchCmd(g))
	return cmd
}

type actionsListOptions struct {
	format string
}

func newActionsListCmd(g *globalOptions) *cobra.Command {
	o := &actionsListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every IMS API with the actions it requires",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			c, err := g.loadCatalog()
			if err != nil {
				return err
			}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), c.APIs())
			}
			return writeCatalogText(cmd.OutOrStdout(), c)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func writeCatalogText(w io.Writer, c *actions.Catalog) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SECTION\tMETHOD\tPATH\tACTIONS\tEP\tID\n")
	for _, a := range c.APIs() {
		acts := strings.Join(a.Actions, ",")
		for _, cond := range a.Conditional {
			if acts != "" {
				acts += ","
			}
			acts += cond.Action + "?"
		}
		if acts == "" {
			acts = "-"
		}
		ep := "no"
		if a.EnterpriseProject {
			ep = "yes"
		}
		id := a.ID
		if a.Deprecated {
			id += " (deprecated)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Section, a.Method, a.Path, acts, ep, id)
	}
	fmt.Fprintf(tw, "\n%d APIs, catalog %s. '?' marks a conditional action (resolved from the request body).\n", len(c.APIs()), c.Version)
	return tw.Flush()
}

type actionsMatchOptions struct {
	format  string
	body    string
	maxBody int64
}

func newActionsMatchCmd(g *globalOptions) *cobra.Command {
	o := &actionsMatchOptions{}
	cmd := &cobra.Command{
		Use:   "match [--format text|json] [--body FILE] METHOD URL",
		Short: "Show which IMS API a request is and which actions it requires",
		Long: `Match an HTTP request against the catalog. URL is a path ("/v2/images?limit=1") or an
http(s) URL. METHOD is upper-cased. --body gives the request body (FILE or - for stdin); it is
needed only for APIs whose actions depend on it (5.1.2, 5.1.4, 5.3.1).

Exit status: 0 matched, 1 no API matched, 2 usage or input error.`,
		Args: exactArgs(2, "METHOD and URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			c, err := g.loadCatalog()
			if err != nil {
				return err
			}
			if o.maxBody > 0 {
				c = c.WithMaxBody(o.maxBody)
			}
			r := c.Route(strings.ToUpper(args[0]), args[1])
			if r.Matched && r.API.NeedsBody() {
				if o.body == "" {
					return usageError("%s %s (%s) requires different actions depending on the request body; pass it with --body FILE (or --body - for stdin)", r.API.Method, r.API.Path, r.API.Section)
				}
				body, err := readBody(o.body, cmd.InOrStdin(), c.MaxBody())
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				if err := c.Resolve(&r, body); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("body %s: %w", o.body, err)}
				}
			}
			if err := writeMatch(cmd.OutOrStdout(), o.format, r); err != nil {
				return err
			}
			if !r.Matched {
				return negative()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&o.body, "body", "", "request body file (- for stdin)")
	cmd.Flags().Int64Var(&o.maxBody, "max-body", actions.DefaultMaxBody, "largest body read to resolve conditional actions, in bytes")
	return cmd
}

// readBody reads at most limit bytes (one more to detect an oversized body).
func readBody(name string, stdin io.Reader, limit int64) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("body %s is larger than %d bytes: %w (raise --max-body if it is legitimate)", name, limit, actions.ErrBodyTooLarge)
	}
	return data, nil
}

// matchJSON is the JSON contract of `actions match`.
type matchJSON struct {
	Matched      bool           `json:"matched"`
	API          *apiJSON       `json:"api,omitempty"`
	Path         string         `json:"path,omitempty"`
	Actions      []string       `json:"actions"`
	Dependencies []string       `json:"dependencies"`
	Params       actions.Params `json:"params"`
	Reason       string         `json:"reason,omitempty"`
	Detail       string         `json:"detail,omitempty"`
}

type apiJSON struct {
	ID                string         `json:"id"`
	Section           string         `json:"section"`
	Title             string         `json:"title"`
	Method            string         `json:"method"`
	Path              string         `json:"path"`
	Family            actions.Family `json:"family"`
	Deprecated        bool           `json:"deprecated"`
	IAMProject        bool           `json:"iam_project"`
	EnterpriseProject bool           `json:"enterprise_project"`
}

func writeMatch(w io.Writer, format string, r actions.Result) error {
	if format == "json" {
		out := matchJSON{Matched: r.Matched, Path: r.Path, Actions: nonNil(r.Actions), Dependencies: nonNil(r.Dependencies), Params: r.Params}
		if r.Matched {
			a := r.API
			out.API = &apiJSON{ID: a.ID, Section: a.Section, Title: a.Title, Method: a.Method, Path: a.Path,
				Family: a.Family, Deprecated: a.Deprecated, IAMProject: a.IAMProject, EnterpriseProject: a.EnterpriseProject}
		} else {
			out.Reason, out.Detail = string(r.Reason), r.Detail
		}
		return writeJSON(w, out)
	}
	if !r.Matched {
		_, err := fmt.Fprintf(w, "no API (%s): %s\n", r.Reason, r.Detail)
		return err
	}
	a := r.API
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	dep := ""
	if a.Deprecated {
		dep = ", deprecated"
	}
	fmt.Fprintf(tw, "API\t%s %s (%s%s)\n", a.Section, a.Title, a.ID, dep)
	fmt.Fprintf(tw, "Route\t%s %s (%s)\n", a.Method, a.Path, a.Family)
	fmt.Fprintf(tw, "Path\t%s\n", r.Path)
	for _, p := range r.Params {
		fmt.Fprintf(tw, "Param\t%s = %s\n", p.Name, p.Value)
	}
	fmt.Fprintf(tw, "Actions\t%s\n", orNone(r.Actions, "none (no IAM action is required)"))
	fmt.Fprintf(tw, "Dependencies\t%s\n", orNone(r.Dependencies, "none"))
	return tw.Flush()
}

func orNone(list []string, none string) string {
	if len(list) == 0 {
		return none
	}
	return strings.Join(list, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return errors.New("write JSON: " + err.Error())
	}
	return nil
}
