package diff

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/explain"
)

// ErrBadScope is wrapped by ParseScope errors.
var ErrBadScope = errors.New("invalid scope")

// ParseScope reads a scope as the --scope flag writes it: "all_projects", "global",
// "project=P1,P2" or "enterprise_project=E1,E2" (the kinds of authz.Scope and of
// [[principals.attachments]] in imsguard.toml).
func ParseScope(s string) (authz.Scope, error) {
	kind, list, _ := strings.Cut(s, "=")
	var items []string
	for _, it := range strings.Split(list, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	sc := authz.Scope{Kind: authz.ScopeKind(strings.TrimSpace(kind))}
	switch sc.Kind {
	case authz.ScopeAllProjects, authz.ScopeGlobal:
		if len(items) > 0 {
			return sc, fmt.Errorf("%w: %q takes no list", ErrBadScope, s)
		}
	case authz.ScopeProject:
		sc.Projects = items
	case authz.ScopeEnterpriseProject:
		sc.EnterpriseProjects = items
	default:
		return sc, fmt.Errorf("%w: %q (use all_projects, global, project=P1,P2 or enterprise_project=ID1,ID2)", ErrBadScope, s)
	}
	if (sc.Kind == authz.ScopeProject || sc.Kind == authz.ScopeEnterpriseProject) && len(items) == 0 {
		return sc, fmt.Errorf("%w: %q needs at least one id after =", ErrBadScope, s)
	}
	return sc, nil
}

// LoadPolicies reads one side given as policy paths — files, folders of *.json, or "-"
// for stdin — with every document attached in scope. A path that does not exist, or a
// folder without *.json files, is an empty side (the first policies are being added, or
// the last removed), said in a note. Files with JSON problems are errors.
func LoadPolicies(paths []string, stdin io.Reader, sc authz.Scope) (Side, error) {
	side := Side{Sources: append([]string(nil), paths...)}
	var load []string
	for _, p := range paths {
		if p != "-" {
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				side.Notes = append(side.Notes, p+" does not exist: compared as no policies")
				continue
			}
		}
		load = append(load, p)
	}
	files, err := policy.Load(load, stdin)
	if err != nil {
		for _, e := range unwrapAll(err) {
			if !errors.Is(e, policy.ErrNoPolicies) {
				return side, err
			}
		}
		for _, e := range unwrapAll(err) {
			side.Notes = append(side.Notes, strings.TrimPrefix(e.Error(), "load policy ")+": compared as no policies")
		}
	}
	atts, err := explain.AttachScope(files, sc)
	if err != nil {
		return side, err
	}
	side.Units = []Unit{{Attachments: atts}}
	return side, nil
}

// unwrapAll lists the errors joined in err (err itself when it joins none).
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
