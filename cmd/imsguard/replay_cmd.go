package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/decisionlog"
	"github.com/imsguard/imsguard/rego/diff"
	"github.com/imsguard/imsguard/rego/explain"
	"github.com/imsguard/imsguard/rego/opa"
	"github.com/imsguard/imsguard/rego/replay"
)

// candidateOptions are the flags that name the policies replay and unused decide with.
type candidateOptions struct {
	policies      []string
	scope         string
	config        string
	project       string
	absentNegated bool
	lenient       bool
}

func (o *candidateOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.policies, "policy", nil, "candidate policy file or folder of *.json (every principal decided with them); repeatable")
	f.StringVar(&o.scope, "scope", "all_projects", "scope the --policy files are attached in: all_projects, global, project=P1,P2 or enterprise_project=E1,E2")
	f.StringVar(&o.config, "config", "", "an imsguard.toml: each principal decided with its own attachments")
	f.StringVar(&o.project, "project", "ae-ad-1", "project of requests logged without one (default: the configuration's project)")
	f.BoolVar(&o.absentNegated, "absent-negated", false, "negated operators hold on absent keys (AWS reading); default: the configuration's [engine] setting")
	f.BoolVar(&o.lenient, "lenient", false, "evaluate documents IAM would reject, fail-safe")
}

// load reads the candidates: policy files in one scope, or a configuration's principals.
func (o *candidateOptions) load(cmd *cobra.Command) (replay.Candidates, replay.Options, error) {
	opts := replay.Options{Project: o.project, AbsentNegated: o.absentNegated, Lenient: o.lenient}
	if (len(o.policies) == 0) == (o.config == "") {
		return replay.Candidates{}, opts, usageError("give the candidate policies with --policy FILE (repeatable) or --config imsguard.toml (not both)")
	}
	if o.config != "" {
		cfg, principals, err := proxy.ConfigPolicies(o.config)
		if err != nil {
			return replay.Candidates{}, opts, configError(err)
		}
		if !cmd.Flags().Changed("project") {
			opts.Project = cfg.Project
		}
		if !cmd.Flags().Changed("absent-negated") {
			opts.AbsentNegated = cfg.Engine.AbsentNegated
		}
		opts.Lenient = opts.Lenient || cfg.Engine.Lenient
		c := replay.Candidates{Principals: map[string][]authz.Attachment{}}
		for _, p := range principals {
			c.Principals[p.Name] = p.Attachments
		}
		return c, opts, nil
	}
	sc, err := diff.ParseScope(o.scope)
	if err != nil {
		return replay.Candidates{}, opts, usageError("--scope: %v", err)
	}
	files, err := policy.Load(o.policies, cmd.InOrStdin())
	if err != nil {
		return replay.Candidates{}, opts, &exitError{code: 2, err: err}
	}
	atts, err := explain.AttachScope(files, sc)
	if err != nil {
		return replay.Candidates{}, opts, &exitError{code: 2, err: oneLine(err)}
	}
	return replay.Candidates{Set: atts}, opts, nil
}

// replayLogs builds a Replayer and feeds it the logs.
func replayLogs(cmd *cobra.Command, g *globalOptions, logs *logOptions, cands *candidateOptions, args []string) (*replay.Replayer, decisionlog.Stats, error) {
	var st decisionlog.Stats
	paths, err := logs.paths(args)
	if err != nil {
		return nil, st, err
	}
	filter, err := logs.filter(time.Now())
	if err != nil {
		return nil, st, err
	}
	c, opts, err := cands.load(cmd)
	if err != nil {
		return nil, st, err
	}
	cat, err := g.loadCatalog()
	if err != nil {
		return nil, st, &exitError{code: 2, err: err}
	}
	r, err := replay.New(cmd.Context(), cat, c, opts)
	if err != nil {
		return nil, st, &exitError{code: 2, err: fmt.Errorf("%w (run imsguard lint on the policies, or pass --lenient)", err)}
	}
	st, err = decisionlog.Read(paths, cmd.InOrStdin(), filter, func(e *decisionlog.Entry) error {
		return r.Add(cmd.Context(), e)
	})
	if err != nil {
		return nil, st, readErr(err)
	}
	return r, st, nil
}

// replayOptions are the flags of `imsguard replay`.
type replayOptions struct {
	logs   logOptions
	cands  candidateOptions
	format string
}

func newReplayCmd(g *globalOptions) *cobra.Command {
	o := &replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay --from LOG [--principal NAME] (--policy FILE... | --config imsguard.toml)",
		Short: "Re-decide logged requests with candidate policies: what would they deny?",
		Long: `Decide every request of the decision log again with candidate policies, and list the
requests whose decision would change: newly denied first, then undetermined ones, requests
denied before and still (audit mode) that IMS accepted, and newly allowed ones. This is the
measured switch from audit to enforce: replay the audit log against the policies you mean
to enforce (see docs/least-privilege.md).

Each request is decided from what the log says: principal, API and the actions it required
(body-dependent ones as resolved), project, source address and time, enterprise-project
facts. When the decision hangs on something the log does not carry (the IAM user of a
token request, an enterprise project it does not name, a shared-image query), the request
is undetermined unless every reading allows it.

--policy attaches the files in --scope (default all_projects) for every principal;
--config decides each principal with its own attachments (a principal it does not name is
denied everything).

Exit status: 0 every request IMS accepted is allowed, 1 a request IMS accepted would be
denied (or is undetermined), 2 usage, input or evaluation error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			defer opa.BatchGC()()
			r, st, err := replayLogs(cmd, g, &o.logs, &o.cands, args)
			if err != nil {
				return err
			}
			rep := r.Report()
			rep.Notes = append(rep.Notes, logNotes(st)...)
			if rep.Summary.Requests == 0 {
				rep.Notes = append(rep.Notes, "no decision line in "+logSource(st)+principalHint(o.logs.principals, st))
			}
			w := cmd.OutOrStdout()
			if o.format == "json" {
				err = rep.WriteJSON(w)
			} else {
				fmt.Fprintf(w, "Logs: %s\n", logSource(st))
				err = rep.WriteText(w)
			}
			if err != nil {
				return err
			}
			if rep.Fails() {
				return negative()
			}
			return nil
		},
	}
	o.logs.flags(cmd)
	o.cands.flags(cmd)
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}
