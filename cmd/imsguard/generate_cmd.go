package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/rego/decisionlog"
	"github.com/imsguard/imsguard/rego/generate"
	"github.com/imsguard/imsguard/rego/lint"
	"github.com/imsguard/imsguard/rego/opa"
)

// generateOptions are the flags of `imsguard generate`.
type generateOptions struct {
	logs          logOptions
	out           string
	format        string
	includeDenied bool
	collapse      string
	suggest       bool
	cidr4, cidr6  int
	profile       string
}

func newGenerateCmd(g *globalOptions) *cobra.Command {
	o := &generateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --from LOG... [--principal NAME] [--since DURATION] [-o DIR]",
		Short: "Write least-privilege IAM policies from the proxy's decision log",
		Long: `Write the IAM policies a workload needs, from what it really called: the proxy's decision
log (run the proxy in audit mode with a broad policy first; see docs/least-privilege.md).

For each principal (--principal: only these), the requests IMS accepted are granted
(--include-denied: also those enforce mode refused): every action each API used requires,
the body-dependent ones as the proxy resolved them, and the catalog's dependent actions of
each API variant used. Project-level services go in <principal>.json, attached to the
projects (or enterprise projects) the requests were in; global services (OBS) in
<principal>-global.json, attached to the global service project.

--collapse exact (default) writes ims:images:* only when every catalog action under it is
granted; --collapse service writes one wildcard per service. --suggest-conditions adds an
IpAddress condition on g:SourceIp with the observed addresses as CIDR ranges
(--cidr-prefix, --cidr-prefix6). The policies fit the limits of --profile; whatever a limit
forces wider is reported. The result is linted with the embedded linter.

-o DIR writes the policies, a report per principal (<principal>.report.md: APIs seen with
counts and first/last time, every grant and why) and an imsguard.toml with the lint
suppressions the split needs (imsguard lint --config DIR/imsguard.toml --fail-on warning DIR
passes) and the attachments to copy. Without -o, everything is printed.

Exit status: 0 written (also when nothing needs granting), 2 usage, input or I/O error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd, g, o, args)
		},
	}
	o.logs.flags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "write the policies, reports and imsguard.toml into this folder")
	f.StringVar(&o.format, "format", "text", "what is printed: text or json")
	f.BoolVar(&o.includeDenied, "include-denied", false, "also grant what enforce mode denied")
	f.StringVar(&o.collapse, "collapse", generate.CollapseExact, "wildcards: exact (only where they grant nothing more) or service")
	f.BoolVar(&o.suggest, "suggest-conditions", false, "add an IpAddress condition on g:SourceIp with the observed addresses")
	f.IntVar(&o.cidr4, "cidr-prefix", 24, "prefix length the observed IPv4 addresses are widened to (--suggest-conditions)")
	f.IntVar(&o.cidr6, "cidr-prefix6", 64, "prefix length the observed IPv6 addresses are widened to (--suggest-conditions)")
	f.StringVar(&o.profile, "profile", lint.ProfileStrict, "limit profile the policies must fit: strict or quota-2025")
	return cmd
}

// generateOutput is the JSON printed by --format json.
type generateOutput struct {
	Logs    decisionlog.Stats  `json:"logs"`
	Written []string           `json:"written,omitempty"`
	Results []*generate.Result `json:"results"`
}

func runGenerate(cmd *cobra.Command, g *globalOptions, o *generateOptions, args []string) error {
	if err := checkFormat(o.format, "text", "json"); err != nil {
		return err
	}
	if o.collapse != generate.CollapseExact && o.collapse != generate.CollapseService {
		return usageError("unknown --collapse %q (use exact or service)", o.collapse)
	}
	if o.cidr4 < 0 || o.cidr4 > 32 || o.cidr6 < 0 || o.cidr6 > 128 {
		return usageError("--cidr-prefix is 0..32 and --cidr-prefix6 0..128")
	}
	if _, err := lint.LimitProfile(o.profile); err != nil {
		return usageError("--profile: %v", err)
	}
	paths, err := o.logs.paths(args)
	if err != nil {
		return err
	}
	filter, err := o.logs.filter(time.Now())
	if err != nil {
		return err
	}
	cat, err := g.loadCatalog()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	obs := generate.NewObserver(cat, o.includeDenied)
	st, err := decisionlog.Read(paths, cmd.InOrStdin(), filter, func(e *decisionlog.Entry) error {
		obs.Add(e)
		return nil
	})
	if err != nil {
		return readErr(err)
	}
	principals := obs.Principals()
	if len(principals) == 0 {
		return &exitError{code: 2, err: fmt.Errorf("no decision line of an identified principal in %s%s", logSource(st), principalHint(o.logs.principals, st))}
	}
	defer opa.BatchGC()()
	l, err := lint.New(cmd.Context(), cat, lint.Options{Profile: o.profile})
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	opts := generate.Options{Collapse: o.collapse, SuggestConditions: o.suggest, CIDR4: o.cidr4, CIDR6: o.cidr6, Profile: o.profile, Linter: l}
	var results []*generate.Result
	for _, p := range principals {
		r, err := generate.Generate(cmd.Context(), cat, obs, p, opts)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		r.Notes = append(r.Notes, logNotes(st)...)
		results = append(results, r)
	}
	source := logSource(st)
	var written []string
	if o.out != "" {
		if written, err = generate.Write(o.out, results, source); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	w := cmd.OutOrStdout()
	if o.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(generateOutput{Logs: st, Written: written, Results: results})
	}
	if o.out != "" {
		return writeGenerateSummary(w, o.out, results, written)
	}
	for _, r := range results {
		for _, p := range r.Policies {
			fmt.Fprintf(w, "## %s (attach to %s)\n\n```json\n%s```\n\n", p.File, generate.ScopeText(p.Scope), p.Document)
		}
		if err := r.WriteReport(w, source); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	return nil
}

// principalHint names the principals of the logs when --principal matched none.
func principalHint(asked []string, st decisionlog.Stats) string {
	if len(asked) == 0 {
		return ""
	}
	var seen []string
	for p := range st.Seen {
		if p != "" {
			seen = append(seen, p)
		}
	}
	sort.Strings(seen)
	return fmt.Sprintf(" for --principal %s (principals in the logs: %s)", strings.Join(asked, ", "), strings.Join(seen, ", "))
}

// writeGenerateSummary says what was written, principal by principal.
func writeGenerateSummary(w io.Writer, dir string, results []*generate.Result, written []string) error {
	for _, r := range results {
		n := 0
		for _, g := range r.Grants {
			n += max(len(g.Actions), 1)
		}
		fmt.Fprintf(w, "%s: %s in %s from %s (%s)", r.Principal, countText(n, "action"), countText(len(r.Policies), "policy file"),
			countText(r.Counts.Granted, "request"), countText(len(r.APIs), "API"))
		if len(r.Widenings) > 0 {
			fmt.Fprintf(w, "; %s beyond the requests, see the report", countText(len(r.Widenings), "widening"))
		}
		fmt.Fprintln(w)
		for _, p := range r.Policies {
			fmt.Fprintf(w, "  %s  attach to %s\n", p.File, generate.ScopeText(p.Scope))
		}
		fmt.Fprintf(w, "  %s.report.md\n", r.Stem)
	}
	fmt.Fprintf(w, "wrote %s in %s; check: imsguard lint --config %s/%s --fail-on warning %s\n",
		countText(len(written), "file"), dir, strings.TrimSuffix(dir, "/"), generate.ConfigName, dir)
	return nil
}
