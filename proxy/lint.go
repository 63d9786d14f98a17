package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/lint"
)

// RegoLinter adapts the Rego lint engine to a Linter: any error-severity finding that is
// not suppressed blocks the load (warnings and infos do not), as do the checks of
// SyntaxLinter. cfg (may be nil) is the [lint] table of the configuration file: its
// severity overrides, disabled codes and suppressions apply as in `imsguard lint`. ctx
// bounds every lint run.
func RegoLinter(ctx context.Context, l *lint.Linter, cfg *lint.Config) Linter {
	return func(files []*policy.File) error {
		if err := SyntaxLinter(files); err != nil {
			return err
		}
		var errs []error
		for _, f := range files {
			findings, err := l.Lint(ctx, f)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrPolicyLint, err)
			}
			if cfg != nil {
				findings = cfg.Apply(findings, time.Now())
			}
			for _, x := range findings {
				if x.Severity == policy.SeverityError && !x.Suppressed {
					errs = append(errs, fmt.Errorf("%s:%d:%d: %s: %s", x.File, x.Line, x.Column, x.Code, x.Message))
				}
			}
		}
		if len(errs) == 0 {
			return nil
		}
		return fmt.Errorf("%w: %w", ErrPolicyLint, errors.Join(errs...))
	}
}

// SyntaxLinter rejects files with error-severity problems (JSON syntax, duplicate keys)
// and files without a policy document: the structural minimum RegoLinter checks before
// the lint rules. On its own it is not enough to load policies (a Loader never uses it
// alone).
func SyntaxLinter(files []*policy.File) error {
	var errs []error
	for _, f := range files {
		bad := false
		for _, p := range f.Problems {
			if p.Severity == policy.SeverityError {
				errs = append(errs, fmt.Errorf("%s:%s", f.Name, p))
				bad = true
			}
		}
		if !bad && len(f.Documents) == 0 {
			errs = append(errs, fmt.Errorf("%s: no policy document in the file", f.Name))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPolicyLint, errors.Join(errs...))
}

// Linters builds the linter a configuration's [lint] table asks for — the same rules,
// profiles, severity overrides, disabled codes and suppressions as `imsguard lint` — once
// per distinct set of lint options (compiling the rules takes tens of milliseconds), so
// reloads stay fast. It is what a Loader lints with by default. Safe for concurrent use.
type Linters struct {
	cat       *actions.Catalog
	mu        sync.Mutex
	byOptions map[string]*lint.Linter
	override  *Linters // the linters of the last bundle catalog override (forCatalog)
	overKey   string   // digest of its catalog text
}

// forCatalog returns the Linters of another catalog (a bundle's override), kept while
// the same catalog text comes again.
func (c *Linters) forCatalog(cat *actions.Catalog, text []byte) *Linters {
	sum := sha256.Sum256(text)
	key := hex.EncodeToString(sum[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.override == nil || c.overKey != key {
		c.override, c.overKey = NewLinters(cat), key
	}
	return c.override
}

// NewLinters returns an empty Linters for the catalog.
func NewLinters(cat *actions.Catalog) *Linters {
	return &Linters{cat: cat, byOptions: map[string]*lint.Linter{}}
}

// Linter returns the compiled linter for opts. Custom rule folders are compiled again on
// every call, so a load picks up edited rules.
func (c *Linters) Linter(ctx context.Context, opts lint.Options) (*lint.Linter, error) {
	key := fmt.Sprintf("%#v", opts)
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.byOptions[key]; l != nil {
		return l, nil
	}
	l, err := lint.New(ctx, c.cat, opts)
	if err != nil {
		return nil, err
	}
	if len(opts.RuleDirs) == 0 {
		c.byOptions[key] = l
	}
	return l, nil
}

// ForConfig returns the Linter of a configuration: its [lint] table (read strictly and
// validated as `imsguard lint` does; an error wraps lint.ErrConfig) applied to the Rego
// lint rules. name is the configuration's name in errors; ctx bounds every lint run.
func (c *Linters) ForConfig(ctx context.Context, name string, data []byte) (Linter, error) {
	lc, err := lint.ParseConfig(name, data)
	if err != nil {
		return nil, err
	}
	return c.ForLintConfig(ctx, lc)
}

// ForLintConfig is ForConfig of a [lint] table already parsed (lint.ParseConfig).
func (c *Linters) ForLintConfig(ctx context.Context, lc *lint.Config) (Linter, error) {
	lt, err := c.Linter(ctx, lc.Options())
	if err != nil {
		return nil, err
	}
	if err := lc.Validate(func(code string) bool { _, ok := lt.Rule(code); return ok }, len(lc.Rules) > 0); err != nil {
		return nil, err
	}
	return RegoLinter(ctx, lt, lc), nil
}
