package proxy

import (
	"net/http"
	"strings"
)

// methodOverrideHeaders would let a client make IMS see another method than the one
// authorized; requests carrying any of them, in any spelling, are refused. Lower case,
// with dashes.
var methodOverrideHeaders = map[string]bool{"x-http-method-override": true, "x-http-method": true, "x-method-override": true}

// guardedHeaders are the headers the proxy decides on, verifies, strips or sets (lower
// case, with dashes). A client may not send them spelled with underscores: servers and
// gateways that fold "_" into "-" (CGI, WSGI, nginx underscores_in_headers) would honour a
// header the proxy never saw as that header.
var guardedHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "x-auth-token": true, "x-subject-token": true,
	"x-security-token": true, "x-sdk-date": true, "x-sdk-content-sha256": true, "x-project-id": true,
	"x-domain-id": true, "x-domain-name": true, "host": true, "forwarded": true, "x-real-ip": true,
	"content-type": true, "content-length": true, "content-encoding": true, "transfer-encoding": true,
	"connection": true, "upgrade": true, "te": true, "trailer": true, "keep-alive": true, "expect": true,
}

// normalHeader is a header name as a folding server reads it: "_" as "-", lower case.
func normalHeader(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

func guarded(norm string) bool {
	return guardedHeaders[norm] || strings.HasPrefix(norm, "x-forwarded-") || strings.HasPrefix(norm, "x-imsguard-")
}

// checkHeaders refuses method overrides in any spelling, underscore spellings of guarded
// headers, protocol upgrades and CONNECT. Messages name the header by its canonical
// spelling, never by what the client sent.
func checkHeaders(r *http.Request) *denial {
	for k := range r.Header {
		if strings.IndexByte(k, '_') < 0 && !maybeMethodOverride(k) {
			continue // the common case, decided without building the normal form
		}
		norm := normalHeader(k)
		switch {
		case methodOverrideHeaders[norm]:
			return &denial{status: http.StatusBadRequest, reason: reasonBadRequest, msg: http.CanonicalHeaderKey(norm) + " is not accepted (in any spelling): send the real method"}
		case strings.IndexByte(k, '_') >= 0 && guarded(norm):
			return &denial{status: http.StatusBadRequest, reason: reasonBadRequest,
				msg: "a header spelled with underscores that reads as " + http.CanonicalHeaderKey(norm) + " is refused: send " + http.CanonicalHeaderKey(norm) + " itself"}
		}
	}
	if r.Header.Get("Upgrade") != "" || r.Method == http.MethodConnect {
		return &denial{status: http.StatusBadRequest, reason: reasonBadRequest, msg: "protocol upgrades and CONNECT are not accepted"}
	}
	return nil
}

// maybeMethodOverride reports whether a header name without "_" could be a method
// override: it has the length of one (normalHeader keeps the length).
func maybeMethodOverride(k string) bool {
	switch len(k) {
	case len("x-http-method"), len("x-method-override"), len("x-http-method-override"):
		return true
	}
	return false
}

// stripUnderscoreHeaders removes every header whose name holds "_" from a request going
// upstream: IMS defines none, and a folding server could read one as another header.
func stripUnderscoreHeaders(h http.Header) {
	for k := range h {
		if strings.IndexByte(k, '_') >= 0 {
			delete(h, k)
		}
	}
}
