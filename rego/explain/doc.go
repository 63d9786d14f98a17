// Package explain says what a policy set allows on IMS, API by API (and each
// request-body variant of an API) and action by action: Allowed, Conditional or Denied,
// with the statements that decide it — the engine behind `imsguard explain`. Compare
// lists the APIs and actions whose status differs between two explanations, the
// route-level view of `imsguard diff`.
//
// Imports: actions, policy, rego/authz. Functions are safe for concurrent use.
package explain
