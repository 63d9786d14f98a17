package authz

import (
	"fmt"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// dependsNotes reports roles (1.0) that took part in the decision while a role they depend
// on (Depends, spec §7.4) is not attached in the same scope. Depends grants nothing by
// itself; the note (I-DEPENDS-MISSING) says the role may not work as IAM would apply it.
func (e *Engine) dependsNotes(d Decision, in Input) []string {
	if !e.roleDepends {
		return nil
	}
	used := map[int]bool{}
	for _, a := range d.Actions {
		for _, m := range a.Matched {
			used[m.Attachment] = true
		}
	}
	var notes []string
	for i := range used {
		att := e.atts[i]
		if att.Document == nil || att.Document.Family != policy.FamilyRole {
			continue
		}
		for _, dep := range att.Document.Depends {
			if !e.attachedInScope(dep.DisplayName, att.Scope) {
				notes = append(notes, fmt.Sprintf("I-DEPENDS-MISSING: role %s depends on %q (catalog %s), which is not attached in the same scope", att.Name, dep.DisplayName, dep.Catalog))
			}
		}
	}
	return notes
}

func (e *Engine) attachedInScope(displayName string, scope Scope) bool {
	for _, a := range e.atts {
		if !sameScope(a.Scope, scope) {
			continue
		}
		if strings.EqualFold(a.Name, displayName) || strings.EqualFold(roleDisplayName(a.Document), displayName) {
			return true
		}
	}
	return false
}

func roleDisplayName(d *policy.Document) string {
	if d == nil || d.Wrapper == nil {
		return ""
	}
	if n := d.Wrapper.Get("display_name"); n != nil && n.Kind == policy.KindString {
		return n.Str
	}
	return ""
}

func sameScope(a, b Scope) bool {
	if a.Kind != b.Kind {
		return false
	}
	eq := func(x, y []string) bool {
		if len(x) != len(y) {
			return false
		}
		m := map[string]bool{}
		for _, v := range x {
			m[v] = true
		}
		for _, v := range y {
			if !m[v] {
				return false
			}
		}
		return true
	}
	return eq(a.Projects, b.Projects) && eq(a.EnterpriseProjects, b.EnterpriseProjects)
}
