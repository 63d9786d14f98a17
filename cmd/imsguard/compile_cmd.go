package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/diff"
	"github.com/imsguard/imsguard/rego/opa"
)

// compileOptions are the flags of `imsguard compile`.
type compileOptions struct {
	config        string
	pkg           string
	scope         string
	outDir        string
	bundle        string
	revision      string
	absentNegated bool
	lenient       bool
}

func newCompileCmd(g *globalOptions) *cobra.Command {
	o := &compileOptions{}
	cmd := &cobra.Command{
		Use:   "compile [flags] (POLICY... | --config imsguard.toml) (-o DIR | --bundle FILE)",
		Short: "Write IAM policies as Rego any OPA can enforce, deciding as imsguard does",
		Long: `Compile IAM policy documents into Rego for OPA itself, so teams that already run OPA
(opa-envoy-plugin, Gatekeeper, an OPA server) enforce the same IAM policies with the same
decisions as imsguard: the compiled rules of the policy set, a module that reads the request
and evaluates the conditions, and the condition semantics (imsguard/authz/conditions.rego).

POLICY... are policy files or folders of *.json, attached in --scope (default all_projects),
compiled into --package (default imsguard.policies.main). With --config, every principal of
an imsguard.toml is compiled into its own package, imsguard.principals.<name>, with the
scopes of its attachments.

Query data.<package>.result (or .allow) with the request as input:
  {"action": "ims:images:get" | "actions": [...], "project": "ae-ad-1",
   "enterpriseProjectId": "...", "enterpriseProjectUnknown": true,
   "apiSupportsEnterpriseProject": true, "context": {"g:SourceIp": ["203.0.113.9"]},
   "resource": "obs:ae-ad-1:acct:bucket:logs"}
and get {"decision": "Allow" | "ExplicitDeny" | "ImplicitDeny", "actions": {...}}.
See docs/compile.md.

Exit status: 0 written, 1 a policy cannot be compiled, 2 usage or input errors.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (o.outDir == "") == (o.bundle == "") {
				return usageError("give exactly one of -o DIR and --bundle FILE")
			}
			if (o.config == "") == (len(args) == 0) {
				return usageError("give policy files or folders, or --config FILE (not both)")
			}
			cat, err := g.loadCatalog()
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			sets, err := o.policySets(args)
			if err != nil {
				return err
			}
			mods, pkgs, err := compileSets(cmd.Context(), cat, sets, authz.Options{AbsentNegated: o.absentNegated, Lenient: o.lenient, CacheSize: -1})
			if err != nil {
				return err
			}
			return o.write(cmd.OutOrStdout(), mods, pkgs)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "compile every principal of this imsguard.toml")
	f.StringVar(&o.pkg, "package", "imsguard.policies.main", "Rego package of the compiled policy files")
	f.StringVar(&o.scope, "scope", "all_projects", "scope the policy files are attached in: all_projects, global, project=P1,P2 or enterprise_project=E1,E2")
	f.StringVarP(&o.outDir, "output", "o", "", "write the modules under this folder")
	f.StringVar(&o.bundle, "bundle", "", "write an OPA bundle (.tar.gz) instead")
	f.StringVar(&o.revision, "revision", "", "bundle revision (default: a hash of the modules)")
	f.BoolVar(&o.absentNegated, "absent-negated", false, "negated operators hold on absent keys (AWS reading)")
	f.BoolVar(&o.lenient, "lenient", false, "compile documents IAM would reject, fail-safe")
	return cmd
}

// policySet is one package to compile.
type policySet struct {
	pkg  string
	atts []authz.Attachment
}

// policySets reads the policy files (or the configuration's principals).
func (o *compileOptions) policySets(args []string) ([]policySet, error) {
	if o.config == "" {
		sc, err := diff.ParseScope(o.scope)
		if err != nil {
			return nil, usageError("--scope: %v", err)
		}
		files, err := policy.Load(args, nil)
		if err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		atts, err := attachFiles(files, sc)
		if err != nil {
			return nil, err
		}
		return []policySet{{pkg: o.pkg, atts: atts}}, nil
	}
	_, principals, err := proxy.ConfigPolicies(o.config)
	if err != nil {
		return nil, configError(err)
	}
	var out []policySet
	seen := map[string]string{}
	for _, p := range principals {
		pkg := "imsguard.principals." + packageSegment(p.Name)
		if other, dup := seen[pkg]; dup {
			return nil, usageError("principals %q and %q compile to the same package %s; rename one", other, p.Name, pkg)
		}
		seen[pkg] = p.Name
		out = append(out, policySet{pkg: pkg, atts: p.Attachments})
	}
	return out, nil
}

// attachFiles attaches every document of files in sc; files with JSON problems are errors.
func attachFiles(files []*policy.File, sc authz.Scope) ([]authz.Attachment, error) {
	var atts []authz.Attachment
	for _, f := range files {
		for _, p := range f.Problems {
			if p.Code == policy.CodeJSON {
				return nil, &exitError{code: 1, err: fmt.Errorf("%s:%s: %s", f.Name, p.Pos, p.Message)}
			}
		}
		for i, d := range f.Documents {
			name := f.Name
			if len(f.Documents) > 1 {
				name = fmt.Sprintf("%s[%d]", f.Name, i)
			}
			atts = append(atts, authz.Attachment{Name: name, Document: d, Scope: sc})
		}
	}
	if len(atts) == 0 {
		return nil, &exitError{code: 2, err: errors.New("no policy document in the given files")}
	}
	return atts, nil
}

var nonSegment = regexp.MustCompile(`[^a-z0-9_]+`)

// packageSegment turns a principal name into a Rego package segment.
func packageSegment(name string) string {
	s := nonSegment.ReplaceAllString(strings.ToLower(name), "_")
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "p_" + s
	}
	return s
}

// compileSets compiles each set and merges the modules (conditions.rego is shared).
func compileSets(ctx context.Context, cat *actions.Catalog, sets []policySet, opts authz.Options) (map[string]string, []string, error) {
	rt, err := authz.Prepare(ctx)
	if err != nil {
		return nil, nil, &exitError{code: 2, err: err}
	}
	mods := map[string]string{}
	var pkgs []string
	for _, s := range sets {
		e, err := rt.New(ctx, cat, s.atts, opts)
		if err != nil {
			return nil, nil, &exitError{code: 1, err: fmt.Errorf("%s: %w (fix the policy, or pass --lenient to compile it fail-safe)", s.pkg, err)}
		}
		x, err := e.Export(s.pkg)
		if err != nil {
			return nil, nil, &exitError{code: 1, err: err}
		}
		for name, text := range x.Modules {
			mods[name] = text
		}
		pkgs = append(pkgs, s.pkg)
	}
	return mods, pkgs, nil
}

// write puts the modules in the output folder or bundle and says how to query them.
func (o *compileOptions) write(w io.Writer, mods map[string]string, pkgs []string) error {
	names := make([]string, 0, len(mods))
	for n := range mods {
		names = append(names, n)
	}
	sort.Strings(names)
	if o.outDir != "" {
		for _, n := range names {
			p := filepath.Join(o.outDir, filepath.FromSlash(n))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("write %s: %w", p, err)}
			}
			if err := os.WriteFile(p, []byte(mods[n]), 0o644); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("write %s: %w", p, err)}
			}
		}
		fmt.Fprintf(w, "wrote %d modules under %s\n", len(names), o.outDir)
	} else {
		rev := o.revision
		if rev == "" {
			h := sha256.New()
			for _, n := range names {
				fmt.Fprintf(h, "%s\x00%s\x00", n, mods[n])
			}
			rev = hex.EncodeToString(h.Sum(nil))[:12]
		}
		var buf bytes.Buffer
		if err := opa.WriteBundle(&buf, mods, rev, bundleRoots(pkgs)); err != nil {
			return &exitError{code: 2, err: err}
		}
		if err := os.WriteFile(o.bundle, buf.Bytes(), 0o644); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("write %s: %w", o.bundle, err)}
		}
		fmt.Fprintf(w, "wrote bundle %s (revision %s, %d modules)\n", o.bundle, rev, len(names))
	}
	for _, p := range pkgs {
		fmt.Fprintf(w, "query data.%s.result (or data.%s.allow)\n", p, p)
	}
	return nil
}

// bundleRoots are the bundle's roots: imsguard, plus the first segments of packages
// outside it.
func bundleRoots(pkgs []string) []string {
	roots := []string{"imsguard"}
	for _, p := range pkgs {
		if first, _, _ := strings.Cut(p, "."); first != "imsguard" {
			roots = append(roots, strings.ReplaceAll(p, ".", "/"))
		}
	}
	sort.Strings(roots[1:])
	return roots
}
