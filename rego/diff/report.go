package diff

import (
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/explain"
)

// Report is the outcome of Compare.
type Report struct {
	// Old and New are what each side read.
	Old []string `json:"old"`
	New []string `json:"new"`
	// Changes are the statement-level changes, widening first.
	Changes []Change `json:"changes"`
	// IMS lists, per principal, the IMS APIs and actions whose status changes.
	IMS []IMSChanges `json:"ims"`
	// Summary counts the changes and says whether a gate fails.
	Summary Summary `json:"summary"`
	// Notes say what the comparison noticed (empty sides, unevaluated documents).
	Notes []string `json:"notes,omitempty"`
}

// Summary counts the changes of a report.
type Summary struct {
	Widen    int `json:"widen"`
	Unproven int `json:"changed_unproven"`
	Narrow   int `json:"narrow"`
	Neutral  int `json:"neutral"`
	// IMSWidened and IMSNarrowed count the IMS API and action status changes that widen
	// and narrow (a status that grows while nothing is newly allowed counts as neither).
	IMSWidened  int `json:"ims_widened"`
	IMSNarrowed int `json:"ims_narrowed"`
	// FailsGate: a change widens access or is not provably narrower.
	FailsGate bool `json:"fails_gate"`
}

// Change is one statement (or one pair of old and new statements) that is not in both
// sets, with what it does to access.
type Change struct {
	Kind Kind `json:"kind"`
	// Principal is the principal of an imsguard.toml the statement is attached for.
	Principal string `json:"principal,omitempty"`
	// What is "added", "removed", "modified" or "not evaluated".
	What string `json:"change"`
	// Effect is the effect of the new statement (the old one when removed).
	Effect string     `json:"effect"`
	Old    *Statement `json:"old,omitempty"`
	New    *Statement `json:"new,omitempty"`
	// Actions are the action patterns of the old and new statement, each with its kind.
	Actions []ActionChange `json:"actions"`
	// Conditions compare the old and new condition key by key (modified statements).
	Conditions []ConditionChange `json:"conditions,omitempty"`
	// Scope is "old → new" when the attachment scope changed.
	Scope string `json:"scope,omitempty"`
	// Example is a request whose decision the change turns (for widen and narrow).
	Example *Example `json:"example,omitempty"`
	// Reason says why the change has its kind.
	Reason string `json:"reason"`
}

// Statement is one side of a Change.
type Statement struct {
	Origin
	Effect    string   `json:"effect"`
	Actions   []string `json:"actions"`
	Resources []string `json:"resources,omitempty"`
	// Conditions are the condition's predicates in words; Predicates as written.
	Conditions []string        `json:"conditions,omitempty"`
	Predicates []PredicateText `json:"predicates,omitempty"`
	Scope      string          `json:"scope"`
}

// PredicateText is one (operator, key) pair of a Condition as written.
type PredicateText struct {
	Operator string   `json:"operator"`
	Key      string   `json:"key"`
	Values   []string `json:"values"`
}

// ActionChange is one action pattern of a changed statement.
type ActionChange struct {
	Action  string `json:"action"`
	Service string `json:"service"`
	Kind    Kind   `json:"kind"`
	// In is "old", "new" or "both": which statements name the pattern.
	In string `json:"in"`
	// APIs are the IMS APIs (catalog sections) the pattern reaches, for IMS patterns
	// that widen or may widen.
	APIs []string `json:"apis,omitempty"`
	// Reason says why the pattern has its kind.
	Reason string `json:"reason"`
}

// ConditionChange compares the old and new condition on one key.
type ConditionChange struct {
	Key    string `json:"key"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Change string `json:"change"`
}

// Example is a concrete request and its decision before and after.
type Example struct {
	Request
	Old authz.Effect `json:"old_decision"`
	New authz.Effect `json:"new_decision"`
}

// IMSChanges are the IMS APIs and actions of one principal whose status changes.
type IMSChanges struct {
	Principal string           `json:"principal,omitempty"`
	Changes   []explain.Change `json:"changes"`
	Widened   int              `json:"widened"`
	Narrowed  int              `json:"narrowed"`
}

// summarize counts the changes.
func (r *Report) summarize() {
	s := Summary{}
	for _, c := range r.Changes {
		switch c.Kind {
		case KindWiden:
			s.Widen++
		case KindUnproven:
			s.Unproven++
		case KindNarrow:
			s.Narrow++
		default:
			s.Neutral++
		}
	}
	for _, d := range r.IMS {
		s.IMSWidened += d.Widened
		s.IMSNarrowed += d.Narrowed
	}
	s.FailsGate = s.Widen+s.Unproven+s.IMSWidened > 0 // IMSWidened > 0 implies one of the others
	r.Summary = s
}
