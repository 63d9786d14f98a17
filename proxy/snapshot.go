package proxy

import (
	"context"
	"crypto/tls"
	"net/netip"
	"net/url"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/rego/authz"
)

// Decider decides one authorization request; *authz.Engine implements it. Implementations
// must be safe for concurrent use and must return an error (never a silent allow) when they
// cannot decide. A Decider from Loader.NewDecider gets the request's condition keys in
// Input.Context (Input.Globals is nil); the Loader's own engine gets them in Input.Globals.
type Decider interface {
	Decide(ctx context.Context, in authz.Input) (authz.Decision, error)
}

// Principal is one configured caller with its compiled policy set.
type Principal struct {
	// Name is the configured name.
	Name string
	// Attachments are the policy attachments the engine was built from.
	Attachments []authz.Attachment

	decider Decider
	// readsContext: decisions may read condition keys. False only for the Rego engine over
	// attachments without any Condition, which decides without them (the handler then
	// skips building them).
	readsContext bool
	// contextMap: the decider is not the Rego engine and gets the condition keys as
	// Input.Context, the map its interface documents, instead of Input.Globals.
	contextMap bool
	signer     *upstreamCred // signs credential-less requests upstream, or nil
	// scopedEPs are the enterprise projects the principal's attachments are scoped to;
	// when empty, a request's enterprise project cannot change a decision.
	scopedEPs map[string]bool
}

// Snapshot is one fully loaded, linted and compiled configuration. It is immutable and safe
// for concurrent use; a reload builds a new Snapshot and swaps it in whole.
type Snapshot struct {
	// Config is the validated configuration.
	Config *Config
	// Source names the configuration file (or the embedded default).
	Source string
	// Digest is a SHA-256 (hex) over the configuration and every policy file read, in
	// order: equal digests mean equal inputs.
	Digest string
	// Files are the files read (configuration first), as resolved paths.
	Files []string
	// Generation numbers the snapshots a Server has installed, from 1; 0 until installed.
	Generation uint64
	// Revision is the revision of the imsguard bundle the principals and policies come
	// from (opa_config); "" without opa_config and before the first bundle.
	Revision string

	watch         []string // folders to watch for changes (empty for the embedded config)
	cat           *actions.Catalog
	principals    map[string]*Principal
	byAK          map[string]*Principal
	byUser        map[userKey]*Principal   // configured "name" (any domain) or "domain/name"
	fallback      *Principal               // default_principal, or nil
	fallbackID    *identity                // the identity of requests without a credential (read-only), or nil
	secrets       map[string]string        // access key id → secret key; never logged
	upstreamCreds map[string]*upstreamCred // principal → sign_upstream credential; never logged
	trusted       []netip.Prefix
	upstream      *url.URL
	upTLS         *tls.Config
	iamURL        *url.URL // nil: tokens are rejected
	iamTLS        *tls.Config
	decisionLog   string           // resolved decision_log path; "" for standard output
	serverCert    *tls.Certificate // [server_tls], or nil for plain HTTP
	rollout       *rollout         // per-principal and per-API modes, nil when none
	fwdKey        string           // equal keys: the forwarder (and its connections) can be reused
	iamKey        string           // equal keys: the token validator (and its cache) can be reused
	epSecret      string           // [enterprise_project_lookup] secret key; never logged
	epKey         string           // equal keys: the image lookup (and its cache) can be reused

	// what it was built from, for builds with another bundle (fleet.go)
	src        source
	in         *inputs
	fileDigest string          // digest of the files alone (Hangup compares it)
	bundle     *BundleContents // the bundle in use (opa_config), or nil
	pending    bool            // opa_config and no bundle yet: every request is refused (503)

	// installed by the Server (activate) before the snapshot is published
	fwd     *forwarder
	limiter *decisionLimiter // [limits]
	tokens  *tokenValidator
	eps     *imageEPs // nil: image enterprise projects are never established
}

// Principal returns the named principal.
func (s *Snapshot) Principal(name string) (*Principal, bool) {
	p, ok := s.principals[name]
	return p, ok
}

// Catalog returns the catalog requests are matched with (its body limit is max_body).
func (s *Snapshot) Catalog() *actions.Catalog { return s.cat }

// enforcing reports whether denials are enforced (mode = "enforce").
func (s *Snapshot) enforcing() bool { return s.Config.Mode != ModeAudit }
