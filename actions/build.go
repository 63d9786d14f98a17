package actions

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// build validates the decoded catalog and compiles the route index.
func build(name string, raw *rawCatalog) (*Catalog, error) {
	fail := func(entry, field, format string, args ...any) error {
		return &CatalogError{Source: name, Entry: entry, Field: field,
			Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalidCatalog}, args...)...)}
	}
	if strings.TrimSpace(raw.Version) == "" {
		return nil, fail("", "version", "missing catalog version string")
	}
	if len(raw.API) == 0 {
		return nil, fail("", "api", "no [[api]] entries")
	}
	c := &Catalog{
		Version:  raw.Version,
		Edition:  raw.Edition,
		byID:     make(map[string]*API, len(raw.API)),
		byMethod: make(map[string][]*API),
		maxBody:  DefaultMaxBody,
	}
	sections := map[string]string{}
	for i := range raw.API {
		r := &raw.API[i]
		entry := fmt.Sprintf("api[%d] %q", i, r.ID)
		a, err := buildAPI(r, func(field, format string, args ...any) error {
			return fail(entry, field, format, args...)
		})
		if err != nil {
			return nil, err
		}
		if prev, dup := c.byID[a.ID]; dup {
			return nil, fail(entry, "id", "duplicate id (also api %q, section %s); ids must be unique", prev.ID, prev.Section)
		}
		if prev, dup := sections[a.Section]; dup {
			return nil, fail(entry, "section", "duplicate section %s (also api %q)", a.Section, prev)
		}
		sections[a.Section] = a.ID
		for _, other := range c.byMethod[a.Method] {
			if example, ok := overlap(a.tmpl, other.tmpl); ok {
				return nil, fail(entry, "path", "%s %s and api %q (%s %s) could both match the same request (e.g. %s); make the templates disjoint",
					a.Method, a.Path, other.ID, other.Method, other.Path, example)
			}
		}
		c.apis = append(c.apis, a)
		c.byID[a.ID] = a
		c.byMethod[a.Method] = append(c.byMethod[a.Method], a)
		c.maxSegs = max(c.maxSegs, len(a.tmpl.segs))
	}
	return c, nil
}

type failFunc func(field, format string, args ...any) error

func buildAPI(r *rawAPI, fail failFunc) (*API, error) {
	if !idRe.MatchString(r.ID) {
		return nil, fail("id", "id %q must be snake_case ([a-z][a-z0-9_]*)", r.ID)
	}
	if !sectionRe.MatchString(r.Section) {
		return nil, fail("section", "section %q must look like 5.1.1", r.Section)
	}
	if strings.TrimSpace(r.Title) == "" {
		return nil, fail("title", "missing title")
	}
	if !methods[r.Method] {
		return nil, fail("method", "method %q must be one of GET, HEAD, POST, PUT, PATCH, DELETE (upper case)", r.Method)
	}
	fam := Family(r.Family)
	if fam != FamilyExtension && fam != FamilyOpenStack {
		return nil, fail("family", "family %q must be %q or %q", r.Family, FamilyExtension, FamilyOpenStack)
	}
	if r.IAMProject == nil || r.EnterpriseProject == nil {
		return nil, fail("iam_project", "iam_project and enterprise_project must both be set (true or false)")
	}
	if strings.TrimSpace(r.Source) == "" {
		return nil, fail("source", "missing source note (say where the facts come from)")
	}
	tmpl, err := compileTemplate(r.Path, r.Params)
	if err != nil {
		return nil, fail("path", "%v", err)
	}
	if err := checkActions(r.Actions, actionRe, "action"); err != nil {
		return nil, fail("actions", "%v", err)
	}
	if err := checkActions(r.Dependencies, depRe, "dependency"); err != nil {
		return nil, fail("dependencies", "%v", err)
	}
	a := &API{
		ID: r.ID, Section: r.Section, Title: r.Title, Method: r.Method, Path: r.Path,
		Family: fam, Deprecated: r.Deprecated,
		Actions:           slices.Clip(nonNil(r.Actions)),
		Dependencies:      slices.Clip(nonNil(r.Dependencies)),
		IAMProject:        *r.IAMProject,
		EnterpriseProject: *r.EnterpriseProject,
		Params:            r.Params,
		Source:            r.Source, Notes: r.Notes, Choice: r.Choice,
		tmpl: tmpl,
	}
	if a.EnterpriseProjectOf, err = checkEPSources(r, tmpl); err != nil {
		return nil, fail("enterprise_project_of", "%v", err)
	}
	if x := r.EPException; x != nil {
		switch {
		case !*r.EnterpriseProject:
			return nil, fail("enterprise_project_exception", "only APIs with enterprise_project = true have exceptions")
		case strings.TrimSpace(x.When) == "" || len(x.Query) == 0:
			return nil, fail("enterprise_project_exception", "needs when (in words) and query (parameter = [values])")
		}
		a.EPException = x
	}
	fieldValues := map[string][]string{}
	fieldDefault := map[string]string{}
	for j, rc := range r.Conditional {
		field := fmt.Sprintf("conditional[%d]", j)
		if !actionRe.MatchString(rc.Action) {
			return nil, fail(field, "action %q is not service:resource:operation without wildcards", rc.Action)
		}
		if slices.Contains(a.Actions, rc.Action) {
			return nil, fail(field, "action %q is already required unconditionally", rc.Action)
		}
		if strings.TrimSpace(rc.When) == "" {
			return nil, fail(field, "missing when (the documented condition in words)")
		}
		if err := checkActions(rc.Dependencies, depRe, "dependency"); err != nil {
			return nil, fail(field+".dependencies", "%v", err)
		}
		if err := checkRule(rc.Rule); err != nil {
			return nil, fail(field+".rule", "%v", err)
		}
		if rc.Rule.Kind == RuleBodyFieldIn {
			for _, v := range rc.Rule.In {
				if slices.Contains(fieldValues[rc.Rule.Field], v) {
					return nil, fail(field+".rule", "value %q of field %q is claimed by two rules", v, rc.Rule.Field)
				}
			}
			fieldValues[rc.Rule.Field] = append(fieldValues[rc.Rule.Field], rc.Rule.In...)
			if d, ok := fieldDefault[rc.Rule.Field]; ok && d != rc.Rule.Default {
				return nil, fail(field+".rule", "default %q of field %q differs from %q in an earlier rule", rc.Rule.Default, rc.Rule.Field, d)
			}
			fieldDefault[rc.Rule.Field] = rc.Rule.Default
		}
		a.Conditional = append(a.Conditional, Conditional{
			Action: rc.Action, When: rc.When, Dependencies: slices.Clip(nonNil(rc.Dependencies)), Rule: rc.Rule,
		})
	}
	for f, d := range fieldDefault {
		if d != "" && !slices.Contains(fieldValues[f], d) {
			return nil, fail("conditional", "default %q of field %q is not among the values the rules accept (%s)", d, f, strings.Join(fieldValues[f], ", "))
		}
	}
	return a, nil
}

// checkEPSources validates enterprise_project_of: required (possibly empty) exactly when
// enterprise_project is true, each source once and fitting the API's method and path.
func checkEPSources(r *rawAPI, tmpl template) ([]EPSource, error) {
	if !*r.EnterpriseProject {
		if r.EnterpriseOf != nil && len(*r.EnterpriseOf) > 0 {
			return nil, errors.New("only APIs with enterprise_project = true establish an enterprise project")
		}
		return nil, nil
	}
	if r.EnterpriseOf == nil {
		return nil, errors.New("missing: say where the enterprise project of a request is a fact (query, body, image, patch), or [] when it never is")
	}
	var out []EPSource
	for _, s := range *r.EnterpriseOf {
		src := EPSource(s)
		if slices.Contains(out, src) {
			return nil, fmt.Errorf("%q is listed twice", s)
		}
		var ok bool
		switch src {
		case EPQuery:
			ok = r.Method == "GET"
		case EPBody:
			ok = r.Method == "POST" || r.Method == "PUT"
		case EPPatch:
			ok = r.Method == "PATCH"
		case EPImage:
			ok = slices.Contains(tmpl.paramNames(), "image_id")
		default:
			return nil, fmt.Errorf("unknown source %q (want query, body, image or patch)", s)
		}
		if !ok {
			return nil, fmt.Errorf("source %q does not fit %s %s (query: GET; body: POST or PUT; patch: PATCH; image: a path with {image_id})", s, r.Method, r.Path)
		}
		out = append(out, src)
	}
	if out == nil {
		out = []EPSource{}
	}
	return slices.Clip(out), nil
}

func checkRule(r Rule) error {
	switch r.Kind {
	case RuleBodyFieldIn:
		if r.Field == "" || len(r.In) == 0 || r.Path != "" {
			return fmt.Errorf("kind %q needs field and in (and no path)", r.Kind)
		}
	case RuleBodyFieldPresent:
		if r.Field == "" || len(r.In) > 0 || r.Default != "" || r.Path != "" {
			return fmt.Errorf("kind %q needs field only", r.Kind)
		}
	case RuleJSONPatchPath:
		if !strings.HasPrefix(r.Path, "/") || r.Field != "" || len(r.In) > 0 || r.Default != "" {
			return fmt.Errorf("kind %q needs path (a JSON pointer starting with /) only", r.Kind)
		}
	default:
		return fmt.Errorf("unknown rule kind %q (want %s, %s or %s)", r.Kind, RuleBodyFieldIn, RuleBodyFieldPresent, RuleJSONPatchPath)
	}
	return nil
}

func checkActions(list []string, re interface{ MatchString(string) bool }, what string) error {
	for i, s := range list {
		if !re.MatchString(s) {
			return fmt.Errorf("%s %q is not a valid service:resource:operation", what, s)
		}
		if slices.Contains(list[:i], s) {
			return fmt.Errorf("%s %q is listed twice", what, s)
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func appendUnique(dst []string, s ...string) []string {
	for _, v := range s {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}
