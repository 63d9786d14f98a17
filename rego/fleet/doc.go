// Package fleet connects imsguard to the OPA management APIs a fleet of sidecars is run
// with: bundles, decision logs and status, through OPA's own plugins.
//
// Bundles (bundle.go): Write writes an OPA bundle whose manifest claims the one root
// "imsguard" and whose data is data.imsguard — what the proxy decodes (principals and the
// raw text of each policy, so positions and duplicate keys survive) — signed with OPA's
// bundle signing when asked; Read reads one back, verifying its signature with a key.
//
// The agent (agent.go): Start runs OPA's plugin manager from a standard OPA configuration
// (services, bundles, keys, decision_logs, status, labels, persist, discovery) through
// OPA's sdk. OPA's bundle plugin downloads, verifies, persists and activates the bundle;
// an activation is vetoed (store.go) unless imsguard's Activate callback accepts the new
// data, so a bundle imsguard refuses is reported by the bundle and status plugins as
// failed, is never persisted, and the previous one stays active in OPA as in imsguard.
// Decision events (events.go) are queued, bounded, and handed to OPA's decision_logs
// plugin off the request path, which buffers, uploads (gzip POST), retries and
// rate-limits them as the configuration says.
//
// The OPA configuration (env.go): ExpandEnv substitutes its ${NAME} references with
// environment variables as `opa run` does, but fails closed (a variable not set, a bad
// name, a value with a line break are errors naming file and line, never the value);
// ExpandEnvRedact's Redact keeps the values out of OPA's errors and log lines.
//
// The package knows nothing of IMS or policies: the proxy gives it JSON and decides what
// the JSON means. OPA types stay inside it. Exported functions are safe for concurrent
// use; an Agent's methods are too.
package fleet
