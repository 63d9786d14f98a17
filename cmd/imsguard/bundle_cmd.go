package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/fleet"
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
