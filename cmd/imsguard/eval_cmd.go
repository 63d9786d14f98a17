package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

type evalOptions struct {
	format        string
	input         string
	policies      []string
	action        string
	method        string
	url           string
	body          string
	project       string
	ep            string
	projectSet    bool // --project given (with --input it replaces the file's project)
	epSet         bool // --enterprise-project given
	resource      string
	context       []string
	absentNegated bool
	lenient       bool
}

func newEvalCmd(g *globalOptions) *cobra.Command {
	o := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "eval (--input FILE | --policy FILE... (--action A | --method M --url U [--body FILE])) [--resource R]",
		Short: "Decide Allow / ExplicitDeny / ImplicitDeny for a request against IAM policies, and say why",
		Long: `Evaluate a request the way IAM does: explicit Deny anywhere wins, then any Allow,
otherwise ImplicitDeny. A request names an action, or an HTTP method and URL (and body)
whose required actions come from the IMS catalog; then every required action must be
allowed. For resource-capable services (OBS, ...) it may name a resource.

The output explains the decision: each action with its outcome; every statement
considered, "Matched" or "Skipped" with why (the condition that did not hold, with its
operator, key, the policy's values and the value seen in the request or "absent"; or
the Resource that did not match); attachments skipped for their scope; condition keys
the request lacked; notes, among them a did-you-mean for an ims action the catalog does
not list. --format json carries the same under "statements".

--input FILE is JSON (spec §7.1), read like a policy: errors give line:column, a UTF-8
byte-order mark is fine, duplicate keys and unknown fields are errors.

  {"attachments": [
     {"policy": "policies/dev.json", "scope": {"kind": "project", "projects": ["ae-ad-1"]}},
     {"name": "inline", "scope": "all_projects",
      "policy": {"Version": "1.1", "Statement": [...]}}],
   "request": {
     "action": "ims:images:get",   (or "method" + "url", optionally "body")
     "project": "ae-ad-1", "enterpriseProjectId": "ep-1",
     "resource": "obs:ae-ad-1:ACCOUNT:bucket:audit-logs",
     "context": {"g:SourceIp": "203.0.113.9", "g:UserName": ["alice"]}}}

Policy paths are relative to FILE. Scope kinds: all_projects (the default), project
("projects"), global, enterprise_project ("enterpriseProjects"). A resource is
service:region:account:type:path (five parts; the path may hold colons). Context values
are a string or a list of strings.

Shorthand: --policy FILE (repeatable; attached to all projects), --action or
--method/--url/--body, --project, --enterprise-project, --resource, --context key=value
(repeatable). With --input, --context replaces the file's values for that key, and
--resource, --project and --enterprise-project the file's resource, project and enterprise
project. g:CurrentTime defaults to now.

Exit status: 0 Allow, 1 ExplicitDeny or ImplicitDeny, 2 input errors (the input file, a
flag, a policy IAM would reject without --lenient).`,
		Example: `  imsguard eval --policy policies/dev.json --method GET --url /v2/images/IMAGE_ID --context g:SourceIp=203.0.113.9
  imsguard eval --policy policies/readonly.json --action ims:images:list --format json
  imsguard eval --input request.json --context g:UserName=bob
  imsguard eval --policy obs.json --action obs:bucket:DeleteBucket --resource obs:ae-ad-1:ACCOUNT:bucket:audit-logs`,
		Args: exactArgs(0, "no arguments (use flags)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			o.projectSet, o.epSet = cmd.Flags().Changed("project"), cmd.Flags().Changed("enterprise-project")
			ef, err := o.request(cmd.InOrStdin())
			if err != nil {
				return err
			}
			if _, ok := ef.Input.Context["g:CurrentTime"]; !ok {
				ef.Input.Context["g:CurrentTime"] = []string{time.Now().UTC().Format(time.RFC3339)}
			}
			cat, err := g.loadCatalog()
			if err != nil {
				return err
			}
			eng, err := authz.New(cmd.Context(), cat, ef.Attachments, authz.Options{AbsentNegated: o.absentNegated, Lenient: o.lenient, CacheSize: -1})
			if err != nil {
				if !strings.Contains(err.Error(), "--lenient") {
					err = fmt.Errorf("%w (fix the policy, or pass --lenient to evaluate it fail-safe)", err)
				}
				return &exitError{code: 2, err: err}
			}
			d, why, err := eng.Why(cmd.Context(), ef.Input)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			d.Notes = append(eng.Notes(), d.Notes...)
			if err := writeDecision(cmd.OutOrStdout(), o.format, d, why); err != nil {
				return err
			}
			if d.Effect != authz.Allow {
				return negative()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVar(&o.input, "input", "", "eval input JSON file (attachments + request)")
	f.StringArrayVar(&o.policies, "policy", nil, "policy document attached to all projects (repeatable)")
	f.StringVar(&o.action, "action", "", "the action to decide, e.g. ims:images:list")
	f.StringVar(&o.method, "method", "", "HTTP method of the request")
	f.StringVar(&o.url, "url", "", "URL or path of the request")
	f.StringVar(&o.body, "body", "", "request body file (- for stdin)")
	f.StringVar(&o.project, "project", "ae-ad-1", "project the request is scoped to")
	f.StringVar(&o.ep, "enterprise-project", "", "enterprise project id of the request")
	f.StringVar(&o.resource, "resource", "", "resource of the request, service:region:account:type:path (e.g. obs:ae-ad-1:ACCOUNT:bucket:logs)")
	f.StringArrayVar(&o.context, "context", nil, "condition key=value (repeatable; repeat a key for several values)")
	f.BoolVar(&o.absentNegated, "absent-negated", false, "negated operators are true on an absent key (AWS semantics)")
	f.BoolVar(&o.lenient, "lenient", false, "evaluate documents IAM would reject, fail-safe")
	return cmd
}

// request builds the eval request from --input or from the shorthand flags.
func (o *evalOptions) request(stdin io.Reader) (*authz.EvalFile, error) {
	short := len(o.policies) > 0 || o.action != "" || o.method != "" || o.url != "" || o.body != ""
	if o.input != "" {
		if short {
			return nil, usageError("--input cannot be combined with --policy/--action/--method/--url/--body")
		}
		ef, err := authz.LoadEvalFile(o.input)
		if err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		if err := addContext(ef.Input.Context, o.context); err != nil {
			return nil, err
		}
		if err := o.addResource(&ef.Input); err != nil {
			return nil, err
		}
		if o.projectSet {
			ef.Input.Project = o.project
		}
		if o.epSet {
			ef.Input.EnterpriseProjectID = o.ep
		}
		return ef, nil
	}
	if len(o.policies) == 0 {
		return nil, usageError("give --input FILE, or at least one --policy FILE with --action or --method and --url")
	}
	if (o.action == "") == (o.method == "") || (o.method != "") != (o.url != "") {
		return nil, usageError("give either --action, or --method with --url")
	}
	ef := &authz.EvalFile{Input: authz.Input{
		Action: o.action, Method: strings.ToUpper(o.method), URL: o.url,
		Project: o.project, EnterpriseProjectID: o.ep, Context: map[string][]string{}, Explain: true,
	}}
	if o.body != "" {
		b, err := readBody(o.body, stdin, 1<<20)
		if err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		ef.Input.Body = b
	}
	files, err := policy.Load(o.policies, stdin)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	for _, f := range files {
		// JSON problems (a duplicate key too) are errors, as for the policies of an
		// --input file: which of two keys IAM would read is unknown.
		for _, p := range f.Problems {
			if p.Severity == policy.SeverityError {
				return nil, &exitError{code: 2, err: fmt.Errorf("%s:%s: %s (%s)", f.Name, p.Pos, p.Message, p.Code)}
			}
		}
		for _, d := range f.Documents {
			ef.Attachments = append(ef.Attachments, authz.Attachment{Name: f.Name, Document: d, Scope: authz.Scope{Kind: authz.ScopeAllProjects}})
		}
		if len(f.Documents) == 0 {
			if _, err := authz.SingleDocument(f); err != nil {
				return nil, &exitError{code: 2, err: err}
			}
		}
	}
	if err := addContext(ef.Input.Context, o.context); err != nil {
		return nil, err
	}
	if err := o.addResource(&ef.Input); err != nil {
		return nil, err
	}
	return ef, nil
}

// addResource sets --resource, which replaces the input file's resource, after checking
// its shape.
func (o *evalOptions) addResource(in *authz.Input) error {
	if o.resource == "" {
		return nil
	}
	if err := authz.CheckResource(o.resource); err != nil {
		return usageError("--resource: %v", err)
	}
	in.Resource = o.resource
	return nil
}

// addContext adds --context key=value pairs; a key given on the command line replaces the
// values the input file has for it, and repeating it adds values.
func addContext(ctx map[string][]string, pairs []string) error {
	seen := map[string]bool{}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usageError("--context %q must be key=value, e.g. g:UserName=alice", kv)
		}
		if !seen[k] {
			for existing := range ctx {
				if strings.EqualFold(existing, k) {
					delete(ctx, existing)
				}
			}
			seen[k] = true
		}
		ctx[k] = append(ctx[k], v)
	}
	return nil
}

// decisionJSON is the JSON contract of `imsguard eval`.
type decisionJSON struct {
	Decision    authz.Effect           `json:"decision"`
	API         *apiJSON               `json:"api,omitempty"`
	Actions     []authz.ActionDecision `json:"actions"`
	Skipped     []authz.Skip           `json:"skipped"`
	MissingKeys []string               `json:"missing_context_keys"`
	Notes       []string               `json:"notes"`
	// Statements explains every statement considered, matched or not (authz.Engine.Why).
	Statements []authz.StatementWhy `json:"statements"`
}

// writeDecision renders a decision and its statement-by-statement explanation.
func writeDecision(w io.Writer, format string, d authz.Decision, why []authz.StatementWhy) error {
	if why == nil {
		why = []authz.StatementWhy{}
	}
	if format == "json" {
		out := decisionJSON{Decision: d.Effect, Actions: d.Actions, Skipped: nonNilSkips(d.Skipped), MissingKeys: nonNil(d.MissingKeys), Notes: nonNil(d.Notes), Statements: why}
		if a := d.API; a != nil {
			out.API = &apiJSON{ID: a.ID, Section: a.Section, Title: a.Title, Method: a.Method, Path: a.Path,
				Family: a.Family, Deprecated: a.Deprecated, IAMProject: a.IAMProject, EnterpriseProject: a.EnterpriseProject}
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Decision\t%s\n", d.Effect)
	if a := d.API; a != nil {
		fmt.Fprintf(tw, "API\t%s %s (%s %s)\n", a.Section, a.Title, a.Method, a.Path)
	}
	for _, a := range d.Actions {
		why := "no statement matches"
		if len(a.Matched) > 0 {
			var parts []string
			for _, m := range a.Matched {
				parts = append(parts, fmt.Sprintf("%s statement %d (%s)", m.Policy, m.Statement, m.Effect))
			}
			why = strings.Join(parts, "; ")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", a.Action, a.Effect, why)
	}
	for _, s := range why {
		if s.Matched {
			fmt.Fprintf(tw, "Matched\t%s\n", s)
		}
	}
	for _, s := range why {
		if !s.Matched {
			fmt.Fprintf(tw, "Skipped\t%s\n", s)
		}
	}
	for _, s := range d.Skipped {
		fmt.Fprintf(tw, "Skipped\t%s: %s\n", s.Policy, s.Reason)
	}
	if len(d.MissingKeys) > 0 {
		fmt.Fprintf(tw, "Missing context\t%s (conditions on these keys were false)\n", strings.Join(d.MissingKeys, ", "))
	}
	for _, n := range d.Notes {
		fmt.Fprintf(tw, "Note\t%s\n", n)
	}
	return tw.Flush()
}

func nonNilSkips(s []authz.Skip) []authz.Skip {
	if s == nil {
		return []authz.Skip{}
	}
	return s
}
