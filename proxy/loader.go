package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/fleet"
)

// Linter checks parsed policy files before they are compiled; any error blocks the load.
// By default a Loader lints with the Rego lint rules and the configuration's [lint]
// table (Linters.ForConfig); RegoLinter adapts a given linter.
type Linter func(files []*policy.File) error

// DeciderFactory compiles one principal's attachments into a Decider. NewEngine (the Rego
// engine) is the default.
type DeciderFactory func(ctx context.Context, cat *actions.Catalog, atts []authz.Attachment, opts authz.Options) (Decider, error)

// ErrPolicyLint is wrapped by load errors caused by policy lint errors.
var ErrPolicyLint = errors.New("policy lint failed")

// ErrInconsistentRead is returned when the files kept changing while they were read.
var ErrInconsistentRead = errors.New("files changed while they were read")

// NewEngine is the DeciderFactory of the Rego engine. It compiles the Rego each time;
// a Loader without NewDecider compiles it once and reuses it for every principal and reload.
func NewEngine(ctx context.Context, cat *actions.Catalog, atts []authz.Attachment, opts authz.Options) (Decider, error) {
	return authz.New(ctx, cat, atts, opts)
}

// engine is the default DeciderFactory: with Runtime set, the compiled Rego is shared by
// every principal and every reload, so a reload only builds policy sets.
func (l *Loader) engine(ctx context.Context, cat *actions.Catalog, atts []authz.Attachment, opts authz.Options) (Decider, error) {
	if l.Engines != nil {
		return l.Engines.New(ctx, cat, atts, opts)
	}
	if l.Runtime == nil {
		return NewEngine(ctx, cat, atts, opts)
	}
	return l.Runtime.New(ctx, cat, atts, opts)
}

// Loader reads a configuration and its policies into a Snapshot: decode, validate, resolve
// paths and secrets, read and lint the policies, compile one engine per principal. It is
// the single load path of `imsguard proxy`, `imsguard validate` and every reload. A Loader
// is safe for concurrent use once its fields are set.
type Loader struct {
	// ConfigPath is the configuration file; empty loads the embedded default.
	ConfigPath string
	// Catalog is the IMS catalog (required).
	Catalog *actions.Catalog
	// Linter, when set, checks the policy files of every load instead of the default:
	// the Rego lint rules with the [lint] table of the configuration, read again on every
	// load so a changed table applies on reload like everything else.
	Linter Linter
	// Linters compiles the default linter and keeps it for the next load; nil compiles
	// the rules on every load. Loaders sharing one share compiled rules.
	Linters *Linters
	// NewDecider compiles policies; nil uses NewEngine.
	NewDecider DeciderFactory
	// LookupEnv reads environment variables (secret keys, the ${NAME} references of the
	// opa_config file); nil uses os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Runtime is the compiled decision Rego (authz.Prepare) shared by every engine the
	// loader builds; nil compiles it for each engine.
	Runtime *authz.Runtime
	// Engines, when set (from Runtime.NewEngines), builds the engines through its memo:
	// principals holding the same policy set share one engine, and a load reuses the
	// engines of the previous successful load whose policy sets did not change.
	Engines *authz.Engines
}

// catalogLinters returns the Linters of a bundle's catalog override: kept by Linters
// while the bundles carry the same catalog text, new each time without Linters.
func (l *Loader) catalogLinters(cat *actions.Catalog, text []byte) *Linters {
	if l.Linters == nil {
		return NewLinters(cat)
	}
	return l.Linters.forCatalog(cat, text)
}

// linters returns the Linters the default linter comes from.
func (l *Loader) linters() *Linters {
	if l.Linters == nil {
		return NewLinters(l.Catalog)
	}
	return l.Linters
}

// maxReadAttempts bounds how often Load re-reads files that change under it.
const maxReadAttempts = 5

// Load reads everything and builds a Snapshot. The files are read twice and must be equal
// both times, so a snapshot never mixes two versions of the files (an editor or a
// Kubernetes ConfigMap update swapping them mid-read); if they keep changing, Load fails
// with ErrInconsistentRead and a later reload picks the change up.
func (l *Loader) Load(ctx context.Context) (*Snapshot, error) {
	return l.load(ctx, "", nil)
}

// errUnchanged is returned by load when the files have the digest the caller already has.
var errUnchanged = errors.New("configuration and policies unchanged")

// load is Load; when the files read have digest skip, it stops before compiling and
// returns errUnchanged. With opa_config, b is the bundle in use (nil: none yet), decoded
// again against the configuration read.
func (l *Loader) load(ctx context.Context, skip string, b *fleet.Bundle) (*Snapshot, error) {
	if l.Catalog == nil {
		return nil, errors.New("load: no catalog")
	}
	var src source = embeddedSource{}
	if l.ConfigPath != "" {
		fs, err := newFileSource(l.ConfigPath)
		if err != nil {
			return nil, err
		}
		src = fs
	}
	var last error
	for attempt := 0; attempt < maxReadAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
			}
		}
		first, err := readInputs(src)
		if err != nil {
			return nil, err
		}
		second, err := readInputs(src)
		if err != nil {
			return nil, err
		}
		if first.digest != second.digest {
			last = fmt.Errorf("load %s: %w", src.name(), ErrInconsistentRead)
			continue
		}
		if skip != "" && first.digest == skip {
			return nil, errUnchanged
		}
		if err := l.expandOPA(src, first); err != nil {
			return nil, err
		}
		var bc *BundleContents
		if first.cfg.OPAConfig != "" && b != nil {
			if bc, err = decodeBundle(b, first.cfg); err != nil {
				return nil, fmt.Errorf("config %s: with the bundle in use: %w", src.name(), err)
			}
		}
		s, err := l.build(ctx, src, first, bc)
		if l.Engines != nil {
			if err != nil {
				l.Engines.Abort()
			} else {
				l.Engines.Commit()
			}
		}
		return s, err
	}
	return nil, last
}

// build lints, resolves and compiles the inputs. With opa_config, the principals and
// policies are bc's; without bc (no bundle yet) the snapshot is pending: it holds no
// principal and refuses every request.
func (l *Loader) build(ctx context.Context, src source, in *inputs, bc *BundleContents) (*Snapshot, error) {
	cfg := in.cfg
	var refs policyRefs = src
	loaded, cat, linters := in.policies, l.Catalog, l.linters()
	where := "config " + src.name()
	pending := false
	if cfg.OPAConfig != "" {
		warns, err := fleet.CheckConfig(src.display(src.resolve(cfg.OPAConfig)), in.opa)
		if err != nil {
			err = in.opaRedact.Error(err)
			return nil, &ConfigError{File: src.name(), Line: keyLine(in.cfgData, toml.Key{"opa_config"}, -1), Key: "opa_config", Err: fmt.Errorf("%w: %w", ErrInvalidConfig, err)}
		}
		in.opaWarnings = warns
		if bc == nil {
			pending = true
		} else {
			merged := *cfg
			merged.Principals = bc.Principals
			cfg = &merged
			refs, loaded = bc, bc.byRef
			where = fmt.Sprintf("bundle revision %q", bc.Revision)
			if bc.catalog != nil {
				cat, linters = bc.catalog, l.catalogLinters(bc.catalog, bc.Catalog)
			}
		}
	}
	lint := l.Linter
	if lint == nil {
		err := in.lintErr
		if err == nil {
			lint, err = linters.ForLintConfig(ctx, in.lint)
		}
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", src.name(), err)
		}
	}
	var all []*policy.File
	for _, p := range policyPaths(cfg) {
		all = append(all, loaded[refs.resolve(p)]...)
	}
	if err := lint(dedupFiles(all)); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	s := &Snapshot{
		Config: cfg, Source: src.name(), Digest: in.digest, Files: in.files,
		cat:        cat.WithMaxBody(cfg.MaxBody),
		principals: map[string]*Principal{}, byAK: map[string]*Principal{}, byUser: map[userKey]*Principal{},
		secrets: map[string]string{}, upstreamCreds: map[string]*upstreamCred{},
		src: src, in: in, fileDigest: in.digest, pending: pending,
	}
	if bc != nil {
		s.Revision, s.bundle = bc.Revision, bc
		s.Digest = combineDigests(in.digest, bc.Digest)
	}
	var err error
	if s.upstream, err = url.Parse(cfg.Upstream); err != nil {
		return nil, fmt.Errorf("config %s: upstream: %w", src.name(), err)
	}
	if cfg.IAM.Endpoint != "" {
		if s.iamURL, err = url.Parse(cfg.IAM.Endpoint); err != nil {
			return nil, fmt.Errorf("config %s: iam.endpoint: %w", src.name(), err)
		}
	}
	for _, p := range cfg.TrustedProxies {
		pfx, _ := parsePrefix(p) // validated
		s.trusted = append(s.trusted, pfx)
	}
	var upKey, iamKey string
	if s.upTLS, upKey, err = clientTLS(in, src, cfg.UpstreamTLS.CAFile, cfg.UpstreamTLS.ServerName, cfg.UpstreamTLS.InsecureSkipVerify); err != nil {
		return nil, fmt.Errorf("config %s: upstream_tls: %w", src.name(), err)
	}
	if s.iamTLS, iamKey, err = clientTLS(in, src, cfg.IAM.CAFile, "", cfg.IAM.InsecureSkipVerify); err != nil {
		return nil, fmt.Errorf("config %s: iam: %w", src.name(), err)
	}
	if s.serverCert, err = serverCertificate(in, src, cfg.ServerTLS); err != nil {
		return nil, fmt.Errorf("config %s: server_tls: %w", src.name(), err)
	}
	t := cfg.Timeouts
	s.fwdKey = fmt.Sprintf("%s|%s|%v|%v|%v", cfg.Upstream, upKey, t.UpstreamDial, t.UpstreamTLSHandshake, t.UpstreamResponseHeader)
	s.iamKey = fmt.Sprintf("%s|%s|%v|%d|%v", cfg.IAM.Endpoint, iamKey, cfg.IAM.Timeout, cfg.IAM.CacheSize, cfg.IAM.CacheMaxTTL)
	s.epKey = fmt.Sprintf("%s|%s|%+v", cfg.Upstream, upKey, cfg.EPLookup)
	if err := l.secrets(s, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if s.rollout, err = newRollout(cfg, s.cat); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	opts := authz.Options{AbsentNegated: cfg.Engine.AbsentNegated, Lenient: cfg.Engine.Lenient, CacheSize: cfg.Engine.CacheSize}
	factory := l.NewDecider
	if factory == nil {
		factory = l.engine
	}
	for _, pc := range cfg.Principals {
		atts := attachments(refs, pc, loaded)
		popts := opts
		popts.Warm = warmProjects(cfg.Project, atts)
		d, err := factory(ctx, s.cat, atts, popts)
		if err != nil {
			return nil, fmt.Errorf("%s: principal %q: %w", where, pc.Name, err)
		}
		p := &Principal{Name: pc.Name, Attachments: atts, decider: d, signer: s.upstreamCreds[pc.Name], scopedEPs: scopedEPs(atts),
			readsContext: l.NewDecider != nil || hasConditions(atts), contextMap: l.NewDecider != nil}
		s.principals[p.Name] = p
		for _, ak := range pc.AccessKeys {
			s.byAK[ak] = p
		}
		for _, u := range pc.Users {
			s.byUser[parseUserKey(u)] = p
		}
	}
	if cfg.DefaultPrincipal != "" {
		s.fallback = s.principals[cfg.DefaultPrincipal]
		s.fallbackID = &identity{principal: s.fallback, auth: authDefault, project: cfg.Project}
	}
	if src.watchable() {
		s.watch = watchDirs(s.Files, append(policyDirs(src, in.cfg), in.ruleDirs...))
	}
	if cfg.DecisionLog != "-" {
		s.decisionLog = src.resolve(cfg.DecisionLog)
	}

	return s, nil
}

// scopedEPs collects the enterprise projects attachments are scoped to.
func scopedEPs(atts []authz.Attachment) map[string]bool {
	out := map[string]bool{}
	for _, a := range atts {
		if a.Scope.Kind == authz.ScopeEnterpriseProject {
			for _, ep := range a.Scope.EnterpriseProjects {
				out[ep] = true
			}
		}
	}
	return out
}

// hasConditions reports whether any statement of the attachments has a Condition (or a
// member named like one that did not parse into entries): only then can the engine's
// decisions depend on condition keys.
func hasConditions(atts []authz.Attachment) bool {
	for _, a := range atts {
		if a.Document == nil {
			continue
		}
		for _, st := range a.Document.Statements {
			if len(st.Condition) > 0 {
				return true
			}
			if st.Node != nil {
				for _, m := range st.Node.Members {
					if strings.EqualFold(m.Key, "condition") {
						return true
					}
				}
			}
		}
	}
	return false
}

// warmProjects lists the projects whose decisions the engine pre-computes at load: the
// configured project and every project an attachment is scoped to.
func warmProjects(project string, atts []authz.Attachment) []string {
	var out []string
	add := func(p string) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	add(project)
	for _, a := range atts {
		for _, p := range a.Scope.Projects {
			add(p)
		}
	}
	return out
}

// lookupEnv is LookupEnv, os.LookupEnv when it is nil.
func (l *Loader) lookupEnv() func(string) (string, bool) {
	if l.LookupEnv == nil {
		return os.LookupEnv
	}
	return l.LookupEnv
}

// expandOPA substitutes the ${NAME} references of the opa_config file read (fleet.ExpandEnv)
// once, before anything parses it: CheckConfig here, CheckPlugins in Preflight and OPA's
// plugins in startFleet all see the expanded text, and in.opaRedact keeps the values out of
// their messages. A reference that cannot be substituted is a ConfigError at the
// opa_config key, wrapping ErrInvalidConfig unless the environment is at fault
// (fleet.ErrEnv: a variable not set, like a secret_key_env). The substituted text is never
// logged.
func (l *Loader) expandOPA(src source, in *inputs) error {
	if in.cfg.OPAConfig == "" {
		return nil
	}
	opa, redact, err := fleet.ExpandEnvRedact(src.display(src.resolve(in.cfg.OPAConfig)), in.opa, l.lookupEnv())
	if err != nil {
		if !errors.Is(err, fleet.ErrEnv) {
			err = fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		return &ConfigError{File: src.name(), Line: keyLine(in.cfgData, toml.Key{"opa_config"}, -1), Key: "opa_config", Err: err}
	}
	in.opa, in.opaRedact = opa, redact
	return nil
}

// secrets reads the secret key of every access key that names an environment variable.
func (l *Loader) secrets(s *Snapshot, cfg *Config) error {
	lookup := l.lookupEnv()
	if lc := cfg.EPLookup; lc.enabled() {
		v, ok := lookup(lc.SecretKeyEnv)
		if !ok || v == "" {
			return fmt.Errorf("environment variable %s (enterprise_project_lookup secret key) is not set", lc.SecretKeyEnv)
		}
		s.epSecret = v
	}
	for _, pc := range cfg.Principals {
		for ak, env := range pc.SecretKeyEnv {
			v, ok := lookup(env)
			if !ok || v == "" {
				return fmt.Errorf("principal %q: environment variable %s (secret key of access key %s) is not set", pc.Name, env, redactAK(ak))
			}
			s.secrets[ak] = v
		}
		if u := pc.SignUpstream; u != nil {
			v, ok := lookup(u.SecretKeyEnv)
			if !ok || v == "" {
				return fmt.Errorf("principal %q: environment variable %s (sign_upstream secret key) is not set", pc.Name, u.SecretKeyEnv)
			}
			s.upstreamCreds[pc.Name] = &upstreamCred{ak: u.AccessKey, sk: v, projectID: u.ProjectID}
		}
	}
	return nil
}

// policyRefs names the policies principals refer to: a source (files on disk) or a
// bundle (BundleContents).
type policyRefs interface {
	// resolve turns a policy path as written into the key of the loaded policies.
	resolve(p string) string
	// display names a loaded file in attachments, logs and reports.
	display(name string) string
}

// combineDigests is the digest of a snapshot made of files and a bundle.
func combineDigests(files, bundle string) string {
	sum := sha256.Sum256([]byte(files + "\x00" + bundle))
	return hex.EncodeToString(sum[:])
}

// attachments turns a principal's policy paths into engine attachments, one per document.
func attachments(src policyRefs, pc PrincipalConfig, loaded map[string][]*policy.File) []authz.Attachment {
	var out []authz.Attachment
	add := func(p string, scope authz.Scope) {
		for _, f := range loaded[src.resolve(p)] {
			for i, d := range f.Documents {
				name := src.display(f.Name)
				if len(f.Documents) > 1 {
					name = fmt.Sprintf("%s[%d]", name, i)
				}
				out = append(out, authz.Attachment{Name: name, Document: d, Scope: scope})
			}
		}
	}
	for _, p := range pc.Policies {
		add(p, authz.Scope{Kind: authz.ScopeAllProjects})
	}
	for _, a := range pc.Attachments {
		add(a.Policy, authz.Scope{Kind: authz.ScopeKind(a.Scope), Projects: a.Projects, EnterpriseProjects: a.EnterpriseProjects})
	}
	return out
}

// dedupFiles drops repeated files (a file attached twice is linted once).
func dedupFiles(files []*policy.File) []*policy.File {
	seen := map[*policy.File]bool{}
	out := files[:0:0]
	for _, f := range files {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// policyDirs returns the resolved policy paths that are folders.
func policyDirs(src source, cfg *Config) []string {
	var out []string
	for _, p := range policyPaths(cfg) {
		r := src.resolve(p)
		if info, err := os.Stat(r); err == nil && info.IsDir() {
			out = append(out, r)
		}
	}
	return out
}

// watchDirs returns the folders to watch: the folder of every file read, and every policy
// and lint rules folder. Watching folders (not files) sees editors and ConfigMaps that replace files.
func watchDirs(files, dirs []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		if abs, err := filepath.Abs(d); err == nil && !seen[abs] {
			seen[abs] = true
			out = append(out, abs)
		}
	}
	for _, f := range files {
		add(filepath.Dir(f))
	}
	for _, d := range dirs {
		add(d)
	}
	return out
}
