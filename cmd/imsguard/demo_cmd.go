package main

import (
	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/proxy/demo"
)

type demoOptions struct {
	keep bool
}

func newDemoCmd(g *globalOptions) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See the proxy allow and deny real IMS calls, locally, without credentials",
		Long: `Start the enforcing proxy in front of in-process stand-ins for IMS and IAM, make ten real
HTTP calls (AK/SK-signed, IAM token, anonymous, a path trick) and print which were allowed,
which were denied and why. Nothing leaves 127.0.0.1; no cloud credentials are needed.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := g.loadCatalog()
			if err != nil {
				return err
			}
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), demo.Options{Catalog: cat, KeepDir: o.keep})
		},
	}
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the generated configuration folder and print its path")
	return cmd
}
