package generate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imsguard/imsguard/rego/authz"
)

// ConfigName is the file Write puts beside the policies: the [lint] table of their
// suppressions, and the attachments to copy into the proxy configuration as comments.
const ConfigName = "imsguard.toml"

// configMarker starts every imsguard.toml Write writes; Write replaces no other.
const configMarker = "# Written by imsguard generate"

// ErrOverwrite is returned when the output folder holds an imsguard.toml that generate did
// not write.
var ErrOverwrite = errors.New("refusing to overwrite")

// Write puts each result's policies and report (<stem>.report.md) in dir, creating it,
// and the imsguard.toml of their suppressions. source says where the requests came from,
// for the file headers. It returns the files written.
func Write(dir string, results []*Result, source string) ([]string, error) {
	stems := map[string]string{}
	for _, r := range results {
		if other, dup := stems[r.Stem]; dup {
			return nil, fmt.Errorf("principals %q and %q would both write %s.json; generate them one at a time (--principal) into different folders", other, r.Principal, r.Stem)
		}
		stems[r.Stem] = r.Principal
	}
	cfgPath := filepath.Join(dir, ConfigName)
	if data, err := os.ReadFile(cfgPath); err == nil && !bytes.HasPrefix(data, []byte(configMarker)) {
		return nil, fmt.Errorf("%w %s: it was not written by imsguard generate (choose another -o folder)", ErrOverwrite, cfgPath)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	put := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	}
	for _, r := range results {
		for _, p := range r.Policies {
			if err := put(p.File, p.Document); err != nil {
				return written, err
			}
		}
		var b bytes.Buffer
		if err := r.WriteReport(&b, source); err != nil {
			return written, err
		}
		if err := put(r.Stem+".report.md", b.Bytes()); err != nil {
			return written, err
		}
	}
	var b bytes.Buffer
	if err := WriteConfig(&b, results, source); err != nil {
		return written, err
	}
	return written, put(ConfigName, b.Bytes())
}

// WriteConfig writes the imsguard.toml of the results: a [lint] table with their
// suppressions (so `imsguard lint --config` it passes at --fail-on warning), and, as
// comments, the [[principals]] attachments to copy into the proxy configuration.
func WriteConfig(w io.Writer, results []*Result, source string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s from %s.\n", configMarker, source)
	fmt.Fprintln(bw, "# Check the policies beside it: imsguard lint --config imsguard.toml --fail-on warning .")
	fmt.Fprintln(bw, "#")
	fmt.Fprintln(bw, "# Attach them in the proxy configuration (policy paths relative to this folder; add each")
	fmt.Fprintln(bw, "# principal's access_keys, users or sign_upstream):")
	for _, r := range results {
		if len(r.Policies) == 0 {
			continue
		}
		fmt.Fprintf(bw, "#\n# [[principals]]\n# name = %s\n", strconv.Quote(r.Principal))
		for _, p := range r.Policies {
			fmt.Fprintf(bw, "#   [[principals.attachments]]\n#   policy = %s\n", strconv.Quote(p.File))
			for _, line := range scopeTOML(p.Scope) {
				fmt.Fprintf(bw, "#   %s\n", line)
			}
		}
	}
	fmt.Fprintln(bw)
	type suppress struct {
		Code    string `toml:"code"`
		File    string `toml:"file"`
		Pointer string `toml:"pointer"`
		Reason  string `toml:"reason"`
	}
	var doc struct {
		Lint struct {
			Suppress []suppress `toml:"suppress"`
		} `toml:"lint"`
	}
	for _, r := range results {
		for _, s := range r.Suppressions {
			doc.Lint.Suppress = append(doc.Lint.Suppress, suppress(s))
		}
	}
	if len(doc.Lint.Suppress) == 0 {
		fmt.Fprintln(bw, "[lint]")
	} else if err := toml.NewEncoder(bw).Encode(doc); err != nil {
		return err
	}
	return bw.Flush()
}

// scopeTOML renders a scope as attachment keys.
func scopeTOML(sc authz.Scope) []string {
	out := []string{"scope = " + strconv.Quote(string(sc.Kind))}
	quote := func(list []string) string {
		q := make([]string, len(list))
		for i, s := range list {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	if len(sc.Projects) > 0 {
		out = append(out, "projects = "+quote(sc.Projects))
	}
	if len(sc.EnterpriseProjects) > 0 {
		out = append(out, "enterprise_projects = "+quote(sc.EnterpriseProjects))
	}
	return out
}

// ScopeText says where a policy is attached, in words.
func ScopeText(sc authz.Scope) string {
	switch sc.Kind {
	case authz.ScopeProject:
		return "project " + strings.Join(sc.Projects, ", ")
	case authz.ScopeEnterpriseProject:
		return "enterprise project " + strings.Join(sc.EnterpriseProjects, ", ")
	case authz.ScopeGlobal:
		return "global service project"
	default:
		return "all projects"
	}
}

// WriteReport writes the result's report (Markdown): the requests, the policies and where
// to attach them, the APIs used, every grant and why, widenings, the condition, lint, notes.
func (r *Result) WriteReport(w io.Writer, source string) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	c := r.Counts
	p("# imsguard generate: %s\n\n", r.Principal)
	p("From %s.\n\n", source)
	p("%s of principal %s in the window; granted from %d (%d accepted by IMS", plural(c.Requests, "request"), r.Principal, c.Granted, c.Accepted)
	if c.Denied > 0 {
		p(", %d refused by enforce mode, --include-denied", c.Denied)
	}
	p(")")
	for _, x := range []struct {
		n    int
		what string
	}{{c.NotAccepted, "not accepted by IMS"}, {c.DeniedSkipped, "refused by enforce mode"}, {c.NotDecided, "refused before the policies"}, {c.NoAction, "needing no IAM action"}, {c.UnknownAPI, "unknown to the catalog"}} {
		if x.n > 0 {
			p(", %d %s", x.n, x.what)
		}
	}
	if !r.First.IsZero() {
		p("; first %s, last %s", r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339))
	}
	p(".\n\n## Policies\n\n")
	if len(r.Policies) == 0 {
		p("None: nothing to grant.\n\n")
	} else {
		p("| file | attach to | statements | size (characters) |\n|---|---|---|---|\n")
		for _, pol := range r.Policies {
			p("| %s | %s | %d | %d |\n", pol.File, ScopeText(pol.Scope), pol.Statements, pol.Size)
		}
		p("\n")
	}
	if len(r.APIs) > 0 {
		p("## APIs used\n\n| section | API | requests | first seen | last seen | actions | answers |\n|---|---|---|---|---|---|---|\n")
		for _, a := range r.APIs {
			p("| %s | %s %s (%s) | %d | %s | %s | %s | %s |\n", a.Section, a.Method, a.Path, a.ID, a.Requests,
				a.First.UTC().Format(time.RFC3339), a.Last.UTC().Format(time.RFC3339), strings.Join(a.Actions, ", "), statusText(a.Statuses))
		}
		p("\n")
	}
	if len(r.Grants) > 0 {
		p("## Granted\n\n| action | policy | why |\n|---|---|---|\n")
		for _, g := range r.Grants {
			what := g.Action
			if len(g.Actions) > 0 {
				what += " (" + strings.Join(g.Actions, ", ") + ")"
			}
			p("| %s | %s | %s |\n", what, g.Policy, strings.Join(g.Why, "; "))
		}
		p("\n")
	}
	p("## Widened beyond the requests\n\n")
	if len(r.Widenings) == 0 {
		p("Nothing: every grant is needed by a request, or is the catalog's dependent action of an API used.\n\n")
	}
	for _, wd := range r.Widenings {
		p("- %s adds %s: %s\n", wd.Grant, strings.Join(wd.Adds, ", "), wd.Why)
	}
	if len(r.Widenings) > 0 {
		p("\n")
	}
	if r.Condition != nil {
		p("## Condition\n\n%s on %s: %s (%s observed).\n\n", r.Condition.Operator, r.Condition.Key, strings.Join(r.Condition.Values, ", "), plural(r.Condition.Addresses, "address"))
	}
	if len(r.Suppressions)+len(r.LintInfos) > 0 {
		p("## Lint\n\n")
		for _, s := range r.Suppressions {
			p("- %s at %s %s, suppressed in imsguard.toml: %s\n", s.Code, s.File, s.Pointer, s.Reason)
		}
		for _, s := range r.LintInfos {
			p("- info %s\n", s)
		}
		p("\n")
	}
	if len(r.Notes) > 0 {
		p("## Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
	}
	return bw.Flush()
}

// statusText renders answer counts: "200 ×12, 202 ×1, denied ×2".
func statusText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
