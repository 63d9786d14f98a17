package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/rego"
)

// diffOptions are the flags of `imsguard diff`.
type diffOptions struct {
	explainOptions
	failOnWiden bool
}

func newDiffCmd(g *globalOptions) *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff [flags] OLD NEW",
		Short: "Show which IMS APIs and actions a policy change allows or denies",
		Long: `Explain two policy sets (OLD and NEW, each a file or a folder of *.json) and list every IMS
API and action whose status changes: "+" widens access (Denied -> Conditional -> Allowed),
"-" narrows it. Use --fail-on-widen in CI to stop changes that grant more.

Exit status: 0 (also with changes), 1 access widens and --fail-on-widen is given,
2 usage, input or evaluation error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			if len(args) != 2 {
				return usageError("diff needs OLD and NEW (got %d argument(s)); see 'imsguard diff --help'", len(args))
			}
			if args[0] == "-" && args[1] == "-" {
				return usageError("diff can read only one of OLD and NEW from stdin")
			}
			old, err := explainPolicies(cmd, g, &o.explainOptions, args[:1])
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("old policies: %w", err)}
			}
			cur, err := explainPolicies(cmd, g, &o.explainOptions, args[1:])
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("new policies: %w", err)}
			}
			d := rego.Diff(old, cur)
			if o.format == "json" {
				err = d.WriteJSON(cmd.OutOrStdout())
			} else {
				err = d.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if o.failOnWiden && d.Widened > 0 {
				return negative()
			}
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.failOnWiden, "fail-on-widen", false, "exit 1 when the new policies grant more than the old ones")
	return cmd
}
