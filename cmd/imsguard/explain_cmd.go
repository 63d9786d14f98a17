package main

import (
	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/explain"
	"github.com/imsguard/imsguard/rego/opa"
)

// explainOptions are the flags of `imsguard explain`.
type explainOptions struct {
	format            string
	project           string
	enterpriseProject string
	lenient           bool
}

func (o *explainOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVar(&o.project, "project", "ae-ad-1", "project the requests are scoped to")
	f.StringVar(&o.enterpriseProject, "enterprise-project", "", "grant the policies on this enterprise project (default: on all projects)")
	f.BoolVar(&o.lenient, "lenient", false, "evaluate documents IAM would reject (fail-safe) instead of refusing them")
}

func (o *explainOptions) explainOpts() explain.Options {
	return explain.Options{Project: o.project, EnterpriseProject: o.enterpriseProject, Lenient: o.lenient}
}

func newExplainCmd(g *globalOptions) *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain [flags] POLICY...",
		Short: "Show what a set of policies grants on every IMS API",
		Long: `Attach the given policies together (files, folders of *.json, or - for stdin) and show,
for every one of the IMS APIs, whether it is Allowed, Denied or Conditional (the answer
depends on a Condition key, a Resource, or the request body) and which statement decides.
APIs whose actions depend on the request body (5.1.2, 5.1.4, 5.3.1) are explained per case.

Exit status: 0 explained, 2 usage, input or evaluation error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			if len(args) == 0 {
				return usageError("explain needs at least one POLICY (a file, a folder, or - for stdin); see 'imsguard explain --help'")
			}
			x, err := explainPolicies(cmd, g, o, args)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if o.format == "json" {
				return x.WriteJSON(cmd.OutOrStdout())
			}
			return x.WriteText(cmd.OutOrStdout())
		},
	}
	o.addFlags(cmd)
	return cmd
}

// explainPolicies loads policy paths and explains them.
func explainPolicies(cmd *cobra.Command, g *globalOptions, o *explainOptions, paths []string) (*explain.Explanation, error) {
	cat, err := g.loadCatalog()
	if err != nil {
		return nil, err
	}
	files, err := policy.Load(paths, cmd.InOrStdin())
	if err != nil {
		return nil, err
	}
	atts, err := explain.Attach(files, o.enterpriseProject)
	if err != nil {
		return nil, err
	}
	defer opa.BatchGC()()
	return explain.Run(cmd.Context(), cat, atts, o.explainOpts())
}
