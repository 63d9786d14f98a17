package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// HeaderDecisionID is the response header carrying the decision id of every request, so a
// client can quote it and an operator can find the decision log line.
const HeaderDecisionID = "X-Imsguard-Decision-Id"

// Reasons of a non-forwarded request, as logged ("reason") and counted ("result").
const (
	reasonPolicy     = "policy"      // the engine did not allow every action
	reasonNoAPI      = "no_api"      // unknown route, odd path, method not allowed
	reasonIdentity   = "identity"    // no, unknown, invalid or unverifiable credential
	reasonBadRequest = "bad_request" // method override, malformed forwarding header
	reasonBody       = "body"        // body needed for the decision is unreadable or too large
	reasonEngine     = "engine"      // evaluation error or timeout
	reasonIAM        = "iam"         // IAM could not validate the token
	reasonUpstream   = "upstream"    // upstream unreachable or timed out
	reasonCanceled   = "canceled"    // the client went away before the upstream answered
	// reasonShed (shed.go): at capacity, refused without a decision
)

// denial is a request the proxy answers itself. msg goes to the client and must hold no
// secret; err is logged (it holds no secret either: tokens, keys, signatures and query values
// never reach an error).
type denial struct {
	status     int
	reason     string
	msg        string
	denied     []string
	err        error
	retryAfter string // Retry-After (seconds), or ""
}

// errorBody is the JSON of every answer the proxy gives itself, in the IMS error shape
// (error_code, error_msg) plus the denied actions and the decision id.
type errorBody struct {
	ErrorCode     string   `json:"error_code"`
	ErrorMsg      string   `json:"error_msg"`
	DeniedActions []string `json:"denied_actions"`
	DecisionID    string   `json:"decision_id"`
}

// errorCode maps a status to the stable code IMSGUARD.0<status>.
func errorCode(status int) string { return "IMSGUARD." + leftPad(strconv.Itoa(status)) }

func leftPad(s string) string {
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

// writeDenial writes d as JSON.
func writeDenial(w http.ResponseWriter, id string, d *denial) {
	denied := d.denied
	if denied == nil {
		denied = []string{}
	}
	body, _ := json.Marshal(errorBody{ErrorCode: errorCode(d.status), ErrorMsg: d.msg, DeniedActions: denied, DecisionID: id})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if d.retryAfter != "" {
		h.Set("Retry-After", d.retryAfter)
	}
	w.WriteHeader(d.status)
	_, _ = w.Write(append(body, '\n'))
}
