package proxy

import (
	"fmt"
	"time"
)

// EPLookupConfig is the [enterprise_project_lookup] table. A single-image call (get,
// update, delete, export, register, copy) names an image whose enterprise project only IMS
// knows; the proxy asks IMS (GET /v2/cloudimages?id=...) with this AK/SK — its own
// credential, never the caller's — and caches the answer for CacheTTL. Without the table
// (no access_key), or when the lookup fails, the image's enterprise project is not
// established: enterprise-project grants cannot allow the call and every
// enterprise-project-scoped Deny applies to it.
type EPLookupConfig struct {
	// AccessKey is the access key id the lookups are signed with (SDK-HMAC-SHA256).
	AccessKey string `toml:"access_key"`
	// SecretKeyEnv names the environment variable holding the secret key.
	SecretKeyEnv string `toml:"secret_key_env"`
	// ProjectID is sent as X-Project-Id: the project whose images are looked up (the
	// project the proxy guards). Optional when the credential has one default project.
	ProjectID string `toml:"project_id"`
	// CacheTTL is how long an answer (found or not found) is trusted (default 30s): an
	// image moved to another enterprise project is seen after at most this long.
	CacheTTL time.Duration `toml:"cache_ttl"`
	// CacheSize bounds the images remembered (default 10000).
	CacheSize int `toml:"cache_size"`
	// Timeout bounds one lookup (default 5s).
	Timeout time.Duration `toml:"timeout"`
	// MaxConcurrent bounds lookups in flight (default 8), so requests naming many
	// made-up images cannot flood IMS.
	MaxConcurrent int `toml:"max_concurrent"`
	// QueueWait is how long a lookup waits for a free slot before it gives up (default 1s);
	// the enterprise project then stays unknown.
	QueueWait time.Duration `toml:"queue_wait"`
}

// enabled reports whether lookups are configured.
func (c *EPLookupConfig) enabled() bool { return c.AccessKey != "" }

func (c *EPLookupConfig) validate() error {
	k := func(name string) []string { return []string{"enterprise_project_lookup", name} }
	if c.AccessKey == "" {
		if c.SecretKeyEnv != "" || c.ProjectID != "" {
			return bad(-1, "access_key is required when the table sets secret_key_env or project_id", k("access_key")...)
		}
	} else {
		if !akRe.MatchString(c.AccessKey) {
			return bad(-1, "must be 8-128 letters or digits", k("access_key")...)
		}
		if !envRe.MatchString(c.SecretKeyEnv) {
			return bad(-1, "must name an environment variable (the secret itself never goes in the file)", k("secret_key_env")...)
		}
	}
	if c.ProjectID != "" && !projRe.MatchString(c.ProjectID) {
		return bad(-1, fmt.Sprintf("%q is not a project id", c.ProjectID), k("project_id")...)
	}
	return nil
}
