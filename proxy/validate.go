package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/imsguard/imsguard/actions"
)

// fieldError is a validation problem tied to one key; index is the occurrence of the array
// table holding it (-1: first).
type fieldError struct {
	key   toml.Key
	index int
	msg   string
}

func (e *fieldError) Error() string { return e.key.String() + ": " + e.msg }

func bad(index int, msg string, key ...string) error {
	return &fieldError{key: key, index: index, msg: msg}
}

var (
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)
	envRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	akRe     = regexp.MustCompile(`^[A-Za-z0-9]{8,128}$`)
	projRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	userRe   = regexp.MustCompile(`^[^/\s]{1,64}(/[^/\s]{1,64})?$`)
	scopeSet = map[string]bool{"all_projects": true, "project": true, "global": true, "enterprise_project": true}
)

// validate checks every field that can be checked without the file system or the
// environment. The first problem is returned as a *fieldError.
func (c *Config) validate() error {
	if err := checkAddr(c.Listen, false); err != nil {
		return bad(-1, err.Error(), "listen")
	}
	if err := checkURL(c.Upstream); err != nil {
		return bad(-1, err.Error(), "upstream")
	}
	if c.Mode != ModeEnforce && c.Mode != ModeAudit {
		return bad(-1, fmt.Sprintf("mode %q must be %q or %q", c.Mode, ModeEnforce, ModeAudit), "mode")
	}
	if !projRe.MatchString(c.Project) {
		return bad(-1, fmt.Sprintf("project %q must be a project name such as ae-ad-1", c.Project), "project")
	}
	for _, p := range c.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			return bad(-1, err.Error(), "trusted_proxies")
		}
	}
	if strings.TrimSpace(c.DecisionLog) == "" {
		return bad(-1, `decision_log must be "-" (standard output) or a file path`, "decision_log")
	}
	if (c.ServerTLS.CertFile == "") != (c.ServerTLS.KeyFile == "") {
		return bad(-1, "cert_file and key_file must be given together", "server_tls", "cert_file")
	}
	if err := checkAddr(c.Metrics.Listen, true); err != nil {
		return bad(-1, err.Error(), "metrics", "listen")
	}
	if c.Metrics.Listen != "" && sameListenAddr(c.Listen, c.Metrics.Listen) {
		return bad(-1, fmt.Sprintf("%q is also the address of listen: give the metrics listener its own port (or \"\" to turn it off)", c.Metrics.Listen), "metrics", "listen")
	}
	if err := c.checkBounds(); err != nil {
		return err
	}
	if err := c.IAM.validate(); err != nil {
		return err
	}
	if err := c.EPLookup.validate(); err != nil {
		return err
	}
	if c.OPAConfig != "" {
		return c.validateFleet()
	}
	if err := c.validatePrincipals(); err != nil {
		return err
	}
	return c.validateModes()
}

// validateFleet checks a configuration whose principals come from an OPA bundle
// (opa_config): it names none itself, and only the global modes can be checked now; the
// principals, their modes and default_principal are checked against each bundle
// (bundle.go).
func (c *Config) validateFleet() error {
	if strings.TrimSpace(c.OPAConfig) == "" {
		return bad(-1, "opa_config must name an OPA configuration file, e.g. \"opa.yaml\"", "opa_config")
	}
	if len(c.Principals) > 0 {
		return bad(0, "principals come from the OPA bundle when opa_config is set: move the [[principals]] entries into the bundle's source configuration (imsguard bundle build --config) or remove opa_config", "principals", "name")
	}
	for api, m := range c.Modes {
		if m != ModeEnforce && m != ModeAudit {
			return bad(-1, fmt.Sprintf("modes.%s = %q must be %q or %q", api, m, ModeEnforce, ModeAudit), "modes")
		}
	}
	return nil
}

func (i *IAMConfig) validate() error {
	if i.Endpoint != "" {
		if err := checkURL(i.Endpoint); err != nil {
			return bad(-1, err.Error(), "iam", "endpoint")
		}
	}
	return nil
}

func (c *Config) validatePrincipals() error {
	if len(c.Principals) == 0 {
		return bad(-1, "at least one [[principals]] entry is needed", "principals")
	}
	names := map[string]bool{}
	aks := map[string]string{}
	users := map[string]string{}
	att := 0 // ordinal of [[principals.attachments]] over the whole file
	for i, p := range c.Principals {
		if !nameRe.MatchString(p.Name) {
			return bad(i, fmt.Sprintf("name %q must be 1-64 letters, digits, '_', '.', '@' or '-'", p.Name), "principals", "name")
		}
		if names[p.Name] {
			return bad(i, fmt.Sprintf("principal %q is defined twice", p.Name), "principals", "name")
		}
		names[p.Name] = true
		for _, ak := range p.AccessKeys {
			if !akRe.MatchString(ak) {
				return bad(i, fmt.Sprintf("principal %q: access key id %q must be 8-128 letters or digits", p.Name, redactAK(ak)), "principals", "access_keys")
			}
			if other, dup := aks[ak]; dup {
				return bad(i, fmt.Sprintf("access key %s is listed for principals %q and %q", redactAK(ak), other, p.Name), "principals", "access_keys")
			}
			aks[ak] = p.Name
		}
		for ak, env := range p.SecretKeyEnv {
			if aks[ak] != p.Name {
				return bad(i, fmt.Sprintf("principal %q: secret_key_env names access key %s, which is not in its access_keys", p.Name, redactAK(ak)), "principals", "secret_key_env")
			}
			if !envRe.MatchString(env) {
				return bad(i, fmt.Sprintf("principal %q: %q is not an environment variable name (the secret itself never goes in the file)", p.Name, env), "principals", "secret_key_env")
			}
		}
		for _, u := range p.Users {
			if !userRe.MatchString(u) {
				return bad(i, fmt.Sprintf("principal %q: user %q must be a user name or domain/user", p.Name, u), "principals", "users")
			}
			if other, dup := users[u]; dup {
				return bad(i, fmt.Sprintf("user %q is listed for principals %q and %q", u, other, p.Name), "principals", "users")
			}
			users[u] = p.Name
		}
		for _, pol := range p.Policies {
			if strings.TrimSpace(pol) == "" {
				return bad(i, fmt.Sprintf("principal %q: empty policy path", p.Name), "principals", "policies")
			}
		}
		if u := p.SignUpstream; u != nil {
			if !akRe.MatchString(u.AccessKey) {
				return bad(i, fmt.Sprintf("principal %q: sign_upstream.access_key must be 8-128 letters or digits", p.Name), "principals", "sign_upstream", "access_key")
			}
			if !envRe.MatchString(u.SecretKeyEnv) {
				return bad(i, fmt.Sprintf("principal %q: sign_upstream.secret_key_env must name an environment variable (the secret itself never goes in the file)", p.Name), "principals", "sign_upstream", "secret_key_env")
			}
			if u.ProjectID != "" && !projRe.MatchString(u.ProjectID) {
				return bad(i, fmt.Sprintf("principal %q: sign_upstream.project_id %q is not a project id", p.Name, u.ProjectID), "principals", "sign_upstream", "project_id")
			}
		}
		for _, a := range p.Attachments {
			if err := a.validate(p.Name, att); err != nil {
				return err
			}
			att++
		}
	}
	if c.DefaultPrincipal != "" && !names[c.DefaultPrincipal] {
		return bad(-1, fmt.Sprintf("default_principal %q is not the name of a [[principals]] entry", c.DefaultPrincipal), "default_principal")
	}
	return nil
}

func (a *AttachmentConfig) validate(principal string, index int) error {
	key := func(k string) []string { return []string{"principals", "attachments", k} }
	if strings.TrimSpace(a.Policy) == "" {
		return bad(index, fmt.Sprintf("principal %q: attachment needs a policy path", principal), key("policy")...)
	}
	if !scopeSet[a.Scope] {
		return bad(index, fmt.Sprintf("principal %q: scope %q must be all_projects, project, global or enterprise_project", principal, a.Scope), key("scope")...)
	}
	if (a.Scope == "project") != (len(a.Projects) > 0) {
		return bad(index, fmt.Sprintf("principal %q: projects must be given exactly when scope = \"project\"", principal), key("projects")...)
	}
	if (a.Scope == "enterprise_project") != (len(a.EnterpriseProjects) > 0) {
		return bad(index, fmt.Sprintf("principal %q: enterprise_projects must be given exactly when scope = \"enterprise_project\"", principal), key("enterprise_projects")...)
	}
	for _, p := range a.Projects {
		if !projRe.MatchString(p) {
			return bad(index, fmt.Sprintf("principal %q: project %q is not a project name", principal, p), key("projects")...)
		}
	}
	for _, p := range a.EnterpriseProjects {
		if strings.TrimSpace(p) == "" {
			return bad(index, fmt.Sprintf("principal %q: empty enterprise project id", principal), key("enterprise_projects")...)
		}
		if p == actions.AllGrantedEPs {
			return bad(index, fmt.Sprintf("principal %q: %q is a list filter, not an enterprise project id", principal, p), key("enterprise_projects")...)
		}
	}
	return nil
}

// checkAddr validates a host:port listen address (port 0: any free port); empty is allowed
// when optional.
func checkAddr(addr string, optional bool) error {
	if addr == "" && optional {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address, e.g. 127.0.0.1:8443", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535", addr)
	}
	return nil
}

// sameListenAddr reports whether two listen addresses ask for the same fixed port on
// overlapping interfaces (port 0 never collides: each listener gets a free port).
func sameListenAddr(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	any := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || any(ha) || any(hb)
}

// checkURL validates an absolute http(s) base URL without query, fragment or user info.
func checkURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("is required, e.g. https://ims.ae-ad-1.g42cloud.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with https:// (or http://)", raw)
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		return fmt.Errorf("%q must not contain credentials", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("%q must not have a query or fragment", raw)
	}
	return nil
}

// parsePrefix parses an IP address or CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q is not an IP address or CIDR prefix", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q is not an IP address or CIDR prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// redactAK shortens an access key id for messages: the first four characters.
func redactAK(ak string) string {
	if len(ak) <= 4 {
		return "****"
	}
	return ak[:4] + "****"
}
