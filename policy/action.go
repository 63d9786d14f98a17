package policy

import (
	"fmt"
	"regexp"
	"strings"
)

var actionSegRe = regexp.MustCompile(`^[a-z0-9_*?-]*$`)

// NormalizeAction turns an action pattern into the form the engine matches (rego/authz): lower case,
// exactly three segments, runs of '*' collapsed. For 1.0 roles (spec §10.2) a two-segment
// pattern is padded with ":*" and an empty segment means "*".
func NormalizeAction(pattern string, fam Family) (string, error) {
	p := strings.ToLower(pattern)
	segs := strings.Split(p, ":")
	if fam == FamilyRole {
		if len(segs) == 2 {
			segs = append(segs, "*")
		}
		for i, s := range segs {
			if s == "" {
				segs[i] = "*"
			}
		}
	}
	if len(segs) != 3 {
		return "", fmt.Errorf("must have three segments service:resource:operation")
	}
	for i, s := range segs {
		if s == "" {
			return "", fmt.Errorf("empty segment")
		}
		if !actionSegRe.MatchString(s) {
			return "", fmt.Errorf("segment %q holds characters other than letters, digits, _, -, * and ?", s)
		}
		for strings.Contains(s, "**") {
			s = strings.ReplaceAll(s, "**", "*")
		}
		segs[i] = s
	}
	return strings.Join(segs, ":"), nil
}
