package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/imsguard/imsguard/policy"
)

// inputs are the configuration and policy files as read, before compiling.
type inputs struct {
	cfg      *Config
	cfgData  []byte                    // the configuration text ([lint] is read from it)
	policies map[string][]*policy.File // resolved path → files
	extra    map[string][]byte         // resolved path → content: CA bundles, server certificate and key
	opa      []byte                    // the opa_config file, when set
	files    []string
	digest   string
}

// readInputs reads and parses the configuration and every file it names: policies, CA
// bundles, the server certificate and key. The digest covers all of them.
func readInputs(src source) (*inputs, error) {
	data, err := src.readConfig()
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(src.name(), data)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", src.name(), len(data))
	h.Write(data)
	in := &inputs{cfg: cfg, cfgData: data, policies: map[string][]*policy.File{}, files: []string{src.name()}}
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
			in.files = append(in.files, f.Name)
			fmt.Fprintf(h, "%s\x00%d\x00", f.Name, len(f.Data))
			h.Write(f.Data)
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
		in.files = append(in.files, r)
		fmt.Fprintf(h, "%s\x00%d\x00", r, len(data))
		h.Write(data)
	}
	if cfg.OPAConfig != "" {
		r := src.resolve(cfg.OPAConfig)
		data, err := src.readFile(r)
		if err != nil {
			return nil, fmt.Errorf("config %s: opa_config: %w", src.name(), err)
		}
		in.opa = data
		in.files = append(in.files, r)
		fmt.Fprintf(h, "%s\x00%d\x00", r, len(data))
		h.Write(data)
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
