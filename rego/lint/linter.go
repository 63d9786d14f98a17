package lint

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/opa"
)

// Operator editions a lint run may restrict itself to (spec 5.3); "" accepts both.
const (
	// OperatorEditionLegacy flags 2023-only operators (W-NEW-OPERATOR): the ae-ad-1 baseline.
	OperatorEditionLegacy = "2021"
	// OperatorEditionNew flags 2021/2022-only operators (W-LEGACY-OPERATOR).
	OperatorEditionNew = "2023"
)

// Size modes of E-POLICY-SIZE (spec 8).
const (
	// SizeMinified counts the code points of the minified policy JSON (the default).
	SizeMinified = "minified"
	// SizeRaw counts the bytes of the file as given.
	SizeRaw = "raw"
)

// Options configure a Linter. The zero value lints with the strict profile, both
// operator editions, minified sizes and no custom rules.
type Options struct {
	// Profile is the limit profile: ProfileStrict ("" too) or ProfileQuota2025.
	Profile string
	// OperatorEdition is "", OperatorEditionLegacy or OperatorEditionNew.
	OperatorEdition string
	// SizeMode is SizeMinified ("" too) or SizeRaw.
	SizeMode string
	// Regions are accepted in Resource region segments besides the built-in list.
	Regions []string
	// RuleDirs hold the user's own Rego modules (deny/warn/info rules over the lint
	// input); see docs/lint.md.
	RuleDirs []string
	// Enable turns on opt-in codes (RuleInfo.OptIn) for every document, e.g.
	// CodeEPUnsupported; New refuses codes that are not opt-in.
	Enable []string
}

// CodeEPUnsupported is the opt-in code that tells which allowed IMS APIs ignore
// enterprise-project grants. It fires for documents attached on an enterprise project
// (Scope) or, with Options.Enable, for every document.
const CodeEPUnsupported = "I-EP-UNSUPPORTED"

// Finding is one lint result: a stable code, a severity ("error", "warning" or "info"),
// where (file, 1-based line and column, JSON pointer from the file root), what is wrong and
// how to fix it. Config.Apply fills the suppression fields.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Pointer  string `json:"pointer"`
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
	// Suppressed is true when a configured suppression (with Reason, optionally Expires)
	// covers the finding; suppressed findings are reported but never fail a run.
	Suppressed bool   `json:"suppressed"`
	Reason     string `json:"reason,omitempty"`
	Expires    string `json:"expires,omitempty"`
	// Note tells about the configuration's effect, e.g. an expired suppression.
	Note string `json:"note,omitempty"`
	// Sets names the policy sets (LintRun) the finding holds in, when the file was
	// checked in several and the finding does not hold in all of them.
	Sets []string `json:"sets,omitempty"`
}

// RuleInfo describes one finding code: the title and the custom code, severity and basis
// of the METADATA block on the rule that reports it (see rules.rego and metadata.go), and
// the optional security_severity (GitHub code scanning's score, "" for the severity's).
type RuleInfo struct {
	Code             string `json:"code"`
	Severity         string `json:"severity"`
	Title            string `json:"title"`
	Basis            string `json:"basis"`
	SecuritySeverity string `json:"security_severity,omitempty"`
	// OptIn, when set, says when the code is on (it is off otherwise): the METADATA's
	// custom.opt_in.
	OptIn string `json:"opt_in,omitempty"`
}

// Linter lints policy documents with the embedded Rego rules (and optional user rules). It
// compiles everything once in New; Lint only builds the input and runs one prepared
// evaluation per document (two with user rules). A Linter is immutable and safe for
// concurrent use.
type Linter struct {
	query        rego.PreparedEvalQuery
	custom       *customRules
	cat          *catalogFacts
	opTerm       *ast.Term
	opNames      []string
	limitsTerm   *ast.Term
	settingsTerm *ast.Term
	rules        map[string]RuleInfo
	enabled      map[string]bool // Options.Enable
	global       map[string]bool // global_services (knowledge.rego): granted in the global service project
	opLower      map[string]bool
	keys         map[string]*ast.Term
	kinds        [6]*ast.Term
	missing      *ast.Term      // {"kind": "missing"}, shared by every absent member
	noWrapper    *ast.Term      // input.wrapper of a bare policy
	noIMS        *ast.Term      // input.ims of a document no IMS-aware rule concerns
	limitOf      map[string]int // active limit of each input.max entry (0: unlimited)
	sizeRaw      bool           // E-POLICY-SIZE counts raw file bytes
	actionMemo   *memo[actionMeasure]
	opMemo       *memo[*ast.Term]
	valueMemo    *memo[valueMeasure]
	fieldMemo    *memo[*ast.Term]
	keysMemo     *memo[*ast.Term]
	emptySet     *ast.Term
	gates        *gateSet               // which facts open which module's findings (input.gate)
	allGates     bool                   // open every gate (tests: gating must not change findings)
	keyTypeQuery rego.PreparedEvalQuery // key_type(input.key) for input.family
	keyTypeMemo  *memo[string]
	valueType    map[string]string          // value_type (condition.rego): operator fn -> required parse
	opObj        ast.Object                 // input.operator_catalog
	opCanon      map[string]policy.Operator // canonical operator names
	opByLower    map[string]policy.Operator // lower-case operator names
}

// memoSize bounds each memo of measured strings (actions, operators, condition values).
const memoSize = 8192

// ErrEvaluation is wrapped by Lint errors from the Rego evaluation.
var ErrEvaluation = errors.New("lint evaluation failed")

// New compiles the built-in rules (and opts.RuleDirs) and builds input.catalog once.
func New(ctx context.Context, cat *actions.Catalog, opts Options) (*Linter, error) {
	if cat == nil {
		return nil, errors.New("lint: nil catalog")
	}
	limits, err := LimitProfile(opts.Profile)
	if err != nil {
		return nil, err
	}
	settings, err := lintSettings(opts)
	if err != nil {
		return nil, err
	}
	mods, err := opa.ParseFS(ruleModules, func(n string) bool { return !opa.IsTest(n) })
	if err != nil {
		return nil, err
	}
	l := &Linter{keys: map[string]*ast.Term{}, opLower: map[string]bool{}, opCanon: map[string]policy.Operator{}, opByLower: map[string]policy.Operator{}}
	for _, op := range policy.Operators() {
		l.opLower[strings.ToLower(op.Name)] = true
		l.opCanon[op.Name] = op
		l.opByLower[strings.ToLower(op.Name)] = op
	}
	for _, k := range inputKeys() {
		l.keys[k] = ast.StringTerm(k)
	}
	l.missing = ast.ObjectTerm(l.it("kind", l.k("missing")))
	l.fieldMemo, l.keysMemo, l.emptySet = newMemo[*ast.Term](memoSize), newMemo[*ast.Term](memoSize), ast.SetTerm()
	noIMS := make([][2]*ast.Term, len(imsLists), len(imsLists)+1)
	for i, n := range imsLists {
		noIMS[i] = l.it(n, ast.ArrayTerm())
	}
	l.noIMS = ast.ObjectTerm(append(noIMS, l.it("no_ep_apis", l.emptySet))...)
	l.noWrapper = ast.ObjectTerm(l.it("kind", tStr("")), l.it("pointer", tStr("")), l.it("node_kind", l.k("missing")), l.it("members", ast.ObjectTerm()))
	l.actionMemo, l.opMemo, l.valueMemo = newMemo[actionMeasure](memoSize), newMemo[*ast.Term](memoSize), newMemo[valueMeasure](memoSize)
	for i, name := range []string{"null", "bool", "number", "string", "array", "object"} {
		l.kinds[i] = ast.StringTerm(name)
	}
	comp, err := opa.Compile(mods)
	if err != nil {
		return nil, err
	}
	if l.cat, err = newLintCatalog(ctx, cat, comp); err != nil {
		return nil, err
	}
	if l.opTerm, l.opNames, err = operatorCatalogTerm(); err != nil {
		return nil, err
	}
	l.opObj = l.opTerm.Value.(ast.Object)
	l.limitOf = map[string]int{
		"statements": limits.Statements, "actions": limits.Actions, "resources": limits.Resources,
		"conditions": limits.Conditions, "values": limits.Values, "action_length": limits.ActionLength,
		"resource_length": limits.ResourceLength, "value_length": limits.ValueLength, "agency_uris": limits.AgencyURIs,
		"policy_size": limits.PolicySize,
	}
	l.sizeRaw = settings["size_mode"] == SizeRaw
	lv, err := ast.InterfaceToValue(limits)
	if err != nil {
		return nil, fmt.Errorf("convert limits: %w", err)
	}
	l.limitsTerm = ast.NewTerm(lv)
	sv, err := ast.InterfaceToValue(settings)
	if err != nil {
		return nil, fmt.Errorf("convert settings: %w", err)
	}
	l.settingsTerm = ast.NewTerm(sv)
	if l.rules, err = readRuleInfo(mods); err != nil {
		return nil, err
	}
	l.enabled = map[string]bool{}
	for _, code := range opts.Enable {
		r, ok := l.rules[code]
		if !ok || r.OptIn == "" {
			return nil, fmt.Errorf("enable %q: not an opt-in code (%s); every other code is on unless disabled", code, strings.Join(l.optInCodes(), ", "))
		}
		l.enabled[code] = true
	}
	if l.global, err = stringSet(ctx, comp, `y := data.imsguard.lint.global_services`); err != nil {
		return nil, err
	}
	if l.gates, err = newGateSet(mods); err != nil {
		return nil, err
	}
	if l.valueType, err = stringMap(ctx, comp, `y := data.imsguard.lint.value_type`); err != nil {
		return nil, err
	}
	l.keyTypeMemo = newMemo[string](memoSize)
	if l.keyTypeQuery, err = rego.New(opa.QueryOptions(comp, "y := data.imsguard.lint.key_type(input.key)")...).PrepareForEval(ctx); err != nil {
		return nil, fmt.Errorf("prepare key type query: %w", err)
	}
	if l.query, err = rego.New(opa.QueryOptions(comp, "data.imsguard.lint.findings")...).PrepareForEval(ctx); err != nil {
		return nil, fmt.Errorf("prepare lint query: %w", err)
	}
	if len(opts.RuleDirs) > 0 {
		if l.custom, err = newCustomRules(ctx, mods, opts.RuleDirs); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// lintSettings validates the options and returns input.settings.
func lintSettings(opts Options) (map[string]any, error) {
	switch opts.OperatorEdition {
	case "", OperatorEditionLegacy, OperatorEditionNew:
	default:
		return nil, fmt.Errorf("unknown operator edition %q (use %s, %s, or nothing for both)", opts.OperatorEdition, OperatorEditionLegacy, OperatorEditionNew)
	}
	mode := opts.SizeMode
	switch mode {
	case "":
		mode = SizeMinified
	case SizeMinified, SizeRaw:
	default:
		return nil, fmt.Errorf("unknown size mode %q (use %s or %s)", opts.SizeMode, SizeMinified, SizeRaw)
	}
	profile := opts.Profile
	if profile == "" {
		profile = ProfileStrict
	}
	regions := map[string]any{}
	for _, r := range opts.Regions {
		regions[r] = true
	}
	return map[string]any{"profile": profile, "operator_edition": opts.OperatorEdition, "size_mode": mode, "regions": regions}, nil
}

// k returns the (shared) term of an object key.
func (l *Linter) k(name string) *ast.Term {
	if t, ok := l.keys[name]; ok {
		return t
	}
	return ast.StringTerm(name)
}

// kind returns the term naming a JSON kind.
func (l *Linter) kind(k policy.Kind) *ast.Term {
	if k >= 0 && int(k) < len(l.kinds) {
		return l.kinds[k]
	}
	return ast.StringTerm(k.String())
}

// Rules returns the built-in finding codes, sorted by code.
func (l *Linter) Rules() []RuleInfo {
	out := make([]RuleInfo, 0, len(l.rules))
	for _, r := range l.rules {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// optInCodes are the codes that are off unless enabled, sorted.
func (l *Linter) optInCodes() []string {
	var out []string
	for _, r := range l.Rules() {
		if r.OptIn != "" {
			out = append(out, r.Code)
		}
	}
	return out
}

// Rule returns the description of a built-in code.
func (l *Linter) Rule(code string) (RuleInfo, bool) {
	r, ok := l.rules[code]
	return r, ok
}

// Lint lints every document of a parsed file and returns the findings sorted by position,
// with line and column filled in. JSON-level problems (E-JSON, E-JSON-DUPKEY) come from the
// parser, at the position it reports; everything else from the Rego rules, at the position
// of the value their JSON pointer designates.
//
// The file is linted on its own: no other document grants anything to it, and opt-in codes
// fire only when enabled. LintSet lints documents attached together.
func (l *Linter) Lint(ctx context.Context, f *policy.File) ([]Finding, error) {
	at := attached{ep: l.enabled[CodeEPUnsupported]}
	return l.lintFile(ctx, f, func(*policy.Document) attached { return at })
}

// lintFile lints f, each document attached as at says.
func (l *Linter) lintFile(ctx context.Context, f *policy.File, at func(*policy.Document) attached) ([]Finding, error) {
	var out []Finding
	for _, p := range f.Problems {
		out = append(out, Finding{File: f.Name, Line: max(p.Pos.Line, 1), Column: max(p.Pos.Col, 1), Pointer: p.Pointer,
			Code: p.Code, Severity: l.severity(p.Code, p.Severity), Message: p.Message})
	}
	parsed := len(out)
	for _, d := range f.Documents {
		fs, err := l.lintDocument(ctx, f, d, at(d))
		if err != nil {
			return nil, fmt.Errorf("lint %s: %w", f.Name, err)
		}
		out = append(out, fs...)
	}
	for i := parsed; i < len(out); i++ {
		pos, _ := f.PosOf(out[i].Pointer)
		out[i].Line, out[i].Column = max(pos.Line, 1), max(pos.Col, 1)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	})
	return out, nil
}

func (l *Linter) lintDocument(ctx context.Context, f *policy.File, d *policy.Document, at attached) ([]Finding, error) {
	in := l.inputAt(f, d, l.custom != nil, at)
	t, err := opa.EvalTerm(ctx, l.query, in)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	out, err := l.decodeFindings(t, f)
	if err != nil {
		return nil, err
	}
	if l.custom != nil {
		cs, err := l.custom.eval(ctx, in, f.Name, l.inputPointer(d))
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// inputPointer is input.pointer: where the policy object is (or should be) in the file.
func (l *Linter) inputPointer(d *policy.Document) string {
	if d.Root != nil {
		return d.Root.Pointer
	}
	if d.Wrapper != nil {
		return d.Wrapper.Pointer
	}
	return ""
}

// severity is the catalogue severity of a code, def for codes it does not list.
func (l *Linter) severity(code, def string) string {
	if r, ok := l.rules[code]; ok {
		return r.Severity
	}
	return def
}
