package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/lint"
)

// inputs are the configuration and policy files as read, before compiling.
type inputs struct {
	cfg     *Config
	cfgData []byte // the configuration text
	// lint is its [lint] table, parsed once (lintErr: why it does not parse; the build
	// reports it).
	lint      *lint.Config
	lintErr   error
	policies  map[string][]*policy.File // resolved path → files
	extra     map[string][]byte         // resolved path → content: CA bundles, server certificate and key
	opa       []byte                    // the opa_config file, when set: as read, then as Loader.expandOPA expanded it
	opaRedact fleet.Redact              // keeps the values expandOPA substituted out of OPA's messages
	// opaWarnings are what fleet.CheckConfig said about the opa_config file when the
	// build checked it (not redacted yet).
	opaWarnings []string
	// ruleDirs are the [lint] rules folders; their .rego files are in files and the
	// digest (the linter reads them itself).
	ruleDirs []string
	files    []string
	digest   string
}

// readInputs reads and parses the configuration and every file it names: policies, CA
// bundles, the server certificate and key, the [lint] rules, the opa_config file. The
// digest covers all of them as read (the opa_config file before its ${NAME} references are
// expanded: the digest holds no secret).
func readInputs(src source) (*inputs, error) {
	data, err := src.readConfig()
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(src.name(), data)
	if err != nil {
		return nil, err
	}
	// The digest names each file by its path relative to the configuration's folder, so
	// the same files give the same digest in every checkout.
	base := filepath.Dir(src.name())
	rel := func(p string) string {
		if r, err := filepath.Rel(base, p); err == nil {
			return filepath.ToSlash(r)
		}
		return p
	}
	h := sha256.New()
	in := &inputs{cfg: cfg, cfgData: data, policies: map[string][]*policy.File{}}
	in.lint, in.lintErr = lint.ParseConfig(src.name(), data)
	// record adds a file read to the list and the digest.
	record := func(p string, data []byte) {
		in.files = append(in.files, p)
		fmt.Fprintf(h, "%s\x00%d\x00", rel(p), len(data))
		h.Write(data)
	}
	record(src.name(), data)
	for _, p := range policyPaths(cfg) {
		r := src.resolve(p)
		if _, done := in.policies[r]; done {
			continue
		}
		files, err := src.loadPolicies(r)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", src.name(), err)
		}
		in.policies[r] = files
		for _, f := range files {
			record(f.Name, f.Data)
		}
	}
	in.extra = map[string][]byte{}
	for _, p := range []string{cfg.UpstreamTLS.CAFile, cfg.IAM.CAFile, cfg.ServerTLS.CertFile, cfg.ServerTLS.KeyFile} {
		if p == "" {
			continue
		}
		r := src.resolve(p)
		if _, done := in.extra[r]; done {
			continue
		}
		data, err := src.readFile(r)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", src.name(), err)
		}
		in.extra[r] = data
		record(r, data)
	}
	// Custom lint rules ([lint] rules): the proxy lints every load with them, so an edited
	// rule is a change like an edited policy — in the digest, its folders watched.
	if src.watchable() && in.lintErr == nil {
		in.ruleDirs = in.lint.Rules
		for _, f := range ruleFiles(in.lint.Rules) {
			content, err := src.readFile(f)
			if err != nil {
				continue // the linter reports the folder when it loads it
			}
			record(f, content)
		}
	}
	if cfg.OPAConfig != "" {
		r := src.resolve(cfg.OPAConfig)
		data, err := src.readFile(r)
		if err != nil {
			return nil, fmt.Errorf("config %s: opa_config: %w", src.name(), err)
		}
		in.opa = data
		record(r, data)
	}
	in.digest = hex.EncodeToString(h.Sum(nil))
	return in, nil
}

// policyPaths lists every policy path of the configuration in file order.
func policyPaths(cfg *Config) []string {
	var out []string
	for _, p := range cfg.Principals {
		out = append(out, principalPaths(p)...)
	}
	return out
}

// principalPaths lists the policy paths of one principal: policies, then attachments.
func principalPaths(p PrincipalConfig) []string {
	out := append([]string(nil), p.Policies...)
	for _, a := range p.Attachments {
		out = append(out, a.Policy)
	}
	return out
}

// ruleFiles returns the rule files the linter reads from the [lint] rules folders dirs
// (lint.RuleFiles); a folder that cannot be read lists nothing (loading reports it).
func ruleFiles(dirs []string) (files []string) {
	for _, dir := range dirs {
		names, _ := lint.RuleFiles(dir)
		files = append(files, names...)
	}
	return files
}
