package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/lint"
)

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
