package authz

import (
	"fmt"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// resourceParts names the five parts of a resource (spec §6.1), for messages.
var resourceParts = [5]string{"service", "region", "account", "resource type", "path"}

// exampleResource is what a request resource looks like, for messages.
const exampleResource = "obs:ae-ad-1:0a1b2c3d4e5f:bucket:my-bucket"

// CheckResource checks the shape of a request's resource (spec §6.1 and §7.1):
// service:region:account:type:path, five colon-separated parts, none empty; the path is
// everything after the fourth colon and may itself contain colons. Errors wrap
// ErrBadInput and say how to write one.
func CheckResource(r string) error {
	if msg := resourceProblem(r); msg != "" {
		return fmt.Errorf("%w: %s", ErrBadInput, msg)
	}
	return nil
}

// resourceProblem says what is wrong with the shape of a request's resource, "" if nothing.
func resourceProblem(r string) string {
	parts := strings.SplitN(r, ":", 5)
	if len(parts) != 5 {
		return fmt.Sprintf("resource %q has %d colon-separated part(s); a resource is service:region:account:type:path (five parts, the path may contain more colons), e.g. %s",
			r, len(parts), exampleResource)
	}
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			return fmt.Sprintf("resource %q: the %s is empty; a resource is service:region:account:type:path with every part given, e.g. %s",
				r, resourceParts[i], exampleResource)
		}
	}
	return ""
}

// resourceMatches reports whether a statement's Resource pattern matches the request's
// resource as spec §6.3 says: service and resource type case-insensitively, region,
// account and path case-sensitively, '*' any run of characters and '?' one character in
// each part, the path keeping its colons.
func resourceMatches(pattern, r string) bool {
	p, q := strings.SplitN(pattern, ":", 5), strings.SplitN(r, ":", 5)
	if len(p) != 5 || len(q) != 5 {
		return false
	}
	for i := range p {
		pp, qq := p[i], q[i]
		if i == 0 || i == 3 {
			pp, qq = strings.ToLower(pp), strings.ToLower(qq)
		}
		if !policy.GlobMatch(pp, qq) {
			return false
		}
	}
	return true
}
