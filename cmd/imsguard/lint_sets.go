package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/lint"
)

// hasPrincipals tells whether a configuration file has [[principals]] (read loosely: the
// file may be a lint-only imsguard.toml).
func hasPrincipals(path string) (bool, error) {
	var probe struct {
		Principals []toml.Primitive `toml:"principals"`
	}
	if _, err := toml.DecodeFile(path, &probe); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return len(probe.Principals) > 0, nil
}

// configSets reads a proxy configuration the way imsguard proxy does (strictly) and returns
// each principal's documents as a policy set in their attachment scopes (policies: all
// projects). Paths are relative to the configuration's folder and named as the configuration
// path joins them. Files that cannot be read are in loadErr, the rest are linted.
func configSets(path string) (sets []lint.Set, loadErr error, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config %s: %w", path, err)
	}
	cfg, err := proxy.ParseConfig(path, data)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Dir(path)
	loaded := map[string][]*policy.File{}
	var errs []error
	load := func(p string) []*policy.File {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if files, ok := loaded[p]; ok {
			return files
		}
		files, err := policy.Load([]string{p}, nil)
		if err != nil {
			errs = append(errs, err)
		}
		loaded[p] = files
		return files
	}
	for _, pc := range cfg.Principals {
		set := lint.Set{Name: "principal " + pc.Name}
		for _, p := range pc.Policies {
			for _, f := range load(p) {
				set.Members = append(set.Members, lint.Member{File: f, Scope: lint.Scope{Kind: lint.ScopeAllProjects}})
			}
		}
		for _, a := range pc.Attachments {
			sc := lint.Scope{Kind: a.Scope, Names: a.Projects}
			if a.Scope == lint.ScopeEnterpriseProject {
				sc.Names = a.EnterpriseProjects
			}
			for _, f := range load(a.Policy) {
				set.Members = append(set.Members, lint.Member{File: f, Scope: sc})
			}
		}
		sets = append(sets, set)
	}
	return sets, errors.Join(errs...), nil
}

// lintScope turns a --scope value (diff's syntax) into a lint scope.
func lintScope(s authz.Scope) lint.Scope {
	switch s.Kind {
	case authz.ScopeProject:
		return lint.Scope{Kind: lint.ScopeProject, Names: s.Projects}
	case authz.ScopeEnterpriseProject:
		return lint.Scope{Kind: lint.ScopeEnterpriseProject, Names: s.EnterpriseProjects}
	case authz.ScopeGlobal:
		return lint.Scope{Kind: lint.ScopeGlobal}
	default:
		return lint.Scope{Kind: lint.ScopeAllProjects}
	}
}
