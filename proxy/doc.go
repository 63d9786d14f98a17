// Package proxy is the enforcing reverse proxy that runs in front of the Image Management
// Service (IMS): it identifies the caller (AK/SK signature, IAM token or a configured default
// principal), maps the request to exactly one IMS API with the catalog of package actions,
// asks the caller's policy engine (package rego) whether every required action is allowed,
// and only then forwards the canonical request upstream with net/http/httputil.ReverseProxy.
//
// Everything that goes wrong denies: an unknown route, a path that is not canonical, a body
// that cannot be read or resolved, a credential that cannot be verified, an engine error or
// a timeout. Audit mode (mode = "audit") forwards every request and logs what enforce mode
// would have decided.
//
// The configuration (TOML, see Config) and the policy files are loaded into an immutable
// Snapshot: parsed, linted, compiled into one engine per principal. A Server holds the
// current Snapshot in an atomic pointer; each request reads it exactly once, so a hot reload
// (fsnotify or SIGHUP via Server.Hangup, both only when the files changed; Server.Reload
// always) swaps the whole set at once and a bad change keeps the last good one.
//
// Each request the proxy handles gets one decision line, with its decision_id: JSON shaped
// like a log/slog JSON record with msg "decision", but encoded directly into a pooled
// buffer, not through slog (decisionlog.go). Lines for the decision_log file or standard
// output are batched and written off the request path by a goroutine that keeps them
// (up to a bound) through write failures and reopens a rotated file (logwriter.go); with
// decision_log_required the proxy refuses requests while they cannot be written. Decisions
// are counted in Prometheus metrics served on a separate listener together with /healthz
// and /readyz. Operational messages (start, reloads, failures) go to the injected log/slog
// logger (Options.Log).
//
// There is no package-level state: everything hangs off a Server built by NewServer, and
// all exported methods of Server and Snapshot are safe for concurrent use.
package proxy
