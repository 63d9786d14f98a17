package proxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
)

// ServeHTTP decides one request with the snapshot in use when it arrived, then forwards it
// (allowed, or audit mode) or answers with the JSON error.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := srv.now()
	s := srv.current.Load() // one snapshot decides the whole request
	srv.metrics.inflight.Add(1)
	defer srv.metrics.inflight.Add(-1)
	x := &exchange{} // all per-request state in one allocation
	rec, fw := &x.rec, &x.fw
	ids := newRequestIDs()
	*rec = record{id: ids[:16], generation: s.Generation, revision: s.Revision, start: start, method: r.Method, enforced: s.enforcing()}
	fw.rec = rec
	fw.trace = &x.trace
	srv.tracing.begin(r, fw.trace, ids[16:]) // the caller's trace context, or a new one (tracing.go)
	rec.traceID, rec.spanID = fw.trace.traceID, fw.trace.spanID
	defer fw.trace.end(rec)
	x.sw.ResponseWriter = w
	x.bb = bodyBuffer{w: w, r: r, max: s.cat.MaxBody(), deadline: s.Config.Timeouts.Decision}
	x.idHeader[0] = rec.id
	w.Header()[HeaderDecisionID] = x.idHeader[:]

	d := srv.decide(w, r, s, rec, fw, &x.bb, &x.globals, start)
	rec.decideDur = srv.now().Sub(start)
	rec.enforced = s.enforces(rec.principal, rec.api) // staged rollout (rollout.go)
	if d != nil {
		rec.reason, rec.denied = d.reason, d.denied
		if rec.decision == "" {
			rec.decision = "Deny"
		}
		if d.err != nil {
			rec.errMsg = d.err.Error()
		}
	}
	if d != nil && (rec.enforced || d.reason == reasonDecisionLog || d.reason == reasonNoBundle) { // these hold in audit mode too
		rec.status = d.status
		writeDenial(w, rec.id, d)
		srv.finish(rec)
		return
	}
	rec.forwarded, rec.wouldDeny = true, d != nil
	sw := &x.sw
	fw.upSpan = fw.trace.start("upstream")
	defer func() {
		// ReverseProxy aborts the handler (http.ErrAbortHandler) when the response cannot be
		// copied to the client; the request is still logged and counted.
		if p := recover(); p != nil {
			fw.upSpan.End()
			rec.status, rec.errMsg = sw.code(), "response to the client aborted"
			srv.finish(rec)
			panic(p)
		}
	}()
	x.ctx = fwdContext{Context: r.Context(), fw: fw}
	s.fwd.rp.ServeHTTP(sw, r.WithContext(&x.ctx))
	fw.upSpan.End()
	if rec.status == 0 {
		rec.status = sw.code()
	}
	srv.finish(rec)
}

// exchange is the state of one request: what is logged, what Rewrite needs, the status
// seen, the body read for the decision, the condition keys, the context that carries fw
// to Rewrite, and the backing array of the decision id header.
type exchange struct {
	rec      record
	fw       forwarding
	sw       statusWriter
	bb       bodyBuffer
	trace    reqTrace
	globals  authz.Globals
	ctx      fwdContext
	idHeader [1]string
}

// finish logs and counts a request.
func (srv *Server) finish(rec *record) {
	end := srv.now()
	srv.decisions.write(rec, end)
	srv.shipDecision(rec, end)
	srv.metrics.observe(rec)
}

// decide runs every check in order and returns nil only when the request may be forwarded
// to fw.path. It fills rec as it learns things.
func (srv *Server) decide(w http.ResponseWriter, r *http.Request, s *Snapshot, rec *record, fw *forwarding, bb *bodyBuffer, g *authz.Globals, now time.Time) *denial {
	if s.pending {
		return noBundle() // opa_config and no bundle yet: fail closed
	}
	ipText, err := sourceIP(r, s.trusted)
	if err != nil {
		return &denial{status: http.StatusBadRequest, reason: reasonBadRequest, msg: err.Error(), err: err}
	}
	fw.sourceIP = ipText
	rec.sourceIP = fw.sourceIP
	if d := checkHeaders(r); d != nil {
		return d
	}

	// The request target is parsed once: the canonical path and the decoded query are what
	// is authorized, signed and forwarded.
	sp := fw.trace.start("route")
	res := s.cat.Route(r.Method, r.RequestURI)
	sp.End()
	rec.path = res.Path
	switch {
	case res.Reason == actions.ReasonInvalidQuery:
		return &denial{status: http.StatusBadRequest, reason: reasonBadRequest,
			msg: "the query string is ambiguous or malformed: " + res.Detail, err: fmt.Errorf("%s: %s", res.Reason, res.Detail)}
	case !res.Matched:
		return &denial{status: http.StatusForbidden, reason: reasonNoAPI,
			msg: fmt.Sprintf("request matches no IMS API (%s): %s", res.Reason, res.Detail),
			err: fmt.Errorf("%s: %s", res.Reason, res.Detail)}
	}
	fw.canonical, fw.path, fw.query, fw.params = true, res.Path, res.Query, res.QueryParams
	rec.api = res.API.ID
	if d := srv.decisionLogDown(s); d != nil {
		return d
	}

	// The decision deadline is enforced without a timer per request (a context timer cost
	// more than the cached decision itself): the body read has a read deadline, token
	// validation its own IAM timeout, and a decision that took longer than the deadline is
	// refused once it returns. Policy evaluation always terminates; a client that goes away
	// cancels through the request context.
	ctx := r.Context()
	sp = fw.trace.start("identify")
	id, d := identify(ctx, r, s, &res, bb.get, now)
	sp.End()
	if id != nil {
		rec.auth, rec.accessKey, rec.project = id.auth, id.accessKey, id.project
		if id.principal != nil {
			rec.principal = id.principal.Name
		}
	}
	if s.tokens != nil && r.Header.Get(headerAuthTok) != "" {
		srv.metrics.tokenValidated(tokenResult(id, d))
	}
	if d != nil {
		return d
	}

	if id.auth == authDefault && id.principal.signer != nil {
		fw.sign = id.principal.signer
		if fw.sign.needsBody(r) {
			body, d := bb.get()
			if d != nil {
				return d
			}
			fw.body = body
		}
	}
	if res.API.NeedsBody() {
		body, d := bb.get()
		if d != nil {
			return d
		}
		if err := s.cat.Resolve(&res, body); err != nil {
			return &denial{status: http.StatusBadRequest, reason: reasonBody, msg: "request body does not say which actions are required: " + err.Error(), err: err}
		}
	}
	rec.actions = res.Actions
	if len(res.Actions) == 0 {
		rec.decision = string(authz.Allow) // the API requires no IAM action
		return nil
	}

	in := authz.Input{Actions: res.Actions, API: res.API, URL: res.Path, Project: id.project}
	if id.principal.readsContext {
		id.globals(g, srv.clock.currentTime(now), fw.sourceIP)
		in.Globals = g
		if id.principal.contextMap {
			in.Context, in.Globals = in.ContextMap(), nil
		}
	}
	if res.Query != "" {
		in.URL += "?" + res.Query
	}
	sp = fw.trace.start("decide")
	dec, facts, d, err := decideInScope(ctx, s, id.principal, &res, in, bb)
	sp.End()
	rec.enterpriseProjects = facts
	if d != nil {
		return d
	}
	if errors.Is(err, errShed) {
		return shedDenial(err)
	}
	if err == nil && srv.now().Sub(now) > s.Config.Timeouts.Decision {
		err = fmt.Errorf("decision took longer than timeouts.decision (%s)", s.Config.Timeouts.Decision)
	}
	if err != nil {
		return &denial{status: http.StatusInternalServerError, reason: reasonEngine, msg: "the request could not be authorized (policy evaluation failed); refused",
			denied: res.Actions, err: err}
	}
	rec.decision = string(dec.Effect)
	rec.decided = dec.Actions
	rec.cached = dec.Cached
	if dec.Effect != authz.Allow {
		denied := deniedActions(dec)
		if len(denied) == 0 {
			denied = res.Actions // fail closed: an odd decision denies everything
		}
		msg := fmt.Sprintf("%s: principal %q is not allowed %s (%s %s)", dec.Effect, id.principal.Name, strings.Join(denied, ", "), res.API.Method, res.API.Path)
		if why := facts.unestablished(); why != "" {
			msg += "; enterprise-project grants could not allow it: " + why
		}
		return &denial{status: http.StatusForbidden, reason: reasonPolicy, denied: denied, msg: msg, err: facts.err}
	}
	return nil
}

// tokenResult names the outcome of a token validation for the metrics.
func tokenResult(id *identity, d *denial) string {
	switch {
	case id != nil && id.token != nil && id.cached:
		return "cache_hit"
	case id != nil && id.token != nil:
		return "iam_valid"
	case d != nil && errors.Is(d.err, errRecentlyRejected):
		return "negative_cache_hit"
	case d != nil && errors.Is(d.err, ErrInvalidToken):
		return "iam_invalid"
	default:
		return "iam_error"
	}
}

// newRequestIDs returns the random ids of a request in one string of 64 hex digits: the
// decision id (16 digits), then a trace id (32) and a span id (16) for a request that
// brings no trace context. Ids correlate log lines; they are not secrets, so math/rand
// suffices. No 16-digit word is all zeros (an all-zero trace or span id is invalid).
func newRequestIDs() string {
	const hex = "0123456789abcdef"
	var b [64]byte
	for w := range 4 {
		n := rand.Uint64()
		if n == 0 {
			n = 1
		}
		for i := 16*w + 15; i >= 16*w; i-- {
			b[i] = hex[n&0xF]
			n >>= 4
		}
	}
	return string(b[:])
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
