package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/lint"
	"github.com/imsguard/imsguard/rego/opa"
)

// lintOptions are the flags of `imsguard lint`.
type lintOptions struct {
	format    string
	failOn    string
	config    string
	noConfig  bool
	profile   string
	edition   string
	sizeMode  string
	rules     []string
	listRules bool
	// includeSuppressed writes suppressed findings in the sarif and github formats too.
	includeSuppressed bool
}

func newLintCmd(g *globalOptions) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [flags] POLICY...",
		Short: "Check IAM policy documents against the policy language and the IMS catalog",
		Long: `Lint IAM policy documents: files, directories (every *.json below them) or - for stdin.
Every finding has a stable code (imsguard lint --list-rules), a severity, a position and a
JSON pointer. The rules are Rego modules embedded in the binary; --rules DIR adds your own.

Configuration comes from the [lint] table of imsguard.toml, found in the working directory
or a parent (or given with --config): severity overrides, disabled rules, the limit
profile and suppressions with a reason. Flags override it.

Exit status: 0 no unsuppressed finding at or above --fail-on, 1 findings reach it,
2 usage, configuration or I/O error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLint(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, json, sarif or github (workflow annotations)")
	f.StringVar(&o.failOn, "fail-on", "", "lowest severity that fails the run: error, warning, info or none (default error)")
	f.StringVar(&o.config, "config", "", "configuration file (default: imsguard.toml in the working directory or a parent)")
	f.BoolVar(&o.noConfig, "no-config", false, "ignore imsguard.toml")
	f.StringVar(&o.profile, "profile", "", "limit profile: strict or quota-2025 (default strict)")
	f.StringVar(&o.edition, "operator-edition", "", "flag operators of the other edition: 2021 or 2023 (default: accept both)")
	f.StringVar(&o.sizeMode, "size-mode", "", "how E-POLICY-SIZE counts: minified or raw (default minified)")
	f.StringArrayVar(&o.rules, "rules", nil, "folder of your own Rego rules (deny/warn/info over the lint input); repeatable")
	f.BoolVar(&o.listRules, "list-rules", false, "list every finding code and exit")
	f.BoolVar(&o.includeSuppressed, "include-suppressed", false, "also write suppressed findings in the sarif and github formats (text and json always show them)")
	return cmd
}

// runLint loads the configuration and the policies, lints and renders.
func runLint(cmd *cobra.Command, g *globalOptions, o *lintOptions, args []string) error {
	if err := checkFormat(o.format, "text", "json", "sarif", "github"); err != nil {
		return err
	}
	if !o.listRules && len(args) == 0 {
		return usageError("lint needs at least one POLICY (a file, a folder, or - for stdin); see 'imsguard lint --help'")
	}
	cfg, err := o.loadConfig()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	o.merge(cmd, cfg)
	if _, err := lint.FailLevel(o.failOn); err != nil {
		return usageError("--fail-on: %v", err)
	}
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	defer opa.BatchGC()()
	ctx := cmd.Context()
	linter, err := lint.New(ctx, cat, cfg.Options())
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := cfg.Validate(func(code string) bool { _, ok := linter.Rule(code); return ok }, len(cfg.Rules) > 0); err != nil {
		return &exitError{code: 2, err: err}
	}
	if o.listRules {
		return writeRules(cmd.OutOrStdout(), o.format, linter.Rules())
	}
	files, loadErr := policy.Load(args, cmd.InOrStdin())
	report, err := linter.LintFiles(ctx, files, cfg, o.failOn, time.Now())
	if err != nil {
		return err
	}
	report.AddError(loadErr)
	if err := writeLintReport(cmd.OutOrStdout(), o, report, linter); err != nil {
		return err
	}
	if loadErr != nil {
		return &exitError{code: 2, err: loadErr}
	}
	if report.Summary.Failed {
		return negative()
	}
	return nil
}

// loadConfig reads --config, or imsguard.toml found upwards from the working directory.
func (o *lintOptions) loadConfig() (*lint.Config, error) {
	path := o.config
	if path == "" && !o.noConfig {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("find configuration: %w", err)
		}
		if path, err = lint.FindConfig(wd); err != nil {
			return nil, err
		}
	}
	if path == "" {
		return &lint.Config{}, nil
	}
	return lint.LoadConfig(path)
}

// merge lets the flags override the configuration.
func (o *lintOptions) merge(cmd *cobra.Command, cfg *lint.Config) {
	set := func(flag string, dst *string, v string) {
		if cmd.Flags().Changed(flag) {
			*dst = v
		}
	}
	set("profile", &cfg.Profile, o.profile)
	set("operator-edition", &cfg.OperatorEdition, o.edition)
	set("size-mode", &cfg.SizeMode, o.sizeMode)
	if !cmd.Flags().Changed("fail-on") {
		o.failOn = cfg.FailOn
	}
	cfg.Rules = append(cfg.Rules, o.rules...)
}

func writeLintReport(w io.Writer, o *lintOptions, r *lint.Report, l *lint.Linter) error {
	switch o.format {
	case "json":
		return r.WriteJSON(w)
	case "sarif":
		return r.WriteSARIF(w, l.Rules(), lint.SARIFOptions{Version: version(), BaseDir: workingDir(), IncludeSuppressed: o.includeSuppressed})
	case "github":
		return r.WriteGitHub(w, o.includeSuppressed)
	default:
		return r.WriteText(w)
	}
}

func writeRules(w io.Writer, format string, rules []lint.RuleInfo) error {
	if format == "json" {
		return writeJSON(w, rules)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CODE\tSEVERITY\tTITLE\tBASIS\n")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Code, r.Severity, r.Title, r.Basis)
	}
	return tw.Flush()
}

// workingDir is the absolute working directory SARIF logs resolve relative names against,
// "" when it cannot be told.
func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}
