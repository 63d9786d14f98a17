package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

// Side is one side of a comparison: what was read and the principals it grants to.
type Side struct {
	// Sources are the paths read (files, folders, a configuration), for the report.
	Sources []string
	// Units are the principals; policies given without a configuration are one unit
	// with an empty name.
	Units []Unit
	// AbsentNegated is the engine option of this side (spec §5.5).
	AbsentNegated bool
	// Notes say what the reader noticed (e.g. a folder that does not exist).
	Notes []string
}

// Unit is one principal: the attachments a request of it is decided against.
type Unit struct {
	Name string
	// Identities say who is this principal (users, access keys, requests without a
	// credential). An identity that joins a principal, or moves to another, is compared
	// from its old principal's policies to its new one's.
	Identities  []string
	Attachments []authz.Attachment
}

// Origin is where a statement was written.
type Origin struct {
	Policy    string `json:"policy"`    // attachment name (the file, #pointer for several documents)
	File      string `json:"file"`      // file name
	Statement int    `json:"statement"` // index in the Statement array
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	Pointer   string `json:"pointer"`
}

// stmt is one statement as the engine evaluates it (as in the authz policy set: actions normalized,
// resources split, conditions as predicates), with the scope of its attachment.
type stmt struct {
	origin  Origin
	effect  string // "Allow" | "Deny"
	scope   scope
	actions []string    // normalized patterns, sorted, unique
	res     [][5]string // resource patterns; nil: every resource
	conds   []policy.Predicate
	key     string // canonical form: equal keys, equal statements
}

// scope is an attachment scope with its lists sorted.
type scope struct {
	kind     authz.ScopeKind
	projects []string
	eps      []string
}

func newScope(s authz.Scope) scope {
	sc := scope{kind: s.Kind, projects: sortedUnique(s.Projects), eps: sortedUnique(s.EnterpriseProjects)}
	if sc.kind == "" {
		sc.kind = authz.ScopeAllProjects
	}
	return sc
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// String writes the scope in words.
func (s scope) String() string {
	switch s.kind {
	case authz.ScopeProject:
		return "project " + strings.Join(s.projects, ", ")
	case authz.ScopeGlobal:
		return "the global project"
	case authz.ScopeEnterpriseProject:
		return "enterprise project " + strings.Join(s.eps, ", ")
	}
	return "all projects"
}

// skipped is something the engine leaves out when it evaluates leniently (a document
// or statement IAM would reject): a change to it cannot be judged.
type skipped struct {
	origin Origin
	what   string
	key    string
}

// model is one unit of one side.
type model struct {
	stmts   []*stmt // unique by key, in reading order
	byKey   map[string]*stmt
	skipped []skipped
	keys    []string // every condition key, lower case
}

// build reads attachments the way the engine's policy set does, leniently: what IAM would
// reject is left out or evaluated fail-safe, and listed in skipped. (Without Lenient the
// engine has refused such documents before the model is built.)
func build(atts []authz.Attachment, opts policy.PredicateOptions) *model {
	m := &model{byKey: map[string]*stmt{}}
	keys := map[string]bool{}
	for _, a := range atts {
		doc := a.Document
		if doc == nil || doc.Root == nil {
			continue
		}
		switch doc.Family {
		case policy.FamilyPolicy, policy.FamilyRole:
		case policy.FamilyAgency:
			// grants iam:agencies:assume, which the engine does not evaluate: a change to
			// it is listed for review, never passed as neutral
			m.skipped = append(m.skipped, skipped{origin: Origin{Policy: a.Name, File: doc.Source, Statement: -1, Pointer: doc.Root.Pointer},
				what: "an agency policy (iam:agencies:assume), which imsguard does not evaluate", key: "agency|" + newScope(a.Scope).String() + "|" + string(minified(doc.Root))})
			continue
		default:
			m.skipped = append(m.skipped, skipped{origin: Origin{Policy: a.Name, File: doc.Source, Statement: -1, Pointer: doc.Root.Pointer},
				what: fmt.Sprintf("a Version %q document (%s), which imsguard does not evaluate", doc.Version, doc.Family), key: "doc|" + string(minified(doc.Root))})
			continue
		}
		for _, st := range doc.Statements {
			s, skip := statement(a, doc, st, opts)
			if skip != "" {
				m.skipped = append(m.skipped, skipped{origin: originOf(a, doc, st), what: skip, key: "stmt|" + string(minified(st.Node))})
			}
			if s == nil {
				continue
			}
			for _, p := range s.conds {
				keys[p.Key] = true
			}
			if _, dup := m.byKey[s.key]; !dup {
				m.byKey[s.key] = s
				m.stmts = append(m.stmts, s)
			}
		}
	}
	for k := range keys {
		m.keys = append(m.keys, k)
	}
	slices.Sort(m.keys)
	return m
}

func originOf(a authz.Attachment, doc *policy.Document, st policy.Statement) Origin {
	o := Origin{Policy: a.Name, File: doc.Source, Statement: st.Index}
	if st.Node != nil {
		o.Line, o.Column, o.Pointer = st.Node.Pos.Line, st.Node.Pos.Col, st.Node.Pointer
	}
	return o
}

// statement reads one statement; skip says what the engine would leave out or read
// fail-safe ("" when nothing).
func statement(a authz.Attachment, doc *policy.Document, st policy.Statement, opts policy.PredicateOptions) (*stmt, string) {
	s := &stmt{origin: originOf(a, doc, st), scope: newScope(a.Scope)}
	var skip []string
	switch strings.ToLower(st.Effect) {
	case "allow":
		s.effect = "Allow"
	case "deny":
		s.effect = "Deny"
	default:
		return nil, fmt.Sprintf("a statement with Effect %q", st.Effect)
	}
	for _, p := range st.Actions {
		n, err := policy.NormalizeAction(p, doc.Family)
		if err != nil {
			skip = append(skip, fmt.Sprintf("action %q", p))
			continue
		}
		s.actions = append(s.actions, n)
	}
	if len(st.NotActions) > 0 {
		skip = append(skip, "NotAction")
		if s.effect == "Deny" {
			s.actions = append(s.actions, "*:*:*") // the engine's fail-safe reading
		}
	}
	s.actions = sortedUnique(s.actions)
	if len(s.actions) == 0 {
		return nil, strings.Join(skip, ", ")
	}
	for _, r := range st.Resources {
		if r == "*" {
			s.res = nil
			break
		}
		parts := strings.SplitN(r, ":", 5)
		if len(parts) != 5 {
			skip = append(skip, fmt.Sprintf("resource %q", r))
			continue
		}
		s.res = append(s.res, [5]string{strings.ToLower(parts[0]), parts[1], parts[2], strings.ToLower(parts[3]), parts[4]})
	}
	for _, c := range st.Condition {
		p, err := policy.NewPredicate(c, opts)
		if err != nil {
			skip = append(skip, fmt.Sprintf("condition %s %s", c.Operator, c.Key))
			if s.effect == "Allow" {
				return nil, strings.Join(skip, ", ") // never holds: the Allow grants nothing
			}
			continue // holds: the Deny keeps denying
		}
		s.conds = append(s.conds, p)
	}
	s.key = s.canonical()
	return s, strings.Join(skip, ", ")
}

// canonical is the statement's meaning as text: equal for statements that decide every
// request alike because they are written alike up to order and spelling.
func (s *stmt) canonical() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|", s.effect, s.scope.kind, strings.Join(s.scope.projects, ","), strings.Join(s.scope.eps, ","))
	b.WriteString(strings.Join(s.actions, ","))
	b.WriteString("|")
	res := make([]string, len(s.res))
	for i, r := range s.res {
		res[i] = strings.Join(r[:], ":")
	}
	slices.Sort(res)
	if s.res == nil {
		b.WriteString("*")
	}
	b.WriteString(strings.Join(res, ","))
	conds := make([]string, len(s.conds))
	for i, p := range s.conds {
		conds[i] = p.Canonical()
	}
	slices.Sort(conds)
	for _, c := range slices.Compact(conds) {
		b.WriteString("|")
		b.WriteString(c)
	}
	return b.String()
}

// minified is a node's JSON text without whitespace, for comparing skipped parts.
func minified(n *policy.Node) []byte {
	if n == nil {
		return nil
	}
	var b strings.Builder
	writeNode(&b, n)
	return []byte(b.String())
}

func writeNode(b *strings.Builder, n *policy.Node) {
	switch n.Kind {
	case policy.KindObject:
		b.WriteByte('{')
		for i, m := range n.Members {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, "%q:", m.Key)
			writeNode(b, m.Value)
		}
		b.WriteByte('}')
	case policy.KindArray:
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeNode(b, it)
		}
		b.WriteByte(']')
	case policy.KindString:
		fmt.Fprintf(b, "%q", n.Str)
	case policy.KindBool:
		fmt.Fprintf(b, "%t", n.Bool)
	case policy.KindNull:
		b.WriteString("null")
	default:
		b.WriteString(n.Str)
	}
}

// words lists the statement's conditions in words.
func (s *stmt) condWords() []string {
	out := make([]string, len(s.conds))
	for i, p := range s.conds {
		out[i] = p.String()
	}
	return out
}
