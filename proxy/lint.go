package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/lint"
)

// RegoLinter adapts the Rego lint engine to a Linter: any error-severity finding that is
// not suppressed blocks the load (warnings and infos do not), as do the checks of
// DefaultLinter. cfg (may be nil) is the [lint] table of the configuration file: its
// severity overrides, disabled codes and suppressions apply as in `imsguard lint`. ctx
// bounds every lint run.
func RegoLinter(ctx context.Context, l *lint.Linter, cfg *lint.Config) Linter {
	return func(files []*policy.File) error {
		if err := DefaultLinter(files); err != nil {
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
