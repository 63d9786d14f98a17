// Package permmap draws what policy sets grant on IMS as a permission map: one row per
// principal of a proxy configuration (or per policy file), one column per IMS API grouped
// by API family and reference section, each cell Allowed, Conditional, Denied (nothing
// allows it) or Explicitly denied, with the statements that decide it — file, line,
// statement index, Sid and condition. It lays out rego/explain's results and decides
// nothing itself.
//
// Build turns explanations into a Map; WriteHTML renders it as one self-contained page
// (inline CSS and script, no external asset, a Content-Security-Policy that lets only its
// own script run; html/template escapes every policy text), WriteMarkdown as GitHub-flavoured
// tables for a pull-request comment (user text escaped).
//
// Imports: actions, policy, rego/authz, rego/explain. Functions are safe for concurrent use.
package permmap
