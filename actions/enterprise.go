package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// EPSource says where the enterprise project of a request is a fact rather than a claim.
// An enterprise-project grant may only allow a request whose enterprise project is a fact;
// IMS ignores enterprise_project_id wherever no source is listed (on single-image calls the
// image's own enterprise project counts, whatever the query says).
type EPSource string

// The sources of an API's enterprise project (catalog field enterprise_project_of).
const (
	// EPQuery: a list filtered by the enterprise_project_id query parameter; IMS returns
	// only images of that enterprise project.
	EPQuery EPSource = "query"
	// EPBody: the enterprise_project_id field of a JSON body that creates an image; IMS
	// puts the new image there.
	EPBody EPSource = "body"
	// EPImage: the existing image {image_id}; only IMS knows its enterprise project, so
	// the proxy must look it up.
	EPImage EPSource = "image"
	// EPPatch: a JSON Patch that sets /enterprise_project_id moves the image there.
	EPPatch EPSource = "patch"
)

// EnterpriseProjectField is the query parameter and body field naming an enterprise project.
const EnterpriseProjectField = "enterprise_project_id"

// AllGrantedEPs is the list filter value meaning "every enterprise project I am granted";
// it names no enterprise project.
const AllGrantedEPs = "all_granted_eps"

// EPFact is what one source of a request establishes about its enterprise project.
type EPFact struct {
	Source EPSource
	// ID is the enterprise project established; "" when it is not (yet) established.
	ID string
	// ImageID is the image whose enterprise project must be looked up (EPImage).
	ImageID string
	// Why says, when ID is "", why the request does not establish it. It never quotes a
	// value from the request.
	Why string
}

// Established reports whether the fact names an enterprise project.
func (f EPFact) Established() bool { return f.ID != "" }

// EPNeedsBody reports whether establishing the enterprise project reads the body.
func (a *API) EPNeedsBody() bool {
	for _, s := range a.EnterpriseProjectOf {
		if s == EPBody || s == EPPatch {
			return true
		}
	}
	return false
}

// EnterpriseProjectFacts lists, for a matched request, one fact per source of its API's
// enterprise_project_of (a JSON Patch that does not touch the enterprise project adds
// none). EPImage facts carry the image id and no ID: the caller looks it up. body is the
// request body when EPNeedsBody. A body that cannot be read unambiguously is an error
// (*BodyError), so the request is refused rather than decided on a guess.
func (r *Result) EnterpriseProjectFacts(body []byte) ([]EPFact, error) {
	if !r.Matched || !r.API.EnterpriseProject {
		return nil, nil
	}
	out := make([]EPFact, 0, len(r.API.EnterpriseProjectOf))
	for _, src := range r.API.EnterpriseProjectOf {
		switch src {
		case EPQuery:
			v, ok := r.QueryParams.Get(EnterpriseProjectField)
			switch {
			case !ok:
				out = append(out, EPFact{Source: src, Why: "the list is not filtered by enterprise_project_id"})
			case v == "" || v == AllGrantedEPs:
				out = append(out, EPFact{Source: src, Why: "the enterprise_project_id filter names no single enterprise project"})
			default:
				out = append(out, EPFact{Source: src, ID: v})
			}
		case EPImage:
			out = append(out, EPFact{Source: src, ImageID: r.Params.Get("image_id"), Why: "the image's enterprise project has not been looked up"})
		case EPBody:
			f, err := bodyEP(body)
			if err != nil {
				return nil, &BodyError{API: r.API.ID, Err: ErrBodyInvalid, Reason: err.Error()}
			}
			out = append(out, f)
		case EPPatch:
			f, touched, err := patchEP(body)
			if err != nil {
				return nil, &BodyError{API: r.API.ID, Err: ErrBodyInvalid, Reason: err.Error()}
			}
			if touched {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// bodyEP reads enterprise_project_id from a JSON object body.
func bodyEP(body []byte) (EPFact, error) {
	f := EPFact{Source: EPBody}
	if len(bytes.TrimSpace(body)) == 0 || !json.Valid(body) {
		return f, errors.New("request body is not valid JSON; the enterprise project of the new image is read from it")
	}
	fields, err := objectFields(body)
	if err != nil {
		return f, err
	}
	raw, ok, err := lookupField(fields, EnterpriseProjectField)
	if err != nil {
		return f, err
	}
	var s string
	switch {
	case !ok:
		f.Why = "the body names no enterprise_project_id (IMS then picks the default enterprise project; name it to use an enterprise-project grant)"
	case raw[0] != '"' || json.Unmarshal(raw, &s) != nil || s == "":
		f.Why = "the body's enterprise_project_id is not a non-empty string"
	default:
		f.ID = s
	}
	return f, nil
}

// patchEP reads where a JSON Patch moves the image. touched is false when no operation
// concerns /enterprise_project_id; the fact is established only for exactly one "add" or
// "replace" of exactly that path with a non-empty string value.
func patchEP(body []byte) (f EPFact, touched bool, err error) {
	f = EPFact{Source: EPPatch}
	var ops []json.RawMessage
	if err := json.Unmarshal(body, &ops); err != nil {
		return f, false, errors.New("request body must be a JSON Patch array of operations")
	}
	target := "/" + EnterpriseProjectField
	n := 0
	for i, raw := range ops {
		fields, err := objectFields(raw)
		if err != nil {
			return f, false, fmt.Errorf("JSON Patch operation %d: %v", i, err)
		}
		var op, path, from string
		related := false
		for _, k := range []string{"path", "from"} {
			v, ok, err := lookupField(fields, k)
			if err != nil {
				return f, false, fmt.Errorf("JSON Patch operation %d: %v", i, err)
			}
			var p string
			if ok && json.Unmarshal(v, &p) != nil {
				return f, false, fmt.Errorf("JSON Patch operation %d: %q must be a string", i, k)
			}
			if ok && pointerRelated(p, target) {
				related = true
			}
			if k == "path" {
				path = p
			} else {
				from = p
			}
		}
		if !related {
			continue
		}
		touched = true
		n++
		if v, ok, _ := lookupField(fields, "op"); ok {
			_ = json.Unmarshal(v, &op)
		}
		val, ok, err := lookupField(fields, "value")
		if err != nil {
			return f, false, fmt.Errorf("JSON Patch operation %d: %v", i, err)
		}
		var s string
		if n == 1 && (op == "add" || op == "replace") && path == target && from == "" && ok && val[0] == '"' && json.Unmarshal(val, &s) == nil && s != "" {
			f.ID = s
			continue
		}
		f.ID = ""
	}
	if touched && f.ID == "" {
		f.Why = "the patch changes the enterprise project other than by one add or replace of /" + EnterpriseProjectField + " with a string"
	}
	if n > 1 {
		f.ID, f.Why = "", "the patch changes the enterprise project more than once"
	}
	return f, touched, nil
}

// EPException describes the requests of an enterprise-project API for which
// enterprise-project grants do not apply, neither to allow nor to deny: only IAM-project
// grants decide them.
type EPException struct {
	// When says which requests, in words.
	When string `json:"when" toml:"when"`
	// Query: the request is an exception when any of these parameters is present with one
	// of its values (an empty list: with any value).
	Query map[string][]string `json:"query" toml:"query"`
}

// EPExceptionApplies reports whether a request with query q is one of the API's
// exceptions.
func (a *API) EPExceptionApplies(q Query) bool {
	if a.EPException == nil {
		return false
	}
	for _, p := range q {
		vals, ok := a.EPException.Query[p.Key]
		if !ok {
			continue
		}
		if len(vals) == 0 {
			return true
		}
		for _, v := range vals {
			if strings.EqualFold(p.Value, v) { // read a case variant as IMS might
				return true
			}
		}
	}
	return false
}
