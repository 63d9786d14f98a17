package authz

import (
	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
)

// ScopeKind is where an attachment (a policy granted to a group/agency) applies.
type ScopeKind string

// The attachment scopes of the IAM policy language (spec §7.2).
const (
	ScopeAllProjects       ScopeKind = "all_projects"       // every region-specific project (and, by choice, global)
	ScopeProject           ScopeKind = "project"            // the listed projects
	ScopeGlobal            ScopeKind = "global"             // the global service project
	ScopeEnterpriseProject ScopeKind = "enterprise_project" // the listed enterprise projects, for APIs that support them
)

// Scope is the scope of one attachment.
type Scope struct {
	Kind               ScopeKind `json:"kind"`
	Projects           []string  `json:"projects,omitempty"`
	EnterpriseProjects []string  `json:"enterpriseProjects,omitempty"`
}

// Attachment is one policy document granted in one scope.
type Attachment struct {
	Name     string           // label for reports, usually the file name
	Document *policy.Document // parsed document (1.0 role, 1.1 policy)
	Scope    Scope
}

// Effect is the outcome of a decision.
type Effect string

// The three outcomes of IAM evaluation.
const (
	Allow        Effect = "Allow"
	ExplicitDeny Effect = "ExplicitDeny"
	ImplicitDeny Effect = "ImplicitDeny"
)

// Input is one authorization request. Give exactly one of: Action; Actions (already resolved,
// optionally with API); or Method + URL (+ Body), which the catalog resolves.
type Input struct {
	Action  string
	Actions []string
	API     *actions.API

	Method string
	URL    string
	Body   []byte

	Project             string // project the credential is scoped to ("global" for the global project)
	EnterpriseProjectID string // enterprise project of the request, if any
	// EnterpriseProjectUnknown says the request's enterprise project could not be
	// established (an enterprise-project API whose enterprise project is not a fact): no
	// enterprise-project-scoped Allow counts and every enterprise-project-scoped Deny
	// applies. Without it, an empty EnterpriseProjectID means the request names none, and
	// enterprise-project grants are ignored as the policy language specifies.
	EnterpriseProjectUnknown bool
	APISupportsEP            *bool               // overrides the catalog's enterprise_project flag
	Context                  map[string][]string // condition keys (g:UserName, g:SourceIp, ...) → values
	// Globals, when set, are the request's values of GlobalKeys, read exactly as if each
	// key set were one more entry of Context (a key in both has the values
	// of both, as spellings of one key in Context do). A proxy fills them for every request
	// without building a map; ContextMap gives the merged map.
	Globals *Globals
	// Resource is the resource the request acts on (spec §6.3),
	// service:region:account:type:path, for resource-capable services; "" for none (IMS
	// requests): statements with a Resource then never apply.
	Resource string

	// Explain asks for the skipped attachments and missing condition keys (offline tools).
	Explain bool
}

// GlobalKeys are the global condition keys a proxy establishes for every request, in the
// order of Globals.
var GlobalKeys = [NumGlobals]string{"g:CurrentTime", "g:SourceIp", "g:ProjectName", "g:UserName", "g:UserId", "g:DomainName"}

// The indexes of GlobalKeys.
const (
	GlobalCurrentTime = iota
	GlobalSourceIP
	GlobalProjectName
	GlobalUserName
	GlobalUserID
	GlobalDomainName
	NumGlobals // the number of GlobalKeys
)

// Globals holds one request's values of GlobalKeys: Value[i] is the value of
// GlobalKeys[i] where Has[i] (it may be ""); a key without Has is absent.
type Globals struct {
	Value [NumGlobals]string
	Has   [NumGlobals]bool
}

// Set gives GlobalKeys[i] the value v.
func (g *Globals) Set(i int, v string) { g.Value[i], g.Has[i] = v, true }

// ContextMap returns the request's condition keys as one map: Context, with Globals merged
// in. Without Globals it is Context itself; otherwise a new map (Context is not modified).
func (in Input) ContextMap() map[string][]string {
	if in.Globals == nil {
		return in.Context
	}
	out := make(map[string][]string, len(in.Context)+NumGlobals)
	for k, v := range in.Context {
		out[k] = v
	}
	for i, v := range in.Globals.Value {
		if in.Globals.Has[i] {
			k := GlobalKeys[i]
			out[k] = append(out[k][:len(out[k]):len(out[k])], v)
		}
	}
	return out
}

// StatementRef identifies one statement that matched an action.
type StatementRef struct {
	Attachment int    `json:"attachment"`
	Policy     string `json:"policy"`
	Statement  int    `json:"statement"`
	Effect     string `json:"effect"` // "Allow" | "Deny"
}

// ActionDecision is the decision for one required action.
type ActionDecision struct {
	Action  string         `json:"action"`
	Effect  Effect         `json:"decision"`
	Matched []StatementRef `json:"matched"`
	// Conditional lists (with Input.Explain only) every applicable statement for the action
	// whose Condition (or Resource) had to be checked, whether it held or not: the decision
	// could change with the request context when it is non-empty.
	Conditional []StatementRef `json:"conditional,omitempty"`
}

// Skip is an attachment that did not apply to the request, with why.
type Skip struct {
	Attachment int    `json:"attachment"`
	Policy     string `json:"policy"`
	Reason     string `json:"reason"`
}

// Decision is the answer to an Input. Effect is Allow only when every required action is
// allowed; ExplicitDeny when any is explicitly denied; otherwise ImplicitDeny.
type Decision struct {
	Effect      Effect           `json:"decision"`
	API         *actions.API     `json:"-"`
	Actions     []ActionDecision `json:"actions"`
	Skipped     []Skip           `json:"skipped,omitempty"`
	MissingKeys []string         `json:"missing_context_keys,omitempty"`
	Notes       []string         `json:"notes,omitempty"`
	Cached      bool             `json:"-"`
}
