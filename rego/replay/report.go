package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/decisionlog"
)

// Change is how a request's decision changes.
type Change string

// The changes Replay lists, in the order it lists them.
const (
	// NewlyDenied: the proxy allowed it; the candidates deny it.
	NewlyDenied Change = "newly_denied"
	// NotDetermined: the log lacks what the candidates' decision needs.
	NotDetermined Change = "undetermined"
	// StillDenied: denied before (in audit mode, so forwarded) and by the candidates, and
	// IMS accepted it: enforcing the candidates would break it.
	StillDenied Change = "still_denied"
	// NewlyAllowed: the proxy denied it; the candidates allow it.
	NewlyAllowed Change = "newly_allowed"
)

var changeOrder = map[Change]int{NewlyDenied: 0, NotDetermined: 1, StillDenied: 2, NewlyAllowed: 3}

// Group is the requests of one principal and API whose decision changes the same way.
type Group struct {
	Change    Change  `json:"change"`
	Principal string  `json:"principal"`
	API       string  `json:"api"`
	Section   string  `json:"section"`
	Method    string  `json:"method"`
	Route     string  `json:"route"`
	Old       string  `json:"old"`
	New       Outcome `json:"new"`
	// Denied are the actions the candidates do not allow; Why says what the log lacks
	// for an undetermined decision, or why a principal has no policies.
	Denied []string `json:"denied_actions,omitempty"`
	Why    string   `json:"why,omitempty"`
	// Requests counts the requests, Accepted those IMS accepted.
	Requests int       `json:"requests"`
	Accepted int       `json:"accepted"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	// Paths (at most 3) and DecisionIDs (at most 5) name some of the requests.
	Paths       []string `json:"paths"`
	DecisionIDs []string `json:"decision_ids"`
	// Fails: requests IMS accepted would be denied (or may be).
	Fails bool `json:"fails"`
}

// Summary counts a replay.
type Summary struct {
	// Requests counts the entries read; NotDecided those that never reached the
	// policies; NoAction those of APIs that need no action; Replayed the rest.
	Requests   int `json:"requests"`
	NotDecided int `json:"not_decided"`
	NoAction   int `json:"no_action"`
	Replayed   int `json:"replayed"`
	// Unchanged and the changes count replayed requests.
	Unchanged    int `json:"unchanged"`
	NewlyDenied  int `json:"newly_denied"`
	Undetermined int `json:"undetermined"`
	StillDenied  int `json:"still_denied"`
	NewlyAllowed int `json:"newly_allowed"`
	// Failing counts requests IMS accepted that the candidates deny or may deny.
	Failing int `json:"failing"`
	// NoProject counts requests logged without a project, decided in Options.Project.
	NoProject int `json:"no_project"`
}

// Report is the result of a replay.
type Report struct {
	Summary Summary  `json:"summary"`
	Changes []*Group `json:"changes"`
	Notes   []string `json:"notes,omitempty"`
	byKey   map[string]*Group
}

func newReport() *Report { return &Report{byKey: map[string]*Group{}, Changes: []*Group{}} }

// Fails reports whether a request IMS accepted would be denied, or may be.
func (r *Report) Fails() bool { return r.Summary.Failing > 0 }

// add records one replayed request.
func (r *Report) add(e *decisionlog.Entry, api *actions.API, res result) {
	allowed := res.outcome == Allow
	var ch Change
	switch {
	case res.outcome == Undetermined:
		ch = NotDetermined
	case e.Allowed() && !allowed:
		ch = NewlyDenied
	case !e.Allowed() && allowed:
		ch = NewlyAllowed
	case !e.Allowed() && !allowed && e.Accepted():
		ch = StillDenied
	default:
		r.Summary.Unchanged++
		return
	}
	fails := e.Accepted() && !allowed
	switch ch {
	case NewlyDenied:
		r.Summary.NewlyDenied++
	case NotDetermined:
		r.Summary.Undetermined++
	case StillDenied:
		r.Summary.StillDenied++
	case NewlyAllowed:
		r.Summary.NewlyAllowed++
	}
	if fails {
		r.Summary.Failing++
	}
	key := strings.Join([]string{string(ch), e.Principal, api.ID, e.Decision, string(res.outcome), strings.Join(res.denied, ","), res.why}, "\x00")
	g := r.byKey[key]
	if g == nil {
		g = &Group{Change: ch, Principal: e.Principal, API: api.ID, Section: api.Section, Method: api.Method, Route: api.Path,
			Old: e.Decision, New: res.outcome, Denied: res.denied, Why: res.why, First: e.Time, Last: e.Time}
		r.byKey[key] = g
		r.Changes = append(r.Changes, g)
	}
	g.Requests++
	if e.Accepted() {
		g.Accepted++
	}
	g.Fails = g.Fails || fails
	if e.Time.Before(g.First) {
		g.First = e.Time
	}
	if e.Time.After(g.Last) {
		g.Last = e.Time
	}
	if len(g.Paths) < 3 && !contains(g.Paths, e.Path) {
		g.Paths = append(g.Paths, e.Path)
	}
	if len(g.DecisionIDs) < 5 {
		g.DecisionIDs = append(g.DecisionIDs, e.DecisionID)
	}
}

// sort orders the changes: newly denied first, then undetermined, still denied, newly
// allowed; failing groups and bigger groups first within each.
func (r *Report) sort() {
	sort.SliceStable(r.Changes, func(i, j int) bool {
		a, b := r.Changes[i], r.Changes[j]
		if changeOrder[a.Change] != changeOrder[b.Change] {
			return changeOrder[a.Change] < changeOrder[b.Change]
		}
		if a.Accepted != b.Accepted {
			return a.Accepted > b.Accepted
		}
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		return a.Section < b.Section
	})
}

// Report returns the replay's report (the Replayer keeps collecting afterwards).
func (r *Replayer) Report() *Report {
	r.report.sort()
	return r.report
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var changeTitle = map[Change]string{
	NewlyDenied:   "NEWLY DENIED",
	NotDetermined: "UNDETERMINED (the log lacks what the decision needs)",
	StillDenied:   "STILL DENIED, BUT IMS ACCEPTED THEM (audit mode)",
	NewlyAllowed:  "NEWLY ALLOWED",
}

// WriteText writes the changes, section by section, and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	s := r.Summary
	fmt.Fprintf(w, "Replayed %s", count(s.Replayed, "request"))
	if skipped := s.NotDecided + s.NoAction; skipped > 0 {
		fmt.Fprintf(w, " (and skipped %d: refused before the policies, or needing no action)", skipped)
	}
	fmt.Fprintf(w, ": %d unchanged, %d newly denied, %d undetermined, %d still denied though IMS accepted them, %d newly allowed.\n",
		s.Unchanged, s.NewlyDenied, s.Undetermined, s.StillDenied, s.NewlyAllowed)
	var last Change = "-"
	var tw *tabwriter.Writer
	for _, g := range r.Changes {
		if g.Change != last {
			if tw != nil {
				tw.Flush()
			}
			fmt.Fprintf(w, "\n%s\n", changeTitle[g.Change])
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  PRINCIPAL\tAPI\tREQUEST\tWAS\tNOW\tREQUESTS\tDECISION IDS\tWHY")
			last = g.Change
		}
		why := strings.Join(g.Denied, ", ")
		if g.Why != "" {
			if why != "" {
				why += ": "
			}
			why += g.Why
		}
		reqs := fmt.Sprintf("%d", g.Requests)
		if g.Accepted > 0 {
			reqs += fmt.Sprintf(" (%d accepted by IMS)", g.Accepted)
		}
		fmt.Fprintf(tw, "  %s\t%s %s\t%s %s\t%s\t%s\t%s\t%s\t%s\n", g.Principal, g.Section, g.API, g.Method, strings.Join(g.Paths, ", "),
			g.Old, g.New, reqs, strings.Join(g.DecisionIDs, ", "), why)
	}
	if tw != nil {
		tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s", n)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
	}
	if s.NoProject > 0 {
		fmt.Fprintf(w, "\nnote: %s logged without a project were decided in the default project\n", count(s.NoProject, "request"))
	}
	if r.Fails() {
		fmt.Fprintf(w, "\nFAIL: %s IMS accepted would be denied, or may be, with the candidate policies.\n", count(s.Failing, "request"))
	} else {
		fmt.Fprintf(w, "\nOK: every request IMS accepted is allowed by the candidate policies.\n")
	}
	return nil
}

func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
