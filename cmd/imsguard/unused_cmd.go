package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/lint"
	"github.com/imsguard/imsguard/rego/opa"
	"github.com/imsguard/imsguard/rego/replay"
	"github.com/imsguard/imsguard/rego/report"
)

// unusedOptions are the flags of `imsguard unused`.
type unusedOptions struct {
	logs   logOptions
	cands  candidateOptions
	format string
	failOn string
}

func newUnusedCmd(g *globalOptions) *cobra.Command {
	o := &unusedOptions{}
	cmd := &cobra.Command{
		Use:   "unused --from LOG (--policy FILE... | --config imsguard.toml) [--principal NAME]",
		Short: "List the actions, statements and policies a principal holds that no logged request used",
		Long: `Decide every request of the decision log again with the principal's policies and report
what none of them used, as lint findings (file, line, column, JSON pointer):

  U-UNUSED-POLICY     no statement of the policy applied to any request (warning)
  U-UNUSED-STATEMENT  the statement matched no request (warning; info for a Deny)
  U-UNUSED-ACTION     the Action element allows IMS actions no request needed (warning)
  U-NOT-OBSERVED      actions of another service no IMS API the principal called depends on:
                      the proxy sees IMS calls only, so their use cannot be judged (info)

Dependent actions of the APIs called (OBS, KMS, ECS, ...) count as used. With --config,
every principal of the configuration is reported (--principal: only these); with --policy,
the principal of the log (name it with --principal when the log holds several).

Exit status: 0, or 1 when findings reach --fail-on (default none); 2 usage, input or
evaluation error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnused(cmd, g, o, args)
		},
	}
	o.logs.flags(cmd)
	o.cands.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text, json or sarif")
	f.StringVar(&o.failOn, "fail-on", "none", "lowest severity that fails the run: error, warning, info or none")
	return cmd
}

func runUnused(cmd *cobra.Command, g *globalOptions, o *unusedOptions, args []string) error {
	if err := checkFormat(o.format, "text", "json", "sarif"); err != nil {
		return err
	}
	if _, err := lint.FailLevel(o.failOn); err != nil {
		return usageError("--fail-on: %v", err)
	}
	defer opa.BatchGC()()
	r, st, err := replayLogs(cmd, g, &o.logs, &o.cands, args)
	if err != nil {
		return err
	}
	principals := o.logs.principals
	if len(principals) == 0 {
		if o.cands.config != "" {
			principals = r.Principals()
		} else {
			principals = principalsOf(st)
			if len(principals) != 1 {
				return usageError("the logs hold %s (%v): name the one the --policy files are for with --principal", countText(len(principals), "principal"), principals)
			}
		}
	}
	var all []lint.Finding
	var results []*replay.Unused
	docs := map[string][]*policy.Document{}
	for _, p := range principals {
		u, err := r.Unused(p)
		if err != nil {
			return usageError("%v", err)
		}
		results = append(results, u)
		all = append(all, u.Findings...)
	}
	for _, p := range principals {
		for _, a := range r.AttachmentsOf(p) {
			if a.Document != nil && !slices.Contains(docs[a.Document.Source], a.Document) {
				docs[a.Document.Source] = append(docs[a.Document.Source], a.Document)
			}
		}
	}
	var files []*policy.File
	for name, ds := range docs {
		files = append(files, &policy.File{Name: name, Documents: ds})
	}
	rep, err := lint.NewReport(files, all, o.failOn)
	if err != nil {
		return usageError("--fail-on: %v", err)
	}
	w := cmd.OutOrStdout()
	switch o.format {
	case "json":
		err = rep.WriteJSON(w)
	case "sarif":
		err = replay.WriteUnusedSARIF(w, rep.Findings, report.Run{Version: version(), BaseDir: workingDir()})
	default:
		fmt.Fprintf(w, "Logs: %s\n", logSource(st))
		for _, n := range logNotes(st) {
			fmt.Fprintf(w, "note: %s\n", n)
		}
		for _, u := range results {
			fmt.Fprintf(w, "Principal %s: %s replayed\n", u.Principal, countText(u.Requests, "request"))
		}
		fmt.Fprintln(w)
		err = rep.WriteText(w)
	}
	if err != nil {
		return err
	}
	if rep.Summary.Failed {
		return negative()
	}
	return nil
}
