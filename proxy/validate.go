package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

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
	if c.MaxBody <= 0 || c.MaxBody > 64<<20 {
		return bad(-1, fmt.Sprintf("max_body %d must be between 1 and %d bytes", c.MaxBody, 64<<20), "max_body")
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
	if err := c.Timeouts.validate(); err != nil {
		return err
	}
	if err := c.IAM.validate(); err != nil {
		return err
	}
	if err := c.EPLookup.validate(); err != nil {
		return err
	}
	if c.Limits.MaxInflightDecisions < 0 || c.Limits.MaxInflightDecisions > 100_000 {
		return bad(-1, "must be between 0 (half the cores) and 100000", "limits", "max_inflight_decisions")
	}
	if c.Limits.QueueWait < 0 || c.Limits.QueueWait > 10*time.Second {
		return bad(-1, "must be between 0 (shed at once) and 10s", "limits", "queue_wait")
	}
	if c.Signature.MaxSkew <= 0 || c.Signature.MaxSkew > time.Hour {
		return bad(-1, "max_skew must be between 1s and 1h", "signature", "max_skew")
	}
	if err := c.validatePrincipals(); err != nil {
		return err
	}
	return c.validateModes()
}

func (t *TimeoutsConfig) validate() error {
	for _, d := range []struct {
		name     string
		v        time.Duration
		required bool
	}{
		{"read_header", t.ReadHeader, true}, {"read", t.Read, false}, {"write", t.Write, false},
		{"idle", t.Idle, false}, {"shutdown", t.Shutdown, true}, {"decision", t.Decision, true},
		{"upstream_dial", t.UpstreamDial, true}, {"upstream_tls_handshake", t.UpstreamTLSHandshake, true},
		{"upstream_response_header", t.UpstreamResponseHeader, true},
	} {
		if d.v < 0 || (d.required && d.v == 0) {
			what := "must not be negative (0 means no limit)"
			if d.required {
				what = "must be a positive duration such as \"10s\""
			}
			return bad(-1, what, "timeouts", d.name)
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
	if i.Timeout <= 0 {
		return bad(-1, "must be a positive duration", "iam", "timeout")
	}
	if i.CacheSize < 1 || i.CacheSize > 1_000_000 {
		return bad(-1, "must be between 1 and 1000000", "iam", "cache_size")
	}
	if i.CacheMaxTTL < 0 {
		return bad(-1, "must not be negative (0: until the token expires)", "iam", "cache_max_ttl")
	}
	if i.NegativeCacheTTL < 0 || i.NegativeCacheTTL > maxNegativeCacheTTL {
		return bad(-1, fmt.Sprintf("must be between 0 (off) and %s", maxNegativeCacheTTL), "iam", "negative_cache_ttl")
	}
	if i.NegativeCacheSize < 1 || i.NegativeCacheSize > 1_000_000 {
		return bad(-1, "must be between 1 and 1000000", "iam", "negative_cache_size")
	}
	if i.MaxConcurrent < 1 || i.MaxConcurrent > 1024 {
		return bad(-1, "must be between 1 and 1024", "iam", "max_concurrent")
	}
	if i.QueueWait < 0 || i.QueueWait > time.Minute {
		return bad(-1, "must be between 0 (no wait) and 1m", "iam", "queue_wait")
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

// checkAddr validates a host:port listen address; empty is allowed when optional.
func checkAddr(addr string, optional bool) error {
	if addr == "" && optional {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not a host:port address", addr)
	}
	return nil
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
