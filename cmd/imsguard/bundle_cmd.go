package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/lint"
)

func newBundleCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build and inspect the OPA bundles a fleet of proxies activates",
		Long: `An imsguard bundle is an OPA bundle (a gzipped tar any OPA bundle server serves: S3, GCS,
Azure, nginx, an OCI registry) whose only root is "imsguard": the principals of an
imsguard.toml and the raw text of each of their policies, optionally signed with OPA's
bundle signing. Proxies whose imsguard.toml sets opa_config download, verify and activate
it with OPA's own bundle plugin. See docs/fleet.md.`,
		Args: exactArgs(0, "a subcommand (build or inspect)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newBundleBuildCmd(g), newBundleInspectCmd(g))
	return cmd
}

// bundleBuildOptions are the flags of `imsguard bundle build`.
type bundleBuildOptions struct {
	config, output, revision      string
	signingKey, signingAlg, keyID string
}

func newBundleBuildCmd(g *globalOptions) *cobra.Command {
	o := &bundleBuildOptions{}
	cmd := &cobra.Command{
		Use:   "build --config imsguard.toml -o bundle.tar.gz [--revision R] [--signing-key FILE [--signing-alg ALG] [--signing-key-id ID]]",
		Short: "Write the principals and policies of an imsguard.toml as a (signed) OPA bundle",
		Long: `Write the [[principals]] of an imsguard.toml and the policy files they name as an OPA
bundle for proxies that run with opa_config: .manifest with the revision and the root
"imsguard", data.json with data.imsguard = {format, principals, policies, catalog}. Each
policy is kept as its raw text, under its path relative to the configuration's folder,
so the proxies lint it with positions and see duplicate keys. With the global --catalog,
that catalog goes in the bundle and replaces the proxies' embedded one.

The bundle is checked as a proxy will check it before it is written — decoded, linted with
the [lint] table of the configuration, compiled — so a bundle that would be refused is not
written. No secret is read: secret_key_env names travel, the secrets stay in each
sidecar's environment.

--revision defaults to a digest of the content ("sha256:" and 16 hex digits). With
--signing-key the bundle carries OPA's .signatures.json: a JWT over the files' hashes,
signed with a PEM private key (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384,
ES512) or with the HMAC secret in the file, byte for byte (HS256, HS384, HS512); its kid is
--signing-key-id, the key's name under keys: in the proxies' OPA configuration.

-o - writes the bundle to standard output.

Exit status: 0 written, 1 the configuration or a policy would be refused, 2 usage or
input errors.`,
		Args: exactArgs(0, "no arguments (use --config and -o)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.config == "" || o.output == "" {
				return usageError("give --config imsguard.toml and -o bundle.tar.gz")
			}
			if o.signingKey == "" && (cmd.Flags().Changed("signing-alg") || cmd.Flags().Changed("signing-key-id")) {
				return usageError("--signing-alg and --signing-key-id need --signing-key")
			}
			res, err := buildBundle(cmd.Context(), g, o, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.output == "-" {
				out = cmd.ErrOrStderr()
			}
			sig := "unsigned"
			if res.signed {
				sig = fmt.Sprintf("signed with %s (key id %s)", res.alg, res.keyID)
			}
			fmt.Fprintf(out, "wrote %s: revision %s, %d principal(s), %d polic%s, %s\n", o.output, res.revision,
				res.principals, res.policies, map[bool]string{true: "y", false: "ies"}[res.policies == 1], sig)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "the imsguard.toml whose [[principals]] go in the bundle")
	f.StringVarP(&o.output, "output", "o", "", "the bundle file to write (- for standard output)")
	f.StringVar(&o.revision, "revision", "", "the manifest's revision (default: a digest of the content)")
	f.StringVar(&o.signingKey, "signing-key", "", "sign with the private key (PEM) or HMAC secret in this file")
	f.StringVar(&o.signingAlg, "signing-alg", "RS256", "the JWS algorithm of --signing-key")
	f.StringVar(&o.keyID, "signing-key-id", "default", "the key id (kid) the proxies verify with: a name under keys: in their OPA configuration")
	return cmd
}

// builtBundle says what buildBundle wrote.
type builtBundle struct {
	revision             string
	principals, policies int
	signed               bool
	alg, keyID           string
}

// buildBundle is `imsguard bundle build` without cobra; stdout takes the bundle for -o -.
func buildBundle(ctx context.Context, g *globalOptions, o *bundleBuildOptions, stdout io.Writer) (*builtBundle, error) {
	var catalogText []byte
	if g.catalog != "" {
		var err error
		if catalogText, err = os.ReadFile(g.catalog); err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("read --catalog: %w", err)}
		}
	}
	var sign *fleet.Signing
	if o.signingKey != "" {
		key, err := os.ReadFile(o.signingKey)
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("read --signing-key: %w", err)}
		}
		sign = &fleet.Signing{Key: key, Algorithm: o.signingAlg, KeyID: o.keyID}
	}
	data, err := proxy.BundleData(o.config, catalogText)
	if err != nil {
		return nil, configError(err)
	}
	rev := o.revision
	if rev == "" {
		rev = fleet.DataDigest(data)
	}
	loader, err := bundleLoader(ctx, g, o.config)
	if err != nil {
		return nil, err
	}
	bc, err := loader.CheckBundle(ctx, &fleet.Bundle{Revision: rev, Data: data})
	if err != nil {
		return nil, configError(fmt.Errorf("the proxies would refuse this bundle, so it was not written: %w", err))
	}
	var buf bytes.Buffer
	if err := fleet.Write(&buf, data, rev, sign); err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	if err := writeOutput(o.output, buf.Bytes(), stdout); err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	res := &builtBundle{revision: rev, principals: len(bc.Principals), policies: len(bc.Files), signed: sign != nil}
	if sign != nil {
		res.alg, res.keyID = o.signingAlg, o.keyID
	}
	return res, nil
}

// bundleLoader is the loader that checks bundles: the catalog (or --catalog) and the
// [lint] table and default_principal of config (none: the defaults).
func bundleLoader(ctx context.Context, g *globalOptions, config string) (*proxy.Loader, error) {
	cat, err := g.loadCatalog()
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	rt, err := authz.Prepare(ctx)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return &proxy.Loader{ConfigPath: config, Catalog: cat, Linters: proxy.NewLinters(cat), Runtime: rt}, nil
}

// writeOutput writes data to path atomically (a temporary file renamed into place), or
// to stdout for "-".
func writeOutput(path string, data []byte, stdout io.Writer) error {
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// bundleInspectOptions are the flags of `imsguard bundle inspect`.
type bundleInspectOptions struct {
	config, format                    string
	verifyKey, verifyAlg, verifyKeyID string
	scope                             string
}

func newBundleInspectCmd(g *globalOptions) *cobra.Command {
	o := &bundleInspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect BUNDLE [--verification-key FILE [--verification-alg ALG] [--verification-key-id ID]] [--config imsguard.toml]",
		Short: "Show what an imsguard bundle holds and whether a proxy would activate it",
		Long: `Read an imsguard bundle and show its revision, its signature, its principals with their
policies and scopes, its policies, and the lint findings of every policy (with the [lint]
table of --config, the defaults otherwise). Then check it as a proxy does before it
activates a revision — decoded, validated, linted, compiled — and say whether it would.

With --verification-key (a PEM public key, or the file holding the HMAC secret), the
bundle must be signed and its signature must verify, as with a proxy whose OPA
configuration has that key. Without it, a signature is reported but not checked.

--config names the proxies' imsguard.toml: its [lint] table and default_principal apply.

Exit status: 0 a proxy would activate the bundle, 1 it would refuse it (bad signature,
bad data, lint errors, a policy that does not compile), 2 the file cannot be read or is
not an imsguard bundle.`,
		Args: exactArgs(1, "one bundle file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			if o.verifyKey == "" && (cmd.Flags().Changed("verification-alg") || cmd.Flags().Changed("verification-key-id") || o.scope != "") {
				return usageError("--verification-alg, --verification-key-id and --scope need --verification-key")
			}
			rep, err := inspectBundle(cmd.Context(), g, args[0], o)
			if err != nil {
				return err
			}
			if o.format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := rep.writeText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if !rep.Activatable {
				return negative()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.verifyKey, "verification-key", "", "verify the signature with the public key (PEM) or HMAC secret in this file")
	f.StringVar(&o.verifyAlg, "verification-alg", "RS256", "the JWS algorithm of --verification-key")
	f.StringVar(&o.verifyKeyID, "verification-key-id", "default", "the key id the signature must name")
	f.StringVar(&o.scope, "scope", "", "the scope claim the signature must carry")
	f.StringVar(&o.config, "config", "", "the proxies' imsguard.toml ([lint] table, default_principal)")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

// inspection is what `imsguard bundle inspect` reports.
type inspection struct {
	File      string `json:"file"`
	Revision  string `json:"revision"`
	Signature string `json:"signature"` // none, unverified, verified, invalid
	// SignatureError says why a signature did not verify.
	SignatureError string               `json:"signature_error,omitempty"`
	Principals     []inspectedPrincipal `json:"principals"`
	Policies       []inspectedPolicy    `json:"policies"`
	Catalog        string               `json:"catalog"` // "embedded" or "override (N APIs)"
	Lint           *lint.Report         `json:"lint,omitempty"`
	Activatable    bool                 `json:"activatable"`
	// Refusal is why a proxy would refuse the bundle.
	Refusal string `json:"refusal,omitempty"`
}

type inspectedPrincipal struct {
	Name        string   `json:"name"`
	Mode        string   `json:"mode,omitempty"`
	AccessKeys  int      `json:"access_keys"`
	Verified    int      `json:"verified_access_keys"`
	Users       []string `json:"users,omitempty"`
	Attachments []string `json:"attachments"`
}

type inspectedPolicy struct {
	Name      string `json:"name"`
	Bytes     int    `json:"bytes"`
	Documents int    `json:"documents"`
}

// inspectBundle is `imsguard bundle inspect` without cobra.
func inspectBundle(ctx context.Context, g *globalOptions, file string, o *bundleInspectOptions) (*inspection, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("read bundle: %w", err)}
	}
	rep := &inspection{File: file, Signature: "none"}
	b, err := fleet.Read(bytes.NewReader(data), nil)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	rep.Revision = b.Revision
	if b.Signed {
		rep.Signature = "unverified"
	}
	if o.verifyKey != "" {
		key, err := os.ReadFile(o.verifyKey)
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("read --verification-key: %w", err)}
		}
		if _, err := fleet.Read(bytes.NewReader(data), &fleet.Verification{Key: key, Algorithm: o.verifyAlg, KeyID: o.verifyKeyID, Scope: o.scope}); err != nil {
			rep.Signature, rep.SignatureError = "invalid", strings.TrimPrefix(err.Error(), fleet.ErrBundle.Error()+": ")
			rep.Refusal = "the signature does not verify: " + rep.SignatureError
		} else {
			rep.Signature = "verified"
		}
	}
	bc, err := proxy.DecodeBundle(b)
	if err != nil {
		rep.Refusal = joinRefusal(rep.Refusal, err.Error())
		return rep, nil
	}
	rep.describe(bc)
	loader, err := bundleLoader(ctx, g, o.config)
	if err != nil {
		return nil, err
	}
	if rep.Lint, err = lintBundle(ctx, loader, bc, o.config); err != nil {
		return nil, err
	}
	if _, err := loader.CheckBundle(ctx, b); err != nil {
		if errors.Is(err, proxy.ErrInvalidConfig) || errors.Is(err, lint.ErrConfig) {
			return nil, configError(err)
		}
		rep.Refusal = joinRefusal(rep.Refusal, oneLine(err).Error())
	}
	rep.Activatable = rep.Refusal == ""
	return rep, nil
}

func joinRefusal(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// describe fills the principals, policies and catalog of the report.
func (rep *inspection) describe(bc *proxy.BundleContents) {
	for _, pc := range bc.Principals {
		ip := inspectedPrincipal{Name: pc.Name, Mode: pc.Mode, AccessKeys: len(pc.AccessKeys), Verified: len(pc.SecretKeyEnv), Users: pc.Users}
		for _, p := range pc.Policies {
			ip.Attachments = append(ip.Attachments, p+" (all_projects)")
		}
		for _, a := range pc.Attachments {
			where := a.Scope
			switch a.Scope {
			case "project":
				where += " " + strings.Join(a.Projects, ",")
			case "enterprise_project":
				where += " " + strings.Join(a.EnterpriseProjects, ",")
			}
			ip.Attachments = append(ip.Attachments, a.Policy+" ("+where+")")
		}
		rep.Principals = append(rep.Principals, ip)
	}
	for _, f := range bc.Files {
		rep.Policies = append(rep.Policies, inspectedPolicy{Name: f.Name, Bytes: len(f.Data), Documents: len(f.Documents)})
	}
	rep.Catalog = "embedded"
	if bc.Catalog != nil {
		rep.Catalog = "override"
		if cat, err := actions.Parse("bundle catalog", bc.Catalog); err == nil {
			rep.Catalog = fmt.Sprintf("override (%d APIs)", len(cat.APIs()))
		}
	}
}

// lintBundle lints every policy of the bundle on its own, as the proxy does, with the
// [lint] table of config (none: the defaults) and the bundle's catalog.
func lintBundle(ctx context.Context, loader *proxy.Loader, bc *proxy.BundleContents, config string) (*lint.Report, error) {
	var cfg *lint.Config
	if config != "" {
		data, err := os.ReadFile(config)
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("read --config: %w", err)}
		}
		if cfg, err = lint.ParseConfig(config, data); err != nil {
			return nil, configError(err)
		}
	}
	linters := loader.Linters
	if bc.Catalog != nil {
		cat, err := actions.Parse("bundle catalog", bc.Catalog)
		if err != nil {
			return nil, configError(err)
		}
		linters = proxy.NewLinters(cat)
	}
	var opts lint.Options
	if cfg != nil {
		opts = cfg.Options()
	}
	lt, err := linters.Linter(ctx, opts)
	if err != nil {
		return nil, configError(err)
	}
	files := append([]*policy.File(nil), bc.Files...)
	return lt.LintFiles(ctx, files, cfg, "error", time.Now())
}

// writeText renders the report.
func (rep *inspection) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "bundle\t%s\n", rep.File)
	fmt.Fprintf(tw, "revision\t%s\n", rep.Revision)
	sig := map[string]string{
		"none":       "none (a proxy whose OPA configuration has keys refuses it)",
		"unverified": "present, not verified (give --verification-key)",
		"verified":   "verified",
		"invalid":    "INVALID: " + rep.SignatureError,
	}[rep.Signature]
	fmt.Fprintf(tw, "signature\t%s\n", sig)
	if rep.Catalog != "" {
		fmt.Fprintf(tw, "catalog\t%s\n", rep.Catalog)
	}
	for _, p := range rep.Principals {
		var who []string
		if p.AccessKeys > 0 {
			who = append(who, fmt.Sprintf("%d access key(s), %d verified", p.AccessKeys, p.Verified))
		}
		if len(p.Users) > 0 {
			who = append(who, "users "+strings.Join(p.Users, ", "))
		}
		if p.Mode != "" {
			who = append(who, "mode "+p.Mode)
		}
		desc := strings.Join(p.Attachments, ", ")
		if len(who) > 0 {
			desc += "; " + strings.Join(who, "; ")
		}
		fmt.Fprintf(tw, "principal\t%s: %s\n", p.Name, desc)
	}
	for _, p := range rep.Policies {
		fmt.Fprintf(tw, "policy\t%s (%d bytes, %d document(s))\n", p.Name, p.Bytes, p.Documents)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.Lint != nil {
		fmt.Fprintln(w, "\nlint:")
		if err := rep.Lint.WriteText(w); err != nil {
			return err
		}
	}
	if rep.Activatable {
		_, err := fmt.Fprintln(w, "\na proxy would activate this bundle")
		return err
	}
	_, err := fmt.Fprintf(w, "\na proxy would REFUSE this bundle: %s\n", rep.Refusal)
	return err
}
