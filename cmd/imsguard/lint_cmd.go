package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/diff"
	"github.com/imsguard/imsguard/rego/lint"
	"github.com/imsguard/imsguard/rego/opa"
)

// lintOptions are the flags of `imsguard lint`.
type lintOptions struct {
	format      string
	failOn      string
	minSeverity string
	quiet       bool
	output      string
	config      string
	noConfig    bool
	profile     string
	edition     string
	sizeMode    string
	rules       []string
	enable      []string
	scope       string
	asSet       []string
	listRules   bool
	// includeSuppressed writes suppressed findings in the sarif and github formats too.
	includeSuppressed bool
}

func newLintCmd(g *globalOptions) *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [flags] POLICY... | --as-set DIR... | --config imsguard.toml",
		Short: "Check IAM policy documents against the policy language and the IMS catalog",
		Long: `Lint IAM policy documents: files, directories (every *.json below them) or - for stdin.
Every finding has a stable code (imsguard lint --list-rules), a severity, a position and a
JSON pointer. The rules are Rego modules embedded in the binary; --rules DIR adds your own.

Documents attached together are linted together, so that an action one of them grants
satisfies another (a dependent action, the separate policy for a global service):
--as-set DIR lints the documents of a folder as one policy set, and --config imsguard.toml
without POLICY lints the documents of each [[principals]] entry as a set, in the scopes of
their attachments. POLICY arguments are linted each on its own, attached in --scope.

Opt-in codes (--list-rules shows them) are off unless --enable'd: I-EP-UNSUPPORTED fires
for documents attached on an enterprise project (--scope enterprise_project=E, or an
attachment of a principal).

Configuration comes from the [lint] table of imsguard.toml, found in the working directory
or a parent (or given with --config): severity overrides, enabled and disabled rules, the
limit profile and suppressions with a reason. Flags override it.

Exit status: 0 no unsuppressed finding at or above --fail-on, 1 findings reach it,
2 usage, configuration or I/O error (the findings of the files that could be read are
written, without a summary).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLint(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json, sarif or github (workflow annotations)")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&o.failOn, "fail-on", "", "lowest `SEVERITY` that fails the run: error, warning, info or none (default error)")
	f.StringVar(&o.minSeverity, "min-severity", "", "report only findings at or above `SEVERITY`: error, warning or info (default info)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "report errors only (--min-severity error)")
	f.StringVar(&o.config, "config", "", "configuration `FILE` (default: imsguard.toml in the working directory or a parent); without POLICY, lint its principals' policy sets")
	f.BoolVar(&o.noConfig, "no-config", false, "ignore imsguard.toml")
	f.StringVar(&o.profile, "profile", "", "limit `PROFILE`: strict or quota-2025 (default strict)")
	f.StringVar(&o.edition, "operator-edition", "", "flag operators of the other `EDITION`: 2021 or 2023 (default: accept both)")
	f.StringVar(&o.sizeMode, "size-mode", "", "how E-POLICY-SIZE counts (`MODE`): minified or raw (default minified)")
	f.StringArrayVar(&o.rules, "rules", nil, "`DIR` of your own Rego rules (deny/warn/info over the lint input); repeatable")
	f.StringArrayVar(&o.enable, "enable", nil, "turn on an opt-in `CODE` for every document (e.g. I-EP-UNSUPPORTED); repeatable")
	f.StringVar(&o.scope, "scope", "all_projects", "`SCOPE` POLICY and --as-set documents are attached in: all_projects, global, project=P1,P2 or enterprise_project=E1,E2")
	f.StringArrayVar(&o.asSet, "as-set", nil, "lint the documents of `DIR` together, as one policy set; repeatable")
	f.BoolVar(&o.listRules, "list-rules", false, "list every finding code and exit")
	f.BoolVar(&o.includeSuppressed, "include-suppressed", false, "also write suppressed findings in the sarif and github formats (text and json always show them)")
	return cmd
}

// runLint loads the configuration and the policies, lints and renders.
func runLint(cmd *cobra.Command, g *globalOptions, o *lintOptions, args []string) error {
	if err := checkFormat(o.format, "text", "json", "sarif", "github"); err != nil {
		return err
	}
	if o.quiet {
		if cmd.Flags().Changed("min-severity") && o.minSeverity != policy.SeverityError {
			return usageError("give --quiet or --min-severity, not both")
		}
		o.minSeverity = policy.SeverityError
	}
	sc, err := diff.ParseScope(o.scope)
	if err != nil {
		return usageError("--scope: %v", err)
	}
	cfg, err := o.loadConfig()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	principals := false
	if o.config != "" && len(args) == 0 && len(o.asSet) == 0 && !o.listRules {
		if principals, err = hasPrincipals(o.config); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	if !o.listRules && len(args) == 0 && len(o.asSet) == 0 && !principals {
		return usageError("lint needs at least one POLICY (a file, a folder, or - for stdin), --as-set DIR, or --config with [[principals]]; see 'imsguard lint --help'")
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
		return o.write(cmd, func(w io.Writer) error { return writeRules(w, o.format, linter.Rules()) })
	}
	run := lint.Run{Scope: lintScope(sc)}
	files, loadErr := policy.Load(args, cmd.InOrStdin())
	run.Files = files
	for _, dir := range o.asSet {
		members, err := policy.Load([]string{dir}, nil)
		loadErr = joinErr(loadErr, err)
		set := lint.Set{Name: dir}
		for _, f := range members {
			set.Members = append(set.Members, lint.Member{File: f, Scope: run.Scope})
		}
		run.Sets = append(run.Sets, set)
	}
	if principals {
		sets, lerr, err := configSets(o.config)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		loadErr = joinErr(loadErr, lerr)
		run.Sets = append(run.Sets, sets...)
	}
	report, err := linter.LintRun(ctx, run, cfg, o.failOn, time.Now())
	if err != nil {
		return err
	}
	report.AddError(loadErr)
	if err := o.write(cmd, func(w io.Writer) error { return writeLintReport(w, o, report, linter) }); err != nil {
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

// joinErr joins two errors, either of which may be nil.
func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return fmt.Errorf("%w\n%w", a, b)
}

// write renders with render to standard output, or to --output FILE (written whole once
// rendered, so a failed run leaves no half file).
func (o *lintOptions) write(cmd *cobra.Command, render func(io.Writer) error) error {
	if o.output == "" {
		return render(cmd.OutOrStdout())
	}
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(o.output, buf.Bytes(), 0o644); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("write report: %w", err)}
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
	if o.minSeverity != "" {
		cfg.MinSeverity = o.minSeverity
	}
	if !cmd.Flags().Changed("fail-on") {
		o.failOn = cfg.FailOn
	}
	cfg.Rules = append(cfg.Rules, o.rules...)
	for _, code := range o.enable {
		if !containsString(cfg.Enable, code) {
			cfg.Enable = append(cfg.Enable, code)
		}
	}
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
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
		sev := r.Severity
		if r.OptIn != "" {
			sev += " (opt-in)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Code, sev, r.Title, r.Basis)
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
