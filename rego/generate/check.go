package generate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/lint"
)

// check lints the generated policies. Errors and unexpected warnings fail (ErrNotClean);
// the two warnings a least-privilege split must leave (see the package comment) get a
// suppression with the reason; infos are reported.
func (r *Result) check(ctx context.Context, opts Options, u *usage, c collapser) error {
	files := make([]*policy.File, len(r.Policies))
	for i, p := range r.Policies {
		files[i] = policy.Parse(p.File, p.Document)
	}
	var all []lint.Finding
	var bad []string
	for i, f := range files {
		fs, err := opts.Linter.Lint(ctx, f)
		if err != nil {
			return err
		}
		for _, fd := range fs {
			all = append(all, fd)
			where := fmt.Sprintf("%s:%d:%d: %s %s: %s", fd.File, fd.Line, fd.Column, fd.Severity, fd.Code, fd.Message)
			switch fd.Severity {
			case policy.SeverityError:
				bad = append(bad, where)
			case policy.SeverityWarning:
				why := r.explain(fd, f, files, i, u, c)
				if why == "" {
					bad = append(bad, where)
					continue
				}
				r.Suppressions = append(r.Suppressions, Suppression{Code: fd.Code, File: fd.File, Pointer: fd.Pointer, Reason: why})
			default:
				if fd.Code == "I-EP-UNSUPPORTED" && r.Policies[i].Scope.Kind != authz.ScopeEnterpriseProject {
					continue // about enterprise-project grants; this policy is attached to projects
				}
				r.LintInfos = append(r.LintInfos, fmt.Sprintf("%s:%d:%d: %s: %s", fd.File, fd.Line, fd.Column, fd.Code, fd.Message))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w (a bug in imsguard generate; please report it with the report): %s", ErrNotClean, strings.Join(bad, "; "))
	}
	// The suppressions, applied as `imsguard lint` applies the imsguard.toml written with
	// them, leave nothing at or above warning.
	report, err := lint.NewReport(files, r.LintConfig().Apply(all, opts.Today), policy.SeverityWarning)
	if err != nil {
		return err
	}
	if report.Summary.Failed {
		return fmt.Errorf("%w: the suppressions do not cover every warning (a bug in imsguard generate)", ErrNotClean)
	}
	return nil
}

// LintConfig returns the [lint] table of the result's suppressions.
func (r *Result) LintConfig() *lint.Config {
	cfg := &lint.Config{}
	for _, s := range r.Suppressions {
		cfg.Suppress = append(cfg.Suppress, lint.Suppression{Code: s.Code, File: s.File, Pointer: s.Pointer, Reason: s.Reason})
	}
	return cfg
}

// docActions returns the Action elements of the Allow statements of the file's documents.
func docActions(f *policy.File) []string {
	var out []string
	for _, d := range f.Documents {
		for _, s := range d.Statements {
			if strings.EqualFold(s.Effect, "Allow") {
				out = append(out, s.Actions...)
			}
		}
	}
	return out
}

// explain returns why a warning on a generated policy stays, "" when it should not.
func (r *Result) explain(fd lint.Finding, f *policy.File, files []*policy.File, self int, u *usage, c collapser) string {
	n := f.Root.Find(fd.Pointer)
	if n == nil || n.Kind != policy.KindString {
		return ""
	}
	x := n.Str
	allowed := docActions(f)
	var elsewhere []string // what the other generated policies grant
	var otherFile string
	for i, g := range files {
		if i != self {
			elsewhere = append(elsewhere, docActions(g)...)
			otherFile = g.Name
		}
	}
	vars := c.vars
	switch fd.Code {
	case "W-MISSING-DEPENDENT-ACTION":
		return explainDeps(x, allowed, elsewhere, otherFile, vars, u)
	case "W-PARTIAL-API":
		return explainPartial(x, allowed, vars, u)
	}
	return ""
}

// explainDeps: the dependent actions lint misses for element x are granted in the global
// policy, or needed only by API variants the workload did not use.
func explainDeps(x string, allowed, elsewhere []string, otherFile string, vars []variant, u *usage) string {
	var global, unused []string
	var unusedBy []string
	for _, v := range vars {
		if !keyed(v, x) || !allCovered(allowed, v.needs) {
			continue
		}
		for _, d := range v.deps {
			if covered(allowed, d) {
				continue
			}
			switch {
			case covered(elsewhere, d) && isGlobal(d):
				global = appendNew(global, d)
			case u.used(v):
				return "" // an observed variant lacks a dependent action: a bug
			default:
				unused = appendNew(unused, d)
				unusedBy = appendNew(unusedBy, v.api.Section)
			}
		}
	}
	var parts []string
	if len(global) > 0 {
		parts = append(parts, fmt.Sprintf("%s granted in %s (global services must not share a policy with project-level ones: E-SCOPE-MIX)", strings.Join(global, ", "), otherFile))
	}
	if len(unused) > 0 {
		sort.Strings(unusedBy)
		parts = append(parts, fmt.Sprintf("%s needed only by %s, which %s also opens but the workload did not call", strings.Join(unused, ", "), "API "+strings.Join(unusedBy, ", "), x))
	}
	return strings.Join(parts, "; ")
}

// explainPartial: the APIs the workload called with x need nothing more; the multi-action
// APIs that also need something else were not called.
func explainPartial(x string, allowed []string, vars []variant, u *usage) string {
	var missing, apis []string
	for _, v := range vars {
		if v.cond != "" || len(v.api.Actions) < 2 || !keyed(v, x) || allCovered(allowed, v.needs) {
			continue
		}
		if u.used(v) {
			return ""
		}
		apis = appendNew(apis, v.api.Section)
		for _, a := range v.needs {
			if !covered(allowed, a) {
				missing = appendNew(missing, a)
			}
		}
	}
	if len(apis) == 0 {
		return ""
	}
	var called []string
	for _, a := range u.sortedAPIs() {
		for _, act := range a.Actions {
			if matches(x, act) {
				called = appendNew(called, a.Section)
			}
		}
	}
	sort.Strings(apis)
	return fmt.Sprintf("the workload called %s with %s, which needs nothing more; API %s also need %s, and the workload did not call them",
		"API "+strings.Join(called, ", "), x, strings.Join(apis, ", "), strings.Join(missing, ", "))
}

// keyed reports whether element x selects variant v (x matches one of its keys).
func keyed(v variant, x string) bool {
	for _, k := range v.keys {
		if matches(x, k) {
			return true
		}
	}
	return false
}

func allCovered(grants, acts []string) bool {
	for _, a := range acts {
		if !covered(grants, a) {
			return false
		}
	}
	return true
}

// used reports whether the principal used variant v.
func (u *usage) used(v variant) bool {
	a := u.apis[v.api.ID]
	if a == nil {
		return false
	}
	for _, w := range a.variants {
		if w.cond == v.cond {
			return true
		}
	}
	return false
}

func appendNew(list []string, s string) []string {
	if containsFold(list, s) {
		return list
	}
	return append(list, s)
}
