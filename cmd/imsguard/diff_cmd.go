package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/diff"
	"github.com/imsguard/imsguard/rego/opa"
	"github.com/imsguard/imsguard/rego/report"
)

// diffOptions are the flags of `imsguard diff`.
type diffOptions struct {
	format            string
	project           string
	enterpriseProject string
	scope             string
	absentNegated     bool
	lenient           bool
	failOnWiden       bool
}

func newDiffCmd(g *globalOptions) *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff [flags] OLD NEW",
		Short: "Show what a policy change widens or narrows, statement by statement and API by API",
		Long: `Compare two policy sets and say what the change does to access. OLD and NEW are each a
policy file, a folder of *.json (or - for stdin), or an imsguard.toml whose [[principals]]
attach policies in scopes; a path that does not exist, or a folder without *.json, is no
policies (the first policies added, the last removed). Statements are compared as sets:
files split, merged, renamed or reordered make no change.

Every statement that is new, gone or edited is judged for every service (action patterns,
conditions, resources, scope): "widen" (a request the old policies denied is now allowed;
the request is shown), "changed-unproven" (not provably narrower: counts as a widening),
"narrow" or "neutral". IMS APIs and actions whose status changes are listed as well.

--scope attaches plain policy files in a scope (all_projects, global, project=P1,P2,
enterprise_project=E1,E2; default all_projects); a configuration brings its own scopes.

Exit status: 0 (also with changes), 1 a change widens access or is not provably narrower
and --fail-on-widen is given, 2 usage, input or evaluation error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, json, sarif or github (workflow annotations)")
	f.StringVar(&o.project, "project", "ae-ad-1", "project the IMS API view is explained for (a configuration's project by default)")
	f.StringVar(&o.enterpriseProject, "enterprise-project", "", "grant plain policy files on this enterprise project; IMS API requests name it")
	f.StringVar(&o.scope, "scope", "all_projects", "scope plain policy files are attached in: all_projects, global, project=P1,P2 or enterprise_project=E1,E2")
	f.BoolVar(&o.absentNegated, "absent-negated", false, "negated operators are true on an absent key (AWS semantics); default: a configuration's [engine] setting")
	f.BoolVar(&o.lenient, "lenient", false, "evaluate documents IAM would reject (fail-safe) instead of refusing them")
	f.BoolVar(&o.failOnWiden, "fail-on-widen", false, "exit 1 when a change widens access or is not provably narrower")
	return cmd
}

// runDiff loads both sides, compares and renders.
func runDiff(cmd *cobra.Command, g *globalOptions, o *diffOptions, args []string) error {
	if err := checkFormat(o.format, "text", "json", "sarif", "github"); err != nil {
		return err
	}
	if len(args) != 2 {
		return usageError("diff needs OLD and NEW (got %d argument(s)); see 'imsguard diff --help'", len(args))
	}
	if args[0] == "-" && args[1] == "-" {
		return usageError("diff can read only one of OLD and NEW from stdin")
	}
	sc, err := diff.ParseScope(o.scope)
	if err != nil {
		return usageError("--scope: %v", err)
	}
	if o.enterpriseProject != "" {
		if cmd.Flags().Changed("scope") {
			return usageError("give --scope or --enterprise-project, not both")
		}
		sc = authz.Scope{Kind: authz.ScopeEnterpriseProject, EnterpriseProjects: []string{o.enterpriseProject}}
	}
	cat, err := g.loadCatalog()
	if err != nil {
		return err
	}
	opts := diff.Options{Project: o.project, EnterpriseProject: o.enterpriseProject, Lenient: o.lenient}
	var sides [2]diff.Side
	var configs [2]bool
	for i, arg := range args {
		side, cfg, err := o.loadSide(cmd, arg, sc)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("%s policies: %w", [2]string{"old", "new"}[i], err)}
		}
		if cfg != nil {
			configs[i] = true
			opts.Lenient = opts.Lenient || cfg.Engine.Lenient
			if !cmd.Flags().Changed("project") {
				opts.Project = cfg.Project
			}
		}
		sides[i] = side
	}
	for i := range sides {
		if configs[i] && !configs[1-i] && len(sides[1-i].Units) > 0 && len(sides[1-i].Units[0].Attachments) > 0 {
			return usageError("compare a configuration with a configuration: %s is an imsguard.toml, %s holds policy files", args[i], args[1-i])
		}
	}
	defer opa.BatchGC()()
	r, err := diff.Compare(cmd.Context(), cat, sides[0], sides[1], opts)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%w (run imsguard lint on the policies, or pass --lenient)", err)}
	}
	if err := writeDiff(cmd.OutOrStdout(), o.format, r); err != nil {
		return err
	}
	if o.failOnWiden && r.Summary.FailsGate {
		return negative()
	}
	return nil
}

// loadSide reads one side: an imsguard.toml (its principals, scopes and engine options)
// or policy paths attached in sc. A configuration that does not exist is no policies.
func (o *diffOptions) loadSide(cmd *cobra.Command, arg string, sc authz.Scope) (diff.Side, *proxy.Config, error) {
	if !strings.HasSuffix(arg, ".toml") {
		side, err := diff.LoadPolicies([]string{arg}, cmd.InOrStdin(), sc)
		side.AbsentNegated = o.absentNegated
		return side, nil, err
	}
	side := diff.Side{Sources: []string{arg}, AbsentNegated: o.absentNegated}
	if _, err := os.Stat(arg); errors.Is(err, fs.ErrNotExist) {
		side.Notes = append(side.Notes, arg+" does not exist: compared as no policies")
		return side, nil, nil
	}
	cfg, principals, err := proxy.ConfigPolicies(arg)
	if err != nil {
		return side, nil, err
	}
	if !cmd.Flags().Changed("absent-negated") {
		side.AbsentNegated = cfg.Engine.AbsentNegated
	}
	for _, p := range principals {
		side.Units = append(side.Units, diff.Unit{Name: p.Name, Identities: p.Identities, Attachments: p.Attachments})
	}
	return side, cfg, nil
}

func writeDiff(w io.Writer, format string, r *diff.Report) error {
	switch format {
	case "json":
		return r.WriteJSON(w)
	case "sarif":
		return r.WriteSARIF(w, report.Run{Version: version(), BaseDir: workingDir()})
	case "github":
		return r.WriteGitHub(w)
	default:
		return r.WriteText(w)
	}
}
