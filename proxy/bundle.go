package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/fleet"
)

// BundleFormat is the version of data.imsguard this imsguard writes and reads; a bundle
// of another format is refused.
const BundleFormat = 1

// ErrBundle is wrapped by every problem with the data of an imsguard bundle (a policy
// lint error wraps ErrPolicyLint instead).
var ErrBundle = errors.New("invalid imsguard bundle")

// bundleData is data.imsguard, what `imsguard bundle build` writes and the proxy
// activates (docs/fleet.md, "What a bundle holds"):
//
//	{"format": 1,
//	 "principals": [ {"name": "reader", "access_keys": [...], "policies": ["policies/readonly.json"], ...} ],
//	 "policies": {"policies/readonly.json": "<the file's text, byte for byte>"},
//	 "catalog": "<an actions catalog TOML, optional>"}
//
// A principal is a [[principals]] table written as JSON (PrincipalConfig's keys); its
// policy paths name keys of policies, or a folder of them ("policies" names
// "policies/*"). Policies are raw text so that lint positions (line:column) and duplicate
// keys survive the trip through OPA, whose data loader keeps neither.
type bundleData struct {
	Format     int               `json:"format"`
	Principals []json.RawMessage `json:"principals"`
	Policies   map[string]string `json:"policies"`
	Catalog    string            `json:"catalog,omitempty"`
}

// BundleContents is an imsguard bundle decoded and checked against a configuration: what
// the proxy activates, or what `imsguard bundle inspect` shows. It is immutable.
type BundleContents struct {
	// Revision and Digest are the bundle's (fleet.Bundle).
	Revision, Digest string
	// Principals are the bundle's principals, validated as [[principals]] entries are.
	Principals []PrincipalConfig
	// Files are the bundle's policies parsed from their raw text, named by their key in
	// the bundle, sorted by name.
	Files []*policy.File
	// Catalog is the text of the catalog override; nil when the bundle carries none.
	Catalog []byte

	catalog *actions.Catalog          // parsed Catalog, or nil
	byRef   map[string][]*policy.File // cleaned policy path of a principal → files
	raw     *fleet.Bundle             // as read, to decode again against a changed configuration
}

// resolve and display make a BundleContents the namer of its principals' policy paths
// (policyRefs): a path names a key of the bundle's policies, or a folder of them.
func (bc *BundleContents) resolve(p string) string    { return path.Clean(p) }
func (bc *BundleContents) display(name string) string { return name }

// DecodeBundle decodes and validates an imsguard bundle on its own: the data shape and
// format, every principal as a [[principals]] entry, policy keys and references, the
// catalog override. Policies are parsed but not linted or compiled (Loader.CheckBundle
// does that). Errors wrap ErrBundle and say where: "bundle revision R: principals[2]:
// ...".
func DecodeBundle(b *fleet.Bundle) (*BundleContents, error) {
	cfg := Defaults()
	return decodeBundle(b, &cfg)
}

// decodeBundle is DecodeBundle for a configuration: cfg's default_principal must be a
// principal of the bundle, and per-principal modes are checked with cfg's.
func decodeBundle(b *fleet.Bundle, cfg *Config) (*BundleContents, error) {
	where := "bundle"
	if b.Revision != "" {
		where = fmt.Sprintf("bundle revision %q", b.Revision)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s: %w: %s", where, ErrBundle, fmt.Sprintf(format, a...))
	}
	if b.Data == nil {
		return nil, fail("no data under data.%s (build bundles with imsguard bundle build)", fleet.Root)
	}
	var d bundleData
	dec := json.NewDecoder(bytes.NewReader(b.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fail("data.%s: %s (expected format, principals, policies and optionally catalog)", fleet.Root, strings.TrimPrefix(err.Error(), "json: "))
	}
	if d.Format != BundleFormat {
		return nil, fail("data.%s.format is %d; this imsguard reads format %d (rebuild the bundle with imsguard bundle build of this version)", fleet.Root, d.Format, BundleFormat)
	}
	bc := &BundleContents{Revision: b.Revision, Digest: b.Digest, byRef: map[string][]*policy.File{}, raw: b}
	for i, raw := range d.Principals {
		var pc PrincipalConfig
		pd := json.NewDecoder(bytes.NewReader(raw))
		pd.DisallowUnknownFields()
		if err := pd.Decode(&pc); err != nil {
			return nil, fail("principals[%d]: %s (the keys are those of a [[principals]] table)", i, strings.TrimPrefix(err.Error(), "json: "))
		}
		bc.Principals = append(bc.Principals, pc)
	}
	merged := *cfg
	merged.OPAConfig, merged.Principals = "", bc.Principals
	if err := merged.validatePrincipals(); err != nil {
		return nil, fail("principals: %s", fieldMessage(err))
	}
	if err := merged.validateModes(); err != nil {
		return nil, fail("principals: %s", fieldMessage(err))
	}
	keys := make([]string, 0, len(d.Policies))
	for k := range d.Policies {
		if k == "" || path.IsAbs(k) || path.Clean(k) != k || k == ".." || strings.HasPrefix(k, "../") {
			return nil, fail("policies: key %q must be a clean relative path such as policies/readonly.json", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		bc.Files = append(bc.Files, policy.Parse(k, []byte(d.Policies[k])))
	}
	for _, pc := range bc.Principals {
		refs := slices.Clone(pc.Policies)
		for _, a := range pc.Attachments {
			refs = append(refs, a.Policy)
		}
		for _, ref := range refs {
			key := path.Clean(ref)
			if _, done := bc.byRef[key]; done {
				continue
			}
			var files []*policy.File
			for _, f := range bc.Files {
				if f.Name == key || strings.HasPrefix(f.Name, key+"/") || key == "." {
					files = append(files, f)
				}
			}
			if len(files) == 0 {
				return nil, fail("principal %q: policy %q is not in data.%s.policies (%d policies: %s)", pc.Name, ref, fleet.Root, len(keys), strings.Join(firstN(keys, 5), ", "))
			}
			bc.byRef[key] = files
		}
	}
	if d.Catalog != "" {
		bc.Catalog = []byte(d.Catalog)
		cat, err := actions.Parse(where+": data."+fleet.Root+".catalog", bc.Catalog)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBundle, err)
		}
		bc.catalog = cat
	}
	return bc, nil
}

// fieldMessage is the message of a validation error without its key.
func fieldMessage(err error) string {
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe.msg
	}
	return err.Error()
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), "…")
}

// BundleData reads a configuration with [[principals]] (strictly, like the proxy) and
// the policy files it names, and returns data.imsguard for `imsguard bundle build`: the
// principals as written, each policy's text byte for byte under its path relative to the
// configuration's folder, and catalog (when not nil) as the catalog override. It reads no
// secret and compiles nothing; Loader.CheckBundle checks the result as the proxy will.
func BundleData(configPath string, catalog []byte) ([]byte, error) {
	src, err := newFileSource(configPath)
	if err != nil {
		return nil, err
	}
	data, err := src.readConfig()
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(src.name(), data)
	if err != nil {
		return nil, err
	}
	if cfg.OPAConfig != "" {
		return nil, fmt.Errorf("config %s: %w: opa_config is set, so this file has no principals to bundle; give the configuration the bundle is built from", src.name(), ErrBundle)
	}
	d := bundleData{Format: BundleFormat, Policies: map[string]string{}, Catalog: string(catalog)}
	key := func(p string) (string, error) {
		k := src.display(src.resolve(p))
		if path.IsAbs(filepath2slash(k)) || strings.HasPrefix(k, "..") {
			return "", fmt.Errorf("config %s: %w: policy %s is outside the configuration's folder; a bundle names policies by their path relative to it (move the file under %s)", src.name(), ErrBundle, p, src.dir)
		}
		return k, nil
	}
	for _, pc := range cfg.Principals {
		out := pc
		out.Policies, out.Attachments = nil, nil
		for _, p := range pc.Policies {
			k, err := key(p)
			if err != nil {
				return nil, err
			}
			out.Policies = append(out.Policies, k)
		}
		for _, a := range pc.Attachments {
			k, err := key(a.Policy)
			if err != nil {
				return nil, err
			}
			a.Policy = k
			out.Attachments = append(out.Attachments, a)
		}
		raw, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		d.Principals = append(d.Principals, raw)
	}
	read := map[string]bool{}
	for _, p := range policyPaths(cfg) {
		r := src.resolve(p)
		if read[r] {
			continue // a file many principals attach is read once
		}
		read[r] = true
		files, err := src.loadPolicies(r)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", src.name(), err)
		}
		for _, f := range files {
			k, err := key(f.Name)
			if err != nil {
				return nil, err
			}
			d.Policies[k] = string(f.Data)
		}
	}
	return json.Marshal(d)
}

// filepath2slash turns an OS path into a slash path for the absolute-path check.
func filepath2slash(p string) string { return strings.ReplaceAll(p, "\\", "/") }

// CheckBundle checks an imsguard bundle as the proxy does before activating it — decoded,
// validated, linted (with the [lint] table of ConfigPath when set, the defaults
// otherwise), compiled — without reading secrets or certificates, and returns what it
// holds. An error means the proxy would refuse the bundle.
func (l *Loader) CheckBundle(ctx context.Context, b *fleet.Bundle) (*BundleContents, error) {
	cfg := Defaults()
	var cfgData []byte
	name := "the default [lint] settings"
	if l.ConfigPath != "" {
		src, err := newFileSource(l.ConfigPath)
		if err != nil {
			return nil, err
		}
		if cfgData, err = src.readConfig(); err != nil {
			return nil, err
		}
		name = src.name()
		c, err := ParseConfig(src.name(), cfgData)
		if err != nil {
			return nil, err
		}
		cfg = *c
	}
	bc, err := decodeBundle(b, &cfg)
	if err != nil {
		return nil, err
	}
	cat, linters := l.Catalog, l.linters()
	if bc.catalog != nil {
		cat, linters = bc.catalog, NewLinters(bc.catalog)
	}
	lint := l.Linter
	if lint == nil {
		if lint, err = linters.ForConfig(ctx, name, cfgData); err != nil {
			return nil, err
		}
	}
	where := fmt.Sprintf("bundle revision %q", bc.Revision)
	var files []*policy.File
	for _, pc := range bc.Principals {
		for _, p := range principalPaths(pc) {
			files = append(files, bc.byRef[bc.resolve(p)]...)
		}
	}
	if err := lint(dedupFiles(files)); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	opts := authz.Options{AbsentNegated: cfg.Engine.AbsentNegated, Lenient: cfg.Engine.Lenient, CacheSize: -1}
	compile := NewEngine
	if l.Runtime != nil {
		compile = func(ctx context.Context, cat *actions.Catalog, atts []authz.Attachment, opts authz.Options) (Decider, error) {
			return l.Runtime.New(ctx, cat, atts, opts)
		}
	}
	for _, pc := range bc.Principals {
		if _, err := compile(ctx, cat, attachments(bc, pc, bc.byRef), opts); err != nil {
			return nil, fmt.Errorf("%s: principal %q: %w", where, pc.Name, err)
		}
	}
	return bc, nil
}
