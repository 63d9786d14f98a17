package lint

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/policy"
)

// Scope kinds: where a document is attached (the scopes of imsguard.toml attachments).
const (
	// ScopeUnknown: nothing is known about the attachment; every document of the set
	// counts for every other.
	ScopeUnknown           = ""
	ScopeAllProjects       = "all_projects"
	ScopeGlobal            = "global"
	ScopeProject           = "project"
	ScopeEnterpriseProject = "enterprise_project"
)

// Scope says where a document is attached, as far as lint cares: the enterprise-project
// note (CodeEPUnsupported) and which other documents of a set grant to it.
type Scope struct {
	Kind string
	// Names are the projects (ScopeProject) or enterprise projects (ScopeEnterpriseProject).
	Names []string
}

// Member is a file of a policy set, attached in a scope.
type Member struct {
	File  *policy.File
	Scope Scope
}

// Set is a policy set: documents attached together, such as a principal of an
// imsguard.toml or a folder given with --as-set. Name says which ("principal ci",
// "policies/team-a").
type Set struct {
	Name    string
	Members []Member
}

// LintSet lints every document of a policy set as Lint does, together: an action another
// document of the set grants where this one applies (input.set_allowed) satisfies
// W-MISSING-DEPENDENT-ACTION and W-PARTIAL-API, so the separate policy for a global
// service that E-SCOPE-MIX asks for counts; documents attached on an enterprise project
// get CodeEPUnsupported. Findings come per member, in member order.
func (l *Linter) LintSet(ctx context.Context, set Set) ([][]Finding, error) {
	type doc struct {
		d     *policy.Document
		scope Scope
		names []string // the known names its Allow statements grant
	}
	var docs []doc
	for _, m := range set.Members {
		for _, d := range m.File.Documents {
			docs = append(docs, doc{d, m.Scope, l.allowedNames(d)})
		}
	}
	out := make([][]Finding, len(set.Members))
	for i, m := range set.Members {
		fs, err := l.lintFile(ctx, m.File, func(d *policy.Document) attached {
			var names []*ast.Term
			seen := map[string]bool{}
			for _, o := range docs {
				if o.d == d {
					continue
				}
				for _, n := range o.names {
					if !seen[n] && l.grants(o.scope, m.Scope, n) {
						seen[n] = true
						names = append(names, ast.StringTerm(n))
					}
				}
			}
			at := attached{ep: l.enabled[CodeEPUnsupported] || m.Scope.Kind == ScopeEnterpriseProject}
			if len(names) > 0 {
				at.setAllowed = ast.SetTerm(names...)
			}
			return at
		})
		if err != nil {
			return nil, err
		}
		out[i] = fs
	}
	return out, nil
}

// LintScoped lints f on its own (as Lint), attached in scope: a document attached on an
// enterprise project gets CodeEPUnsupported.
func (l *Linter) LintScoped(ctx context.Context, f *policy.File, scope Scope) ([]Finding, error) {
	at := attached{ep: l.enabled[CodeEPUnsupported] || scope.Kind == ScopeEnterpriseProject}
	return l.lintFile(ctx, f, func(*policy.Document) attached { return at })
}

// allowedNames are the known names (IMS actions, documented dependencies) the Action
// elements of d's Allow statements match, conditional ones included, as input.allowed.
func (l *Linter) allowedNames(d *policy.Document) []string {
	var out []string
	for _, st := range d.Statements {
		n := st.Node
		if n == nil || n.Kind != policy.KindObject {
			continue
		}
		eff := n.Get("Effect")
		if eff == nil || eff.Kind != policy.KindString || !strings.EqualFold(eff.Str, "allow") {
			continue
		}
		act := n.Get("Action")
		if act == nil {
			continue
		}
		elems := act.Items
		if act.Kind == policy.KindString {
			elems = []*policy.Node{act}
		}
		for _, e := range elems {
			if e.Kind != policy.KindString {
				continue
			}
			for _, x := range l.actionInfo(e.Str, d.Family).expands {
				if !slices.Contains(out, x) {
					out = append(out, x)
				}
			}
		}
	}
	return out
}

// grants reports whether a document attached in from grants name to the requests of a
// document attached in to. A global service (OBS, IAM) is granted only by a grant on the
// global service project or on all projects; any other service by a grant on all
// projects, or in the same kind of scope covering every project (enterprise project) of
// to. Unknown scopes grant everything: nothing says otherwise.
func (l *Linter) grants(from, to Scope, name string) bool {
	if from.Kind == ScopeUnknown || to.Kind == ScopeUnknown {
		return true
	}
	svc, _, _ := strings.Cut(strings.ToLower(name), ":")
	if l.global[svc] {
		return from.Kind == ScopeGlobal || from.Kind == ScopeAllProjects
	}
	switch {
	case to.Kind == ScopeGlobal:
		return false // project-level actions do not apply in the global service project
	case from.Kind == ScopeAllProjects:
		return true
	case from.Kind == to.Kind && (to.Kind == ScopeProject || to.Kind == ScopeEnterpriseProject):
		for _, n := range to.Names {
			if !slices.Contains(from.Names, n) {
				return false
			}
		}
		return len(to.Names) > 0
	}
	return false
}

// Run is what one lint run checks: files linted on their own (attached in Scope) and
// policy sets, each linted together.
type Run struct {
	Files []*policy.File
	Scope Scope
	Sets  []Set
}

// LintRun lints a run, applies the configuration (nil for none) as of today and builds
// the report; failOn is the --fail-on level. A file checked more than once (in several
// sets, or on its own too) is reported once: a finding every check of the file made is
// listed once, one only some sets produce names them (Finding.Sets).
func (l *Linter) LintRun(ctx context.Context, run Run, cfg *Config, failOn string, today time.Time) (*Report, error) {
	type entry struct {
		f    Finding
		sets []string
	}
	type fileFindings struct {
		file    *policy.File
		checks  int
		entries map[string]*entry
		order   []string
	}
	byName := map[string]*fileFindings{}
	var names []string
	add := func(f *policy.File, set string, fs []Finding) {
		ff := byName[f.Name]
		if ff == nil {
			ff = &fileFindings{file: f, entries: map[string]*entry{}}
			byName[f.Name] = ff
			names = append(names, f.Name)
		}
		ff.checks++
		for _, x := range fs {
			k := strings.Join([]string{x.Pointer, x.Code, x.Message, x.Fix, strconv.Itoa(x.Line), strconv.Itoa(x.Column)}, "\x00")
			e := ff.entries[k]
			if e == nil {
				e = &entry{f: x}
				ff.entries[k] = e
				ff.order = append(ff.order, k)
			}
			if set != "" && !slices.Contains(e.sets, set) {
				e.sets = append(e.sets, set)
			}
		}
	}
	for _, f := range run.Files {
		fs, err := l.LintScoped(ctx, f, run.Scope)
		if err != nil {
			return nil, err
		}
		add(f, "", fs)
	}
	for _, s := range run.Sets {
		per, err := l.LintSet(ctx, s)
		if err != nil {
			return nil, err
		}
		for i, m := range s.Members {
			add(m.File, s.Name, per[i])
		}
	}
	var files []*policy.File
	var all []Finding
	for _, n := range names {
		ff := byName[n]
		files = append(files, ff.file)
		for _, k := range ff.order {
			e := ff.entries[k]
			if ff.checks > 1 && len(e.sets) < ff.checks {
				e.f.Sets = e.sets
			}
			all = append(all, e.f)
		}
	}
	return NewReport(files, cfg.Apply(all, today), failOn)
}
