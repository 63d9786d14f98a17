package decisionlog

import (
	"strings"
	"time"
)

// Entry is one decision line. Fields a line does not carry are zero.
type Entry struct {
	Time       time.Time `json:"time"`
	Msg        string    `json:"msg"`
	DecisionID string    `json:"decision_id"`
	Generation uint64    `json:"generation"`
	// Principal is the configured principal; "" when the caller was not identified.
	Principal string `json:"principal"`
	// Auth says how the caller was identified: aksk, aksk-unverified, token, default.
	Auth      string `json:"auth"`
	AccessKey string `json:"access_key"`
	SourceIP  string `json:"source_ip"`
	// Project is the project the request acted in (the credential's, or the
	// configuration's); "" in logs written before the proxy logged it.
	Project string `json:"project"`
	Method  string `json:"method"`
	// Path is the canonical path, without the query.
	Path string `json:"path"`
	// API is the catalog API id; "" when the request matched none.
	API string `json:"api"`
	// Actions are the actions the request required, body-dependent ones included.
	Actions []string `json:"actions"`
	// EnterpriseProjects are the enterprise-project facts the request was decided in,
	// as "source=id" (see EPFact).
	EnterpriseProjects []string `json:"enterprise_projects"`
	// Decision is Allow, ExplicitDeny, ImplicitDeny or Deny (refused before the engine).
	Decision      string   `json:"decision"`
	Reason        string   `json:"reason"`
	DeniedActions []string `json:"denied_actions"`
	// Matched are the statements that matched, "action=policy#statement:Effect".
	Matched []string `json:"matched"`
	// Enforced is false for a request decided in audit mode.
	Enforced  bool `json:"enforced"`
	Forwarded bool `json:"forwarded"`
	// WouldDeny marks an audited request that enforce mode would have refused.
	WouldDeny bool `json:"would_deny"`
	// Status is the status sent to the client; UpstreamStatus the one IMS sent (0 when
	// the request was not forwarded or IMS did not answer).
	Status         int `json:"status"`
	UpstreamStatus int `json:"upstream_status"`

	// File and Line say where the entry was read.
	File string `json:"-"`
	Line int    `json:"-"`
}

// Reasons of a refusal before the engine decided (docs/proxy.md): such a request needed
// no policy decision, or its caller or API is unknown.
var prePolicyReasons = map[string]bool{
	"no_api": true, "identity": true, "bad_request": true, "body": true, "iam": true, "decision_log": true,
}

// Accepted reports whether IMS accepted the request: it was forwarded and IMS answered
// with a 2xx status.
func (e *Entry) Accepted() bool {
	return e.Forwarded && e.UpstreamStatus >= 200 && e.UpstreamStatus < 300
}

// Allowed reports whether the policies allowed the request.
func (e *Entry) Allowed() bool { return e.Decision == "Allow" }

// DeniedByPolicy reports whether the policies denied the request (whether or not the
// denial was enforced).
func (e *Entry) DeniedByPolicy() bool {
	return e.Decision == "ImplicitDeny" || e.Decision == "ExplicitDeny"
}

// Decidable reports whether the request reached the point where policies decide it: its
// caller is a principal, it matched an API, and nothing refused it before the engine (a
// body that could not be read, a bad query). Only such requests depend on policies.
func (e *Entry) Decidable() bool {
	if e.Principal == "" || e.API == "" || prePolicyReasons[e.Reason] {
		return false
	}
	// An audited request with an unreadable body is logged with its reason; one refused
	// for its body has no actions.
	return true
}

// EPFact is one enterprise-project fact of a request, as logged.
type EPFact struct {
	// Source is query, body, patch or image.
	Source string
	// ID is the enterprise project; "" when it was not established ("?"), and Other
	// is set when it was established but named by no attachment of the principal, so
	// the proxy did not log it.
	ID    string
	Other bool
}

// Established reports whether the fact named an enterprise project (logged or not).
func (f EPFact) Established() bool { return f.ID != "" || f.Other }

// EPFacts parses EnterpriseProjects.
func (e *Entry) EPFacts() []EPFact {
	out := make([]EPFact, 0, len(e.EnterpriseProjects))
	for _, v := range e.EnterpriseProjects {
		src, id, _ := strings.Cut(v, "=")
		f := EPFact{Source: src}
		switch id {
		case "?", "":
		case "other":
			f.Other = true
		default:
			f.ID = id
		}
		out = append(out, f)
	}
	return out
}
