package lint

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRuleMetadataDescribesTheSpecCodes: the METADATA blocks describe every code of the
// spec's section 8.1 (E-ROLE-* split into several codes), each once, with a severity that
// matches its letter (readRuleInfo checks the rest when New runs).
func TestRuleMetadataDescribesTheSpecCodes(t *testing.T) {
	l := newTestLinter(t, Options{})
	spec := []string{
		"E-JSON", "E-JSON-DUPKEY", "E-VERSION-MISSING", "E-VERSION-TYPE", "E-VERSION-VALUE", "E-UNKNOWN-KEY",
		"E-DEPENDS-V11", "E-STATEMENT-TYPE", "E-STATEMENT-COUNT", "E-EFFECT-MISSING", "E-EFFECT-VALUE",
		"W-EFFECT-CASE", "E-ACTION-TYPE", "E-ACTION-COUNT", "E-ACTION-LENGTH", "E-ACTION-CHARS", "E-ACTION-FORMAT",
		"E-ACTION-NOTACTION", "E-ACTION-UNREGISTERED", "W-UNKNOWN-ACTION", "W-SERVICE-CASE", "W-ACTION-QMARK",
		"W-MISSING-DEPENDENT-ACTION", "E-RESOURCE-FORMAT", "E-RESOURCE-COUNT", "E-RESOURCE-LENGTH",
		"E-RESOURCE-CHARS", "E-RESOURCE-UNSUPPORTED", "E-RESOURCE-REGION", "W-RESOURCE-STAR-V11",
		"E-AGENCY-ACTION", "E-AGENCY-CONDITION", "E-AGENCY-URI", "E-COND-COUNT", "E-COND-OPERATOR",
		"W-OPERATOR-CASE", "W-LEGACY-OPERATOR", "W-NEW-OPERATOR", "E-COND-VALUE-TYPE", "E-COND-VALUES-COUNT",
		"E-COND-VALUE-LENGTH", "E-COND-VALUE", "E-COND-TYPE", "W-COND-KEY-UNKNOWN", "W-COND-VALUE-CHARSET",
		"W-STRINGLIKE-GLOB", "E-POLICY-SIZE", "E-SCOPE-MIX", "W-SCOPE-TYPE", "I-DENY-ONLY", "I-BROAD-ALLOW",
		"I-ROLE-NOT-CREATABLE", "I-DEPENDS",
	}
	for _, code := range spec {
		r, ok := l.Rule(code)
		if assert.True(t, ok, "%s has no METADATA block", code) {
			assert.NotEmpty(t, r.Title, code)
			assert.NotEmpty(t, r.Basis, code)
		}
	}
	roles := 0
	for _, r := range l.Rules() {
		if len(r.Code) > 7 && r.Code[:7] == "E-ROLE-" {
			roles++
		}
	}
	assert.GreaterOrEqual(t, roles, 5)
}

// TestRuleMetadataErrors: readRuleInfo refuses modules where a code has no block or two,
// a block sits on a rule of another code, or a block is incomplete.
func TestRuleMetadataErrors(t *testing.T) {
	const ok = `
# METADATA
# title: an X
# custom:
#   code: E-X
#   severity: error
#   basis: spec 1
x_findings contains {"code": "E-X", "pointer": "", "message": "x"} if input.has.x == true
`
	for _, tc := range []struct {
		name, src, err string
	}{
		{"no block", `x_findings contains {"code": "E-Y", "pointer": "", "message": "y"} if input.has.y == true`, "rule reports E-Y, which has no METADATA block"},
		{"second rule of a code needs none", `x_findings contains {"code": "E-X", "pointer": "/a", "message": "x"} if input.has.y == true`, ""},
		{"two blocks", `
# METADATA
# title: an X again
# custom:
#   code: E-X
#   severity: error
#   basis: spec 1
x_findings contains {"code": "E-X", "pointer": "/a", "message": "x"} if input.has.y == true`, "code E-X already has a METADATA block"},
		{"block on another code", `
# METADATA
# title: a Z
# custom:
#   code: E-Z
#   severity: error
#   basis: spec 1
x_findings contains {"code": "E-Y", "pointer": "", "message": "y"} if input.has.y == true`, `sits on a rule reporting "E-Y"`},
		{"letter and severity disagree", `
# METADATA
# title: a Y
# custom:
#   code: W-Y
#   severity: error
#   basis: spec 1
x_findings contains {"code": "W-Y", "pointer": "", "message": "y"} if input.has.y == true`, "the code's letter does not match severity error"},
		{"no title", `
# METADATA
# custom:
#   code: E-Y
#   severity: error
#   basis: spec 1
x_findings contains {"code": "E-Y", "pointer": "", "message": "y"} if input.has.y == true`, "METADATA of E-Y has no title"},
		{"no basis", `
# METADATA
# title: a Y
# custom:
#   code: E-Y
#   severity: error
x_findings contains {"code": "E-Y", "pointer": "", "message": "y"} if input.has.y == true`, "custom.basis must be a non-empty string"},
		{"template message built with sprintf", `x_findings contains {"code": "E-X", "pointer": "", "message": sprintf("%s {apis}", [input.file]), "template": true} if input.has.y == true`, "needs a string literal message"},
		{"template fix built with sprintf", `x_findings contains {"code": "E-X", "pointer": "", "message": "{value}", "fix": sprintf("%s", [input.file]), "template": true} if input.has.y == true`, "fix of a \"template\": true finding is built with sprintf"},
		{"constant template", `x_findings contains {"code": "E-X", "pointer": "/a", "message": "{value} and {apis}", "fix": "f", "template": true} if input.has.y == true`, ""},
		{"security severity out of range", `
# METADATA
# title: a Y
# custom:
#   code: E-Y
#   severity: error
#   basis: spec 1
#   security_severity: "11"
x_findings contains {"code": "E-Y", "pointer": "", "message": "y"} if input.has.y == true`, "use a score from 0.0 to 10.0"},
		{"computed code", `x_findings contains {"code": c, "pointer": "", "message": "y"} if { input.has.y == true; c := "E-X" }`, "finding rule without a literal \"code\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mods := map[string]*ast.Module{}
			for name, src := range map[string]string{"a.rego": ok, "b.rego": tc.src} {
				m, err := ast.ParseModuleWithOpts(name, "package imsguard.lint\n"+src, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
				require.NoError(t, err)
				mods[name] = m
			}
			infos, err := readRuleInfo(mods)
			if tc.err == "" {
				require.NoError(t, err)
				assert.Equal(t, RuleInfo{Code: "E-X", Severity: "error", Title: "an X", Basis: "spec 1"}, infos["E-X"])
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}
