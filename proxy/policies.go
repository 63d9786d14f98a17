package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

// PrincipalPolicies is one principal of a configuration and what its requests are
// decided against.
type PrincipalPolicies struct {
	Name string
	// Attachments are the principal's policy documents with their scopes, named by their
	// path relative to the configuration's folder, exactly as the proxy attaches them.
	Attachments []authz.Attachment
	// Identities say who is this principal: "user NAME", "access key AKxx**** #hash"
	// (redacted, with a digest that tells keys apart), and "requests without a
	// credential" for the default principal.
	Identities []string
}

// ConfigPolicies reads a configuration file the way the proxy does (strict decoding,
// validation) and the policy files it names, and returns each principal's attachments.
// It reads no secret, certificate or key and compiles nothing: it is what
// `imsguard diff` compares. Policy files with JSON problems are errors.
func ConfigPolicies(path string) (*Config, []PrincipalPolicies, error) {
	src, err := newFileSource(path)
	if err != nil {
		return nil, nil, err
	}
	data, err := src.readConfig()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := ParseConfig(src.name(), data)
	if err != nil {
		return nil, nil, err
	}
	loaded := map[string][]*policy.File{}
	var errs []error
	for _, p := range policyPaths(cfg) {
		r := src.resolve(p)
		if _, done := loaded[r]; done {
			continue
		}
		files, err := src.loadPolicies(r)
		if err != nil {
			return nil, nil, fmt.Errorf("config %s: %w", src.name(), err)
		}
		for _, f := range files {
			for _, pr := range f.Problems {
				if pr.Code == policy.CodeJSON {
					errs = append(errs, fmt.Errorf("config %s: policy %s:%s: %s", src.name(), src.display(f.Name), pr.Pos, pr.Message))
				}
			}
		}
		loaded[r] = files
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	var out []PrincipalPolicies
	defer func() {
		// name documents as the attachments are named: relative to the configuration's
		// folder, so two checkouts of one repository name a file alike
		for _, files := range loaded {
			for _, f := range files {
				for _, d := range f.Documents {
					d.Source = src.display(f.Name)
				}
			}
		}
	}()
	for _, pc := range cfg.Principals {
		pp := PrincipalPolicies{Name: pc.Name, Attachments: attachments(src, pc, loaded)}
		for _, u := range pc.Users {
			pp.Identities = append(pp.Identities, "user "+u)
		}
		for _, ak := range pc.AccessKeys {
			sum := sha256.Sum256([]byte(ak))
			pp.Identities = append(pp.Identities, "access key "+redactAK(ak)+" #"+hex.EncodeToString(sum[:4]))
		}
		if cfg.DefaultPrincipal == pc.Name {
			pp.Identities = append(pp.Identities, "requests without a credential")
		}
		out = append(out, pp)
	}
	return cfg, out, nil
}
