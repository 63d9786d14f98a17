package proxy

import (
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/imsguard/imsguard/rego/authz"
)

// record collects what the decision log says about one request. Tokens, keys, signatures
// and query values are never put in it: the path is the canonical path without the query,
// an access key id is shortened, errors carry no credential.
type record struct {
	id                 string
	generation         uint64
	revision           string // of the imsguard bundle that decided (opa_config), or ""
	traceID, spanID    string // W3C trace context of the request (tracing.go)
	start              time.Time
	principal          string
	auth               string
	accessKey          string
	sourceIP           string
	project            string // the project the request acts in (g:ProjectName)
	method             string
	path               string
	api                string
	actions            []string
	enterpriseProjects epFacts // enterprise projects the decision was made in
	decision           string  // Allow | ExplicitDeny | ImplicitDeny | Deny (denied before the engine)
	reason             string  // why not allowed (reasons*), empty when allowed
	denied             []string
	decided            []authz.ActionDecision // the engine's per-action decisions (matched statements)
	cached             bool
	errMsg             string
	enforced           bool
	forwarded          bool
	wouldDeny          bool // audited, and enforce mode would have refused it
	signedUpstream     bool
	status             int
	upStatus           int
	decideDur          time.Duration
	upDur              time.Duration
}

// appendMatched appends the statements that matched as JSON strings
// "action=policy#statement:Effect", rendered straight from the decision into b without
// allocating: each piece is escaped in place, which is the escaping of the whole string
// (the separators are ASCII, so no character spans two pieces).
func appendMatched(b []byte, decided []authz.ActionDecision) []byte {
	b = append(b, `,"matched":[`...)
	first := true
	for _, a := range decided {
		for _, m := range a.Matched {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = appendJSONText(b, a.Action)
			b = append(b, '=')
			b = appendJSONText(b, m.Policy)
			b = append(b, '#')
			b = strconv.AppendInt(b, int64(m.Statement), 10)
			b = append(b, ':')
			b = appendJSONText(b, m.Effect)
			b = append(b, '"')
		}
	}
	return append(b, ']')
}

// deniedActions lists the actions that were not allowed.
func deniedActions(d authz.Decision) []string {
	var out []string
	for _, a := range d.Actions {
		if a.Effect != authz.Allow {
			out = append(out, a.Action)
		}
	}
	return out
}

// decisionLog writes one JSON line per request. The line has the shape slog's JSONHandler
// gives a record with msg "decision" (time, level, msg, then the fields), but is encoded
// directly into a pooled buffer: the generic handler cost 6.7µs a line on the benchmark
// machine, about a tenth of a proxied request. Each line is one Write to w, which must be
// safe for concurrent use (the Server's is a bufferedLog); then so is the decisionLog.
type decisionLog struct {
	w    io.Writer
	pool sync.Pool
}

func newDecisionLog(w io.Writer) *decisionLog {
	return &decisionLog{w: w, pool: sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}}
}

// write encodes rec and writes it as one line. end is the time the request finished.
func (l *decisionLog) write(rec *record, end time.Time) {
	if l == nil {
		return
	}
	bp := l.pool.Get().(*[]byte)
	b := rec.appendJSON((*bp)[:0], end)
	_, _ = l.w.Write(b)
	*bp = b
	l.pool.Put(bp)
}

// Caps on logged text fields (bytes): a line stays small whatever a request held, and a
// value the proxy never means to log cannot fill the log.
const (
	maxLogField = 256  // method, principal, ids, reasons, list entries
	maxLogPath  = 2048 // the canonical path (actions.MaxPathLen)
	maxLogError = 512  // error messages
)

// appendJSON appends the decision line, newline included. Every text field is capped.
// The line is OPA's decision-log event flattened (docs/fleet.md): decision_id, trace_id,
// span_id and bundles as in the event, then the fields of its input (appendInput) and of
// its result (appendResult) under the same names, then the timings.
func (rec *record) appendJSON(b []byte, end time.Time) []byte {
	b = append(b, `{"time":"`...)
	b = end.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"decision"`...)
	b = jsonField(b, "decision_id", rec.id)
	b = append(b, `,"generation":`...)
	b = strconv.AppendUint(b, rec.generation, 10)
	b = rec.appendTrace(b)
	b = rec.appendBundles(b)
	b = rec.appendInput(b)
	b = rec.appendResult(b)
	if rec.forwarded {
		b = append(b, `,"upstream_ms":`...)
		b = appendMillis(b, rec.upDur)
	}
	b = append(b, `,"decision_ms":`...)
	b = appendMillis(b, rec.decideDur)
	b = append(b, `,"latency_ms":`...)
	b = appendMillis(b, end.Sub(rec.start))
	return append(b, "}\n"...)
}

// appendTrace appends trace_id and span_id, when the request has them.
func (rec *record) appendTrace(b []byte) []byte {
	if rec.traceID != "" {
		b = jsonField(b, "trace_id", rec.traceID)
	}
	if rec.spanID != "" {
		b = jsonField(b, "span_id", rec.spanID)
	}
	return b
}

// appendBundles appends the revision of the imsguard bundle that decided, as OPA's events
// carry it: "bundles":{"imsguard":{"revision":"..."}}; nothing without a bundle.
func (rec *record) appendBundles(b []byte) []byte {
	if rec.revision == "" {
		return b
	}
	b = append(b, `,"bundles":{"imsguard":{"revision":`...)
	b = appendJSONString(b, capText(rec.revision, maxLogField))
	return append(b, "}}"...)
}

// appendInput appends the fields that describe the request (the input of OPA's event),
// each with a leading comma: who, from where, what. Redacted: the access key is
// shortened, the path has no query, no token, signature or body is ever here.
func (rec *record) appendInput(b []byte) []byte {
	b = jsonField(b, "principal", rec.principal)
	b = jsonField(b, "auth", rec.auth)
	if rec.accessKey != "" {
		b = jsonField(b, "access_key", rec.accessKey)
	}
	b = jsonField(b, "source_ip", rec.sourceIP)
	if rec.project != "" {
		b = jsonField(b, "project", rec.project)
	}
	b = jsonField(b, "method", rec.method)
	b = jsonFieldMax(b, "path", rec.path, maxLogPath)
	b = jsonField(b, "api", rec.api)
	b = jsonList(b, "actions", rec.actions)
	if ep := rec.enterpriseProjects.logValues(); ep != nil {
		b = jsonList(b, "enterprise_projects", ep)
	}
	return b
}

// appendResult appends the fields that describe the outcome (the result of OPA's
// event), each with a leading comma.
func (rec *record) appendResult(b []byte) []byte {
	b = jsonField(b, "decision", rec.decision)
	if rec.reason != "" {
		b = jsonField(b, "reason", rec.reason)
	}
	if len(rec.denied) > 0 {
		b = jsonList(b, "denied_actions", rec.denied)
	}
	b = appendMatched(b, rec.decided)
	if rec.cached {
		b = append(b, `,"cached":true`...)
	}
	if rec.errMsg != "" {
		b = jsonFieldMax(b, "error", rec.errMsg, maxLogError)
	}
	b = append(b, `,"enforced":`...)
	b = strconv.AppendBool(b, rec.enforced)
	b = append(b, `,"forwarded":`...)
	b = strconv.AppendBool(b, rec.forwarded)
	if rec.wouldDeny {
		b = append(b, `,"would_deny":true`...)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(rec.status), 10)
	if rec.signedUpstream {
		b = append(b, `,"signed_upstream":true`...)
	}
	if rec.forwarded {
		b = append(b, `,"upstream_status":`...)
		b = strconv.AppendInt(b, int64(rec.upStatus), 10)
	}
	return b
}

// appendMillis appends d in milliseconds to microsecond precision, as the shortest
// decimal ("12", "0.5", "3.125"): strconv.AppendFloat(b, µs/1000, 'f', -1, 64) without the
// float.
func appendMillis(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		b = append(b, '-')
	}
	ms, frac := us/1000, us%1000
	if us < 0 {
		ms, frac = -ms, -frac
	}
	b = strconv.AppendUint(b, uint64(ms), 10)
	if frac == 0 {
		return b
	}
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	return b
}

func jsonField(b []byte, key, value string) []byte {
	return jsonFieldMax(b, key, value, maxLogField)
}

func jsonFieldMax(b []byte, key, value string, max int) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, capText(value, max))
}

// capText cuts s to at most max bytes on a UTF-8 boundary, marking the cut with "…".
func capText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func jsonList(b []byte, key string, values []string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, capText(v, maxLogField))
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string, escaping as log/slog does: quotes,
// backslashes and control characters; invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are
// escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONText(b, s)
	return append(b, '"')
}

// appendJSONText appends s escaped as in a JSON string (appendJSONString), without the
// quotes.
func appendJSONText(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
