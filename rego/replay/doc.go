// Package replay re-decides logged requests with candidate policies: the engine of
// `imsguard replay` (which requests would a policy change deny, before it is enforced)
// and `imsguard unused` (which actions, statements and policies no request used).
//
// Each decision-log entry (package decisionlog) that reached the policies is decided
// again, with the real engine (rego/authz), from what the log says: the principal, the
// API and the actions it required (body-dependent ones as resolved), the project, the
// source address and time (g:SourceIp, g:CurrentTime), the enterprise-project facts.
// Where the log lacks what a decision needs, the answer is the protective one, never a
// guess: a decision that hangs on the caller's IAM user name (tokens; the log does not
// carry it), on an enterprise project the log does not name, or on a shared-image query
// (the query is never logged) is "undetermined" unless every possible reading allows
// the request, and an undetermined request IMS accepted fails the replay like a denied one.
//
// Imports: actions, policy, rego/authz, rego/lint (unused findings are lint findings, so
// lint's text and JSON reports render them), rego/report (their SARIF), rego/decisionlog. A Replayer is not safe for concurrent use; its results are
// plain values.
package replay
