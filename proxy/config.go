package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imsguard/imsguard/actions"
)

// Modes of the proxy.
const (
	// ModeEnforce denies every request that is not allowed.
	ModeEnforce = "enforce"
	// ModeAudit forwards every request and logs what enforce mode would have decided.
	ModeAudit = "audit"
)

// Config is the proxy configuration file, TOML. Load order: Defaults, then a strict decode
// of the file (unknown keys are errors with file:line), then Validate, then compile into a
// Snapshot. Durations are Go duration strings ("10s", "1m30s"); relative paths resolve
// against the folder of the configuration file. Secrets never live in the file: a secret
// access key is read from the environment variable named by PrincipalConfig.SecretKeyEnv.
type Config struct {
	// Listen is the address the proxy serves IMS clients on (default 127.0.0.1:8443).
	Listen string `toml:"listen"`
	// Upstream is the IMS endpoint requests are forwarded to, e.g.
	// https://ims.ae-ad-1.g42cloud.com (required). A path prefix is kept.
	Upstream string `toml:"upstream"`
	// Mode is "enforce" (default) or "audit".
	Mode string `toml:"mode"`
	// Modes overrides Mode for some APIs: API id → "enforce" or "audit" (rollout.go).
	Modes map[string]string `toml:"modes"`
	// Project is the IAM project assumed when the credential names none: AK/SK requests,
	// the default principal, domain-scoped tokens (default ae-ad-1).
	Project string `toml:"project"`
	// DefaultPrincipal names the principal of requests without any credential (sidecar
	// mode). Empty: such requests are denied.
	DefaultPrincipal string `toml:"default_principal"`
	// TrustedProxies are the peers (IP addresses or CIDR prefixes) whose X-Forwarded-For is
	// believed for g:SourceIp. Empty: the peer address is the source address.
	TrustedProxies []string `toml:"trusted_proxies"`
	// MaxBody is the most bytes read from a request body to resolve conditional actions or
	// to verify a signed payload hash (default 1 MiB). Larger bodies that must be read are
	// denied; bodies that need not be read (image uploads) stream through unbounded.
	MaxBody int64 `toml:"max_body"`
	// RequireSignature denies AK/SK requests whose access key has no secret configured, so
	// every AK/SK request is verified by the proxy (default false: the upstream verifies).
	RequireSignature bool `toml:"require_signature"`
	// DecisionLog is where decision lines go: "-" for standard output (default) or a file,
	// opened for appending.
	DecisionLog string `toml:"decision_log"`
	// DecisionLogRequired refuses requests (503) while the decision log cannot be written,
	// instead of forwarding them with their lines kept in memory (default false).
	DecisionLogRequired bool `toml:"decision_log_required"`

	ServerTLS   ServerTLSConfig `toml:"server_tls"`
	Metrics     MetricsConfig   `toml:"metrics"`
	Timeouts    TimeoutsConfig  `toml:"timeouts"`
	UpstreamTLS TLSConfig       `toml:"upstream_tls"`
	IAM         IAMConfig       `toml:"iam"`
	Signature   SignatureConfig `toml:"signature"`
	Engine      EngineConfig    `toml:"engine"`
	Limits      LimitsConfig    `toml:"limits"`
	// EPLookup establishes the enterprise project of existing images (see EPLookupConfig).
	EPLookup EPLookupConfig `toml:"enterprise_project_lookup"`
	// OPAConfig is an OPA configuration file (path relative to this file): the principals
	// and policies then come from the OPA bundle named "imsguard" (docs/fleet.md), and
	// decision events go to OPA's decision_logs plugin. [[principals]] must be absent.
	OPAConfig  string            `toml:"opa_config"`
	Principals []PrincipalConfig `toml:"principals"`
}

// ServerTLSConfig is the [server_tls] table: serve clients over TLS (a central proxy).
// Both files or neither; without them the proxy speaks plain HTTP (a sidecar on loopback).
type ServerTLSConfig struct {
	CertFile string `toml:"cert_file"` // PEM certificate chain
	KeyFile  string `toml:"key_file"`  // PEM private key
}

// MetricsConfig is the [metrics] table.
type MetricsConfig struct {
	// Listen is the address of /metrics, /healthz and /readyz (default 127.0.0.1:8444,
	// beside the proxy's 8443 and outside 9090-9999, where Prometheus, its Alertmanager and
	// Pushgateway and the registered exporters listen); empty disables the listener.
	Listen string `toml:"listen"`
}

// TimeoutsConfig is the [timeouts] table. Zero means no limit where a limit is optional.
type TimeoutsConfig struct {
	ReadHeader             time.Duration `toml:"read_header"`              // client request headers (default 10s)
	Read                   time.Duration `toml:"read"`                     // whole client request, body included (default 0: uploads are long)
	Write                  time.Duration `toml:"write"`                    // whole response (default 0)
	Idle                   time.Duration `toml:"idle"`                     // keep-alive idle (default 120s)
	Shutdown               time.Duration `toml:"shutdown"`                 // drain in-flight requests on stop (default 30s)
	Decision               time.Duration `toml:"decision"`                 // identity + policy decision (default 5s)
	UpstreamDial           time.Duration `toml:"upstream_dial"`            // TCP connect (default 10s)
	UpstreamTLSHandshake   time.Duration `toml:"upstream_tls_handshake"`   // TLS handshake (default 10s)
	UpstreamResponseHeader time.Duration `toml:"upstream_response_header"` // upstream answer after the request was sent (default 60s) → 504
}

// TLSConfig is the [upstream_tls] table. The upstream certificate is always verified unless
// InsecureSkipVerify is set explicitly.
type TLSConfig struct {
	CAFile             string `toml:"ca_file"`              // PEM bundle replacing the system roots
	ServerName         string `toml:"server_name"`          // overrides the name checked in the certificate
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"` // never in production
}

// IAMConfig is the [iam] table: X-Auth-Token validation with Keystone v3
// GET /v3/auth/tokens. Without an endpoint, token requests are denied.
type IAMConfig struct {
	Endpoint           string        `toml:"endpoint"`             // e.g. https://iam.ae-ad-1.g42cloud.com
	CAFile             string        `toml:"ca_file"`              // PEM bundle replacing the system roots
	InsecureSkipVerify bool          `toml:"insecure_skip_verify"` // never in production
	Timeout            time.Duration `toml:"timeout"`              // one validation call (default 5s)
	CacheSize          int           `toml:"cache_size"`           // validated tokens kept (default 10000)
	CacheMaxTTL        time.Duration `toml:"cache_max_ttl"`        // also forget tokens after this long (default 0: at expiry)

	// Protection of IAM (and of valid tokens) against floods of invalid tokens.
	NegativeCacheTTL  time.Duration `toml:"negative_cache_ttl"`  // remember tokens IAM rejected this long (default 30s; 0: off)
	NegativeCacheSize int           `toml:"negative_cache_size"` // rejected tokens remembered (default 10000)
	MaxConcurrent     int           `toml:"max_concurrent"`      // validation calls to IAM at once (default 16)
	QueueWait         time.Duration `toml:"queue_wait"`          // longest wait for a free call before 503 (default 1s; 0: none)
}

// SignatureConfig is the [signature] table for SDK-HMAC-SHA256 requests.
type SignatureConfig struct {
	// MaxSkew is how far X-Sdk-Date may be from the proxy's clock (default 15m).
	MaxSkew time.Duration `toml:"max_skew"`
}

// EngineConfig is the [engine] table, passed to the policy engine.
type EngineConfig struct {
	AbsentNegated bool `toml:"absent_negated"` // negated operators are true on absent keys (AWS reading)
	Lenient       bool `toml:"lenient"`        // evaluate documents IAM would reject, fail-safe
	CacheSize     int  `toml:"cache_size"`     // decision cache per principal (0: engine default; <0: off)
}

// LimitsConfig is the [limits] table: how much work the proxy takes on at once before it
// sheds requests (503 with Retry-After) instead of queueing them.
type LimitsConfig struct {
	// MaxInflightDecisions bounds the policy decisions evaluated at once (0: half the
	// cores, GOMAXPROCS, at least one).
	MaxInflightDecisions int `toml:"max_inflight_decisions"`
	// QueueWait is how long a decision waits for a slot before the request is shed
	// (default 50ms; 0: shed at once).
	QueueWait time.Duration `toml:"queue_wait"`
}

// PrincipalConfig is one [[principals]] entry: who a caller is and which policies apply.
// In an imsguard bundle (opa_config) a principal is the same table written as JSON, with
// the same key names.
type PrincipalConfig struct {
	// Name identifies the principal in logs and default_principal.
	Name string `toml:"name" json:"name"`
	// Mode, when set, overrides the global mode for this principal's requests, and
	// Modes for some of its APIs (API id → "enforce" or "audit"; rollout.go).
	Mode  string            `toml:"mode" json:"mode,omitempty"`
	Modes map[string]string `toml:"modes" json:"modes,omitempty"`
	// AccessKeys are access key ids (AK) of SDK-HMAC-SHA256 requests for this principal.
	AccessKeys []string `toml:"access_keys" json:"access_keys,omitempty"`
	// SecretKeyEnv maps an access key id to the environment variable holding its secret
	// key. With a secret, the proxy verifies the request signature.
	SecretKeyEnv map[string]string `toml:"secret_key_env" json:"secret_key_env,omitempty"`
	// Users are IAM user names ("alice", any domain) or "domain/user" for token requests.
	Users []string `toml:"users" json:"users,omitempty"`
	// Policies are policy files or folders attached to all projects.
	Policies []string `toml:"policies" json:"policies,omitempty"`
	// Attachments are policies attached in a narrower (or explicit) scope.
	Attachments []AttachmentConfig `toml:"attachments" json:"attachments,omitempty"`
	// SignUpstream, when set, makes the proxy sign the requests of this principal that came
	// without a credential (the default principal of a sidecar) with this AK/SK, so the
	// workload itself holds no cloud credential.
	SignUpstream *UpstreamCredential `toml:"sign_upstream" json:"sign_upstream,omitempty"`
}

// UpstreamCredential is a [principals.sign_upstream] table.
type UpstreamCredential struct {
	AccessKey    string `toml:"access_key" json:"access_key,omitempty"`         // access key id
	SecretKeyEnv string `toml:"secret_key_env" json:"secret_key_env,omitempty"` // environment variable holding the secret key
	ProjectID    string `toml:"project_id" json:"project_id,omitempty"`         // sent as X-Project-Id (optional)
}

// AttachmentConfig is one [[principals.attachments]] entry.
type AttachmentConfig struct {
	Policy             string   `toml:"policy" json:"policy,omitempty"`                           // policy file or folder
	Scope              string   `toml:"scope" json:"scope,omitempty"`                             // all_projects | project | global | enterprise_project
	Projects           []string `toml:"projects" json:"projects,omitempty"`                       // for scope = "project"
	EnterpriseProjects []string `toml:"enterprise_projects" json:"enterprise_projects,omitempty"` // for scope = "enterprise_project"
}

// Defaults returns the configuration every file is decoded over.
func Defaults() Config {
	cfg := Config{
		Listen:      "127.0.0.1:8443",
		Mode:        ModeEnforce,
		Project:     "ae-ad-1",
		MaxBody:     actions.DefaultMaxBody,
		DecisionLog: "-",
		Metrics:     MetricsConfig{Listen: "127.0.0.1:8444"},
		Timeouts: TimeoutsConfig{
			ReadHeader:             10 * time.Second,
			Idle:                   120 * time.Second,
			Shutdown:               30 * time.Second,
			Decision:               5 * time.Second,
			UpstreamDial:           10 * time.Second,
			UpstreamTLSHandshake:   10 * time.Second,
			UpstreamResponseHeader: 60 * time.Second,
		},
		IAM:       IAMConfig{Timeout: 5 * time.Second, CacheSize: 10000},
		EPLookup:  EPLookupConfig{CacheTTL: 30 * time.Second, CacheSize: 10000, Timeout: 5 * time.Second, MaxConcurrent: 8, QueueWait: time.Second},
		Signature: SignatureConfig{MaxSkew: 15 * time.Minute},
		Limits:    LimitsConfig{QueueWait: 50 * time.Millisecond},
	}
	// The IAM protections against invalid-token floods (iamlimit.go).
	cfg.IAM.NegativeCacheTTL, cfg.IAM.NegativeCacheSize = 30*time.Second, 10000
	cfg.IAM.MaxConcurrent, cfg.IAM.QueueWait = 16, time.Second
	return cfg
}

// ErrInvalidConfig is wrapped by every configuration decode or validation error.
var ErrInvalidConfig = errors.New("invalid configuration")

// ConfigError is a configuration problem with its location.
type ConfigError struct {
	File   string // file name as given
	Line   int    // 1-based, 0 when unknown
	Column int    // 1-based in code points, 0 when unknown (TOML syntax errors have one)
	Key    string // dotted key, e.g. "principals.access_keys", when known
	Err    error  // wraps ErrInvalidConfig (and ErrTOMLSyntax for a syntax error)
}

// Error implements error: "config FILE:LINE[:COLUMN]: KEY: problem".
func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
		if e.Column > 0 {
			loc += fmt.Sprintf(":%d", e.Column)
		}
	}
	if e.Key != "" {
		return fmt.Sprintf("config %s: %s: %v", loc, e.Key, e.Err)
	}
	return fmt.Sprintf("config %s: %v", loc, e.Err)
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

var decodeErrRe = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// ParseConfig decodes data (named name in errors) over Defaults, strictly, and validates
// it. It does not touch the file system or the environment. A file that is not TOML is a
// ConfigError wrapping ErrTOMLSyntax with line and column; a duration written as a number,
// an unknown key (with the key it was probably meant to be) and a value out of its range
// are ConfigErrors naming the key and its line.
func ParseConfig(name string, data []byte) (*Config, error) {
	if ce := syntaxError(name, data); ce != nil {
		return nil, ce
	}
	cfg := Defaults()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&cfg)
	if err != nil {
		if ce := valueError(name, err); ce != nil {
			return nil, ce
		}
		// Type mismatches are plain errors: "toml: line N (last key "k"): message".
		if m := decodeErrRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			msg := m[3]
			if k := strings.Split(m[2], "."); fieldType(reflect.TypeFor[Config](), k) == durationType {
				msg = fmt.Sprintf(`a duration is a string with a unit (ms, s, m, h); write it as one, e.g. %s = "10s"`, k[len(k)-1])
			}
			return nil, &ConfigError{File: name, Line: line, Key: m[2], Err: fmt.Errorf("%w: %s", ErrInvalidConfig, msg)}
		}
		return nil, &ConfigError{File: name, Err: fmt.Errorf("%w: %v", ErrInvalidConfig, err)}
	}
	var und []toml.Key
	for _, k := range md.Undecoded() {
		// [lint] belongs to the linter (lint.LoadConfig reads it strictly); one
		// imsguard.toml can serve `imsguard lint` and `imsguard proxy`.
		if len(k) > 0 && k[0] == "lint" {
			continue
		}
		und = append(und, k)
	}
	if len(und) > 0 {
		return nil, unknownKeyError(name, data, und[0])
	}
	if err := checkDurationTypes(name, data, md, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return nil, &ConfigError{File: name, Line: keyLine(data, fe.key, fe.index), Key: fe.key.String(), Err: fmt.Errorf("%w: %s", ErrInvalidConfig, fe.msg)}
		}
		return nil, &ConfigError{File: name, Err: fmt.Errorf("%w: %v", ErrInvalidConfig, err)}
	}
	return &cfg, nil
}
