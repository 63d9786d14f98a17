// Package decisionlog reads the proxy's decision log as the offline tools need it:
// `imsguard generate`, `replay` and `unused` learn from it what a workload really called.
// A log is JSON lines, one per request (docs/proxy.md, "Decision log"); Read takes any
// number of files, plain or gzip-compressed (recognised by their content, so logrotate's
// `.1` and `.2.gz` both work) or standard input, keeps the decision lines of the
// principals and window asked for, and skips everything else: operational lines, a line
// torn by a crash, a line read twice from overlapping rotations (same decision_id).
//
// It reads only what the proxy writes; nothing secret is in a decision line, so nothing
// secret is read. Entries say what the proxy decided (Decision, Enforced, Forwarded),
// what IMS answered (UpstreamStatus), and what a request needed (API, Actions: the
// body-dependent ones as resolved, Project, EnterpriseProjects, SourceIP).
//
// Imports: the standard library only, so every layer (rego/* analyses, the proxy's tests)
// may use it. Functions are safe for concurrent use; an Entry is a plain value.
package decisionlog
