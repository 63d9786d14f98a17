package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/explain"
	"github.com/imsguard/imsguard/rego/opa"
	"github.com/imsguard/imsguard/rego/permmap"
)

// explainOptions are the flags of `imsguard explain`.
type explainOptions struct {
	format            string
	project           string
	enterpriseProject string
	lenient           bool
	config            string
	output            string
}

func (o *explainOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json, html (the permission map: one self-contained page) or markdown (the map as tables for a pull-request comment)")
	f.StringVar(&o.project, "project", "ae-ad-1", "`PROJECT` the requests are scoped to (with --config: the configuration's project)")
	f.StringVar(&o.enterpriseProject, "enterprise-project", "", "grant the POLICY documents on enterprise project `EP` (default: on all projects); requests name it")
	f.BoolVar(&o.lenient, "lenient", false, "evaluate documents IAM would reject (fail-safe) instead of refusing them")
	f.StringVar(&o.config, "config", "", "explain each principal of the proxy configuration `FILE` (its policies in their scopes) instead of POLICY arguments")
	f.StringVarP(&o.output, "output", "o", "", "write to `FILE` instead of standard output (written whole, once complete)")
}

func (o *explainOptions) explainOpts() explain.Options {
	return explain.Options{Project: o.project, EnterpriseProject: o.enterpriseProject, Lenient: o.lenient}
}

// mapFormat tells whether the format is a permission map (a row per principal or POLICY).
func (o *explainOptions) mapFormat() bool { return o.format == "html" || o.format == "markdown" }

func newExplainCmd(g *globalOptions) *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain [flags] (POLICY... | --config FILE)",
		Short: "Show what a set of policies grants on every IMS API",
		Long: `Attach the given policies together (files, folders of *.json, or - for stdin) and show,
for every one of the IMS APIs, whether it is Allowed, Denied or Conditional (the answer
depends on a Condition key, a Resource, or the request body) and which statement decides.
APIs whose actions depend on the request body (5.1.2, 5.1.4, 5.3.1) are explained per case.

--config explains each principal of a proxy configuration instead: its policies in their
attachment scopes, requests in the configuration's project, with its engine options.

--format html writes the permission map: one self-contained page (no external asset) with
a row per principal — or per POLICY argument, each explained on its own — and a column per
IMS API grouped by family; each cell Allowed, Conditional, Denied (nothing allows it) or
Explicitly denied, its deciding statements (file:line, statement index, Sid) and conditions
on hover or click, filterable by text, family and status. --format markdown writes the same
map as GitHub-flavoured tables for a pull-request comment. Text and json attach all POLICY
arguments together (with --config: one explanation per principal).

Examples:
  imsguard explain policies/
  imsguard explain --format html -o report.html --config imsguard.toml
  imsguard explain --format markdown policies/reader.json policies/builder.json

Exit status: 0 explained, 2 usage, input or evaluation error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json", "html", "markdown"); err != nil {
				return err
			}
			switch {
			case o.config != "" && len(args) > 0:
				return usageError("give POLICY arguments or --config, not both")
			case o.config == "" && len(args) == 0:
				return usageError("explain needs at least one POLICY (a file, a folder, or - for stdin) or --config FILE; see 'imsguard explain --help'")
			case o.config != "" && o.enterpriseProject != "":
				return usageError("--enterprise-project applies to POLICY arguments; with --config the attachments' scopes come from the configuration")
			}
			return o.write(cmd, func(w io.Writer) error { return runExplain(cmd, g, o, args, w) })
		},
	}
	o.addFlags(cmd)
	return cmd
}

// runExplain explains and renders to w.
func runExplain(cmd *cobra.Command, g *globalOptions, o *explainOptions, args []string, w io.Writer) error {
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	defer opa.BatchGC()()
	rows, err := o.sources(cmd, cat, args)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	switch {
	case o.mapFormat():
		sources := args
		if o.config != "" {
			sources = []string{o.config}
		}
		m, err := permmap.Build(rows, permmap.Options{Sources: sources, Catalog: cat.Version, Generator: "imsguard " + version()})
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		if o.format == "html" {
			return m.WriteHTML(w)
		}
		return m.WriteMarkdown(w)
	case o.config == "" && o.format == "json":
		return rows[0].Explanation.WriteJSON(w)
	case o.config == "":
		return rows[0].Explanation.WriteText(w)
	case o.format == "json":
		return writePrincipalsJSON(w, rows)
	default:
		for i, r := range rows {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "== principal %s ==\n", r.Name)
			if err := r.Explanation.WriteText(w); err != nil {
				return err
			}
		}
		return nil
	}
}

// sources explains what the rows are: each principal of --config; each POLICY argument on
// its own for a map; all POLICY arguments together otherwise.
func (o *explainOptions) sources(cmd *cobra.Command, cat *actions.Catalog, args []string) ([]permmap.Source, error) {
	ctx := cmd.Context()
	rt, err := authz.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	if o.config != "" {
		return o.principalSources(ctx, cmd, cat, rt)
	}
	groups := [][]string{args}
	if o.mapFormat() {
		groups = nil
		for _, a := range args {
			groups = append(groups, []string{a})
		}
	}
	var out []permmap.Source
	for _, paths := range groups {
		files, err := policy.Load(paths, cmd.InOrStdin())
		if err != nil {
			return nil, err
		}
		atts, err := explain.Attach(files, o.enterpriseProject)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", paths[0], err)
		}
		opts := o.explainOpts()
		opts.Runtime = rt
		x, err := explain.Run(ctx, cat, atts, opts)
		if err != nil {
			return nil, err
		}
		name := paths[0]
		if name == "-" {
			name = "(standard input)"
		}
		out = append(out, permmap.Source{Name: name, Kind: "policy", Attachments: atts, Explanation: x})
	}
	return out, nil
}

// principalSources explains each principal of a proxy configuration, as the proxy attaches
// its policies (proxy.ConfigPolicies: strict decoding, no secrets read).
func (o *explainOptions) principalSources(ctx context.Context, cmd *cobra.Command, cat *actions.Catalog, rt *authz.Runtime) ([]permmap.Source, error) {
	cfg, principals, err := proxy.ConfigPolicies(o.config)
	if err != nil {
		return nil, err
	}
	opts := explain.Options{Project: cfg.Project, Lenient: o.lenient || cfg.Engine.Lenient, AbsentNegated: cfg.Engine.AbsentNegated, Runtime: rt}
	if cmd.Flags().Changed("project") {
		opts.Project = o.project
	}
	var out []permmap.Source
	for _, p := range principals {
		if len(p.Attachments) == 0 {
			return nil, fmt.Errorf("config %s: principal %q has no policy documents to explain", o.config, p.Name)
		}
		x, err := explain.Run(ctx, cat, p.Attachments, opts)
		if err != nil {
			return nil, fmt.Errorf("principal %q: %w", p.Name, err)
		}
		out = append(out, permmap.Source{Name: p.Name, Kind: "principal", Identities: p.Identities, Attachments: p.Attachments, Explanation: x})
	}
	return out, nil
}

// writePrincipalsJSON writes one explanation per principal.
func writePrincipalsJSON(w io.Writer, rows []permmap.Source) error {
	type principal struct {
		Principal   string               `json:"principal"`
		Identities  []string             `json:"identities,omitempty"`
		Explanation *explain.Explanation `json:"explanation"`
	}
	var out struct {
		Principals []principal `json:"principals"`
	}
	for _, r := range rows {
		out.Principals = append(out.Principals, principal{Principal: r.Name, Identities: r.Identities, Explanation: r.Explanation})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// write renders to standard output, or to --output FILE (renderOutput: written whole once
// rendered).
func (o *explainOptions) write(cmd *cobra.Command, render func(io.Writer) error) error {
	return renderOutput(cmd, o.output, o.output, render)
}
