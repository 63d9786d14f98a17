package lint

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/imsguard/imsguard/policy"
)

// readRuleInfo reads the description of every built-in code from the METADATA annotations
// of the rule modules (rules.rego describes the format):
//
//	# METADATA
//	# title: illegal characters in an action
//	# custom:
//	#   code: E-ACTION-CHARS
//	#   severity: error
//	#   basis: IAM.1035
//	action_findings contains {"code": "E-ACTION-CHARS", ...} if { ... }
//
// Each code has exactly one block, on a rule that reports that code (a finding rule whose
// head object has it as its literal "code", or parser_codes for the parser's codes), and
// every finding rule reports a literal code that has a block; anything else is an error,
// so a new rule cannot ship without its description, nor a description drift from its rule.
func readRuleInfo(mods map[string]*ast.Module) (map[string]RuleInfo, error) {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]RuleInfo{}
	where := map[string]*ast.Location{}
	for _, n := range names {
		for _, r := range mods[n].Rules {
			for _, a := range r.Annotations {
				if _, ok := a.Custom["code"]; !ok {
					continue
				}
				info, err := ruleInfoOf(a)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", a.Location, err)
				}
				if prev, dup := where[info.Code]; dup {
					return nil, fmt.Errorf("%s: code %s already has a METADATA block at %s; describe each code once", a.Location, info.Code, prev)
				}
				if got := reportedCode(r); got != info.Code {
					return nil, fmt.Errorf("%s: the METADATA block of %s sits on a rule reporting %q; put it on a rule of %s", a.Location, info.Code, got, info.Code)
				}
				out[info.Code], where[info.Code] = info, a.Location
			}
		}
	}
	for _, n := range names {
		for _, r := range mods[n].Rules {
			if !isFindingRule(r) {
				continue
			}
			code := reportedCode(r)
			if code == "" {
				return nil, fmt.Errorf("%s: finding rule without a literal \"code\"", r.Location)
			}
			if _, ok := out[code]; !ok {
				return nil, fmt.Errorf("%s: rule reports %s, which has no METADATA block (title; custom: code, severity, basis)", r.Location, code)
			}
			if err := checkTemplate(r); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", r.Location, code, err)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lint rules: no METADATA block describes a code")
	}
	return out, nil
}

// ruleInfoOf reads one METADATA block: title, and custom code, severity and basis (and
// the optional security_severity and opt_in).
func ruleInfoOf(a *ast.Annotations) (RuleInfo, error) {
	field := func(k string) (string, error) {
		s, ok := a.Custom[k].(string)
		if !ok || strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("METADATA custom.%s must be a non-empty string", k)
		}
		return s, nil
	}
	var r RuleInfo
	var err error
	if r.Code, err = field("code"); err != nil {
		return r, err
	}
	if r.Severity, err = field("severity"); err != nil {
		return r, err
	}
	if r.Basis, err = field("basis"); err != nil {
		return r, err
	}
	if v, ok := a.Custom["opt_in"]; ok {
		s, isString := v.(string)
		if !isString || strings.TrimSpace(s) == "" {
			return r, fmt.Errorf("METADATA custom.opt_in of %s must say when the code is on", r.Code)
		}
		r.OptIn = s
	}
	if v, ok := a.Custom["security_severity"]; ok {
		s := fmt.Sprint(v)
		if f, err := strconv.ParseFloat(s, 64); err != nil || f < 0 || f > 10 {
			return r, fmt.Errorf("METADATA custom.security_severity of %s is %q: use a score from 0.0 to 10.0", r.Code, s)
		}
		r.SecuritySeverity = s
	}
	r.Title = a.Title
	if strings.TrimSpace(r.Title) == "" {
		return r, fmt.Errorf("METADATA of %s has no title", r.Code)
	}
	switch r.Severity {
	case policy.SeverityError, policy.SeverityWarning, policy.SeverityInfo:
	default:
		return r, fmt.Errorf("lint rule %s has severity %q (use error, warning or info)", r.Code, r.Severity)
	}
	if !strings.HasPrefix(r.Code, strings.ToUpper(r.Severity[:1])+"-") {
		return r, fmt.Errorf("lint rule %s: the code's letter does not match severity %s", r.Code, r.Severity)
	}
	return r, nil
}

// isFindingRule reports whether r adds one finding object to findings or to a module's
// <module>_findings set (the rules of findings that collect a module's set are not).
func isFindingRule(r *ast.Rule) bool {
	head := r.Head.Ref().String()
	if head != "findings" && !strings.HasSuffix(head, "_findings") {
		return false
	}
	_, ok := r.Head.Key.Value.(ast.Object)
	return ok
}

// reportedCode is the code a rule reports: the literal "code" of a finding rule's head
// object, or the string a parser_codes rule adds; "" when there is none.
func reportedCode(r *ast.Rule) string {
	if r.Head.Key == nil {
		return ""
	}
	switch k := r.Head.Key.Value.(type) {
	case ast.String:
		if r.Head.Ref().String() == "parser_codes" {
			return string(k)
		}
	case ast.Object:
		if c := k.Get(ast.StringTerm("code")); c != nil {
			if s, ok := c.Value.(ast.String); ok {
				return string(s)
			}
		}
	}
	return ""
}

// checkTemplate holds a finding rule marked "template": true to constant templates: its
// message is a string literal and neither message nor fix is built with sprintf, so no
// value of the document can become part of a template (rules.rego).
func checkTemplate(r *ast.Rule) error {
	obj := r.Head.Key.Value.(ast.Object)
	t := obj.Get(ast.StringTerm("template"))
	if t == nil || !t.Equal(ast.BooleanTerm(true)) {
		return nil
	}
	if _, ok := obj.Get(ast.StringTerm("message")).Value.(ast.String); !ok {
		return fmt.Errorf(`a "template": true finding needs a string literal message (values go in fields and placeholders)`)
	}
	for _, k := range []string{"message", "fix"} {
		if v := obj.Get(ast.StringTerm(k)); v != nil {
			if c, ok := v.Value.(ast.Call); ok && c[0].String() == "sprintf" {
				return fmt.Errorf(`the %s of a "template": true finding is built with sprintf: put the values in fields and use placeholders`, k)
			}
		}
	}
	return nil
}
