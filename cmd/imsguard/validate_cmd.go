package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/proxy"
)

type validateOptions struct {
	config string
}

func newValidateCmd(g *globalOptions) *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [--config FILE]",
		Short: "Check a proxy configuration and its policies without serving",
		Long: `Load a proxy configuration exactly as 'imsguard proxy' does — strict decoding, validation,
secrets from the environment, policy files read, linted and compiled — and report what it
would run, without listening. Without --config the embedded default is checked.

Exit status: 0 valid, 1 the configuration or a policy is invalid, 2 other errors (a file
cannot be read).`,
		Args: exactArgs(0, "no arguments (use --config)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			loader, err := newProxyLoader(cmd.Context(), g, o.config)
			if err != nil {
				return err
			}
			s, err := loader.Load(cmd.Context())
			if err != nil {
				return configError(err)
			}
			return writeValidation(cmd.OutOrStdout(), s)
		},
	}
	cmd.Flags().StringVar(&o.config, "config", "", "configuration file (TOML); default: the embedded configuration")
	return cmd
}

// writeValidation renders what a valid configuration would run.
func writeValidation(w io.Writer, s *proxy.Snapshot) error {
	c := s.Config
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "config\t%s: valid (%d files, digest %s)\n", s.Source, len(s.Files), s.Digest[:16])
	fmt.Fprintf(tw, "mode\t%s\n", c.Mode)
	for _, o := range s.ModeOverrides() {
		fmt.Fprintf(tw, "mode override\t%s\n", o)
	}
	fmt.Fprintf(tw, "listen\t%s%s\n", c.Listen, map[bool]string{true: " (TLS)", false: ""}[c.ServerTLS.CertFile != ""])
	fmt.Fprintf(tw, "upstream\t%s%s\n", c.Upstream, map[bool]string{true: " (TLS NOT VERIFIED)", false: ""}[c.UpstreamTLS.InsecureSkipVerify])
	iam := "off (X-Auth-Token requests are denied)"
	if c.IAM.Endpoint != "" {
		iam = c.IAM.Endpoint + " (X-Auth-Token validated, cached up to " + fmt.Sprint(c.IAM.CacheSize) + " tokens)"
	}
	fmt.Fprintf(tw, "iam\t%s\n", iam)
	def := "none (requests without a credential are denied)"
	if c.DefaultPrincipal != "" {
		def = c.DefaultPrincipal
	}
	fmt.Fprintf(tw, "default principal\t%s\n", def)
	metrics := "off"
	if c.Metrics.Listen != "" {
		metrics = c.Metrics.Listen + " (/metrics, /healthz, /readyz)"
	}
	fmt.Fprintf(tw, "metrics\t%s\n", metrics)
	epScoped := false
	for _, pc := range c.Principals {
		for _, a := range pc.Attachments {
			epScoped = epScoped || a.Scope == "enterprise_project"
		}
	}
	switch {
	case c.EPLookup.AccessKey != "":
		fmt.Fprintf(tw, "image EP lookup\t%s**** (cached %s, at most %d in flight)\n", c.EPLookup.AccessKey[:min(4, len(c.EPLookup.AccessKey))], c.EPLookup.CacheTTL, c.EPLookup.MaxConcurrent)
	case epScoped:
		fmt.Fprintf(tw, "image EP lookup\toff: enterprise-project grants cannot allow single-image calls\n")
	}
	for _, pc := range c.Principals {
		p, _ := s.Principal(pc.Name)
		var who []string
		if n := len(pc.AccessKeys); n > 0 {
			who = append(who, fmt.Sprintf("%d access key(s), %d verified", n, len(pc.SecretKeyEnv)))
		}
		if n := len(pc.Users); n > 0 {
			who = append(who, fmt.Sprintf("%d user(s)", n))
		}
		if pc.Name == c.DefaultPrincipal {
			who = append(who, "default")
		}
		if u := pc.SignUpstream; u != nil {
			who = append(who, "signs its requests upstream as "+u.AccessKey[:min(4, len(u.AccessKey))]+"****")
		}
		desc := strings.Join(who, ", ")
		if desc == "" {
			desc = "no credential selects it"
		}
		fmt.Fprintf(tw, "principal\t%s: %d policy document(s); %s\n", pc.Name, len(p.Attachments), desc)
	}
	return tw.Flush()
}
