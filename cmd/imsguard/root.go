package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imsguard/imsguard/actions"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	catalog string // --catalog override of the embedded catalog
}

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "imsguard",
		Short: "Know, check and enforce the IAM permissions of every IMS API call",
		Long: `imsguard knows which fine-grained IAM permission every Image Management Service (IMS)
API call needs (G42 Cloud / Huawei Cloud ae-ad-1, API reference 2021-06-30), and uses that
to check IAM policy documents and to enforce them in front of IMS.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       readBuildVersion().short(),
	}
	root.SetVersionTemplate("imsguard {{.Version}}\n")
	root.PersistentFlags().StringVar(&g.catalog, "catalog", "", "use this catalog TOML file instead of the embedded one")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newActionsCmd(g), newProxyCmd(g), newValidateCmd(g), newDemoCmd(g), newLintCmd(g), newExplainCmd(g), newDiffCmd(g))
	root.AddCommand(newEvalCmd(g), newCompileCmd(g), newVersionCmd())
	root.AddCommand(newGenerateCmd(g), newReplayCmd(g), newUnusedCmd(g))
	plainBoolFlags(root)
	return root
}

// plainBoolFlags makes --help show boolean flags plainly ("--no-config", where pflag 1.1
// writes "--no-config[=true|false]") in every command: each bool flag's value is wrapped
// in a type pflag does not recognise as a boolean flag in usage. Parsing is unchanged: a
// bare --flag still means true (NoOptDefVal), and the flag's type is still "bool".
func plainBoolFlags(c *cobra.Command) {
	c.InitDefaultHelpFlag()
	c.InitDefaultVersionFlag()
	wrap := func(f *pflag.Flag) {
		if _, done := f.Value.(plainBool); !done && f.Value.Type() == "bool" {
			f.Value = plainBool{f.Value}
		}
	}
	c.LocalFlags().VisitAll(wrap)
	c.PersistentFlags().VisitAll(wrap)
	for _, sub := range c.Commands() {
		plainBoolFlags(sub)
	}
}

// plainBool is a bool flag value without IsBoolFlag (only the pflag.Value methods).
type plainBool struct{ pflag.Value }

// loadCatalog returns the embedded catalog or the --catalog override.
func (g *globalOptions) loadCatalog() (*actions.Catalog, error) {
	if g.catalog == "" {
		return actions.Embedded()
	}
	c, err := actions.LoadFile(g.catalog)
	if err != nil {
		return nil, fmt.Errorf("%w (fix the file or drop --catalog to use the embedded catalog)", err)
	}
	return c, nil
}

// checkFormat validates a --format value.
func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usageError("unknown --format %q (use one of %v)", format, allowed)
}

// exactArgs is cobra.ExactArgs with an exit-2 usage error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s needs %s (got %d argument(s)); see '%s --help'", c.CommandPath(), names, len(args), c.CommandPath())
		}
		return nil
	}
}
