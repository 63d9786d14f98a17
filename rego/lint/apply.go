package lint

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/imsguard/imsguard/policy"
)

// Apply applies the configuration to findings: it drops disabled codes, overrides
// severities, drops findings below MinSeverity and marks suppressed findings (expired
// suppressions only add a note). today
// decides expiry: a suppression expiring on a date still holds that day. A nil
// configuration changes nothing.
func (c *Config) Apply(findings []Finding, today time.Time) []Finding {
	if c == nil {
		return findings
	}
	disabled := map[string]bool{}
	for _, code := range c.Disable {
		disabled[code] = true
	}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	out := findings[:0:0]
	for _, f := range findings {
		if disabled[f.Code] {
			continue
		}
		if sev, ok := c.Severity[f.Code]; ok {
			f.Severity = sev
		}
		if c.MinSeverity != "" && severityLevel(f.Severity) < severityLevel(c.MinSeverity) {
			continue
		}
		for _, s := range c.Suppress {
			if !c.suppresses(s, f) {
				continue
			}
			if !s.Expires.IsZero() && s.Expires.Before(day) {
				f.Note = fmt.Sprintf("suppression expired on %s and no longer applies (reason was: %s)", s.Expires, s.Reason)
				continue
			}
			f.Suppressed, f.Reason, f.Expires, f.Note = true, s.Reason, s.Expires.String(), ""
			break
		}
		out = append(out, f)
	}
	return out
}

// suppresses reports whether s matches f: same code, the file matches the glob (relative
// to the configuration's folder, or as given; a glob without "/" also matches the base
// name) and the pointer is s.Pointer or below it.
func (c *Config) suppresses(s Suppression, f Finding) bool {
	if s.Code != f.Code {
		return false
	}
	if s.Pointer != "" && f.Pointer != s.Pointer && !strings.HasPrefix(f.Pointer, s.Pointer+"/") {
		return false
	}
	if s.File == "" {
		return true
	}
	for _, name := range c.fileNames(f.File) {
		if ok, _ := path.Match(filepath.ToSlash(s.File), name); ok {
			return true
		}
	}
	if !strings.Contains(s.File, "/") {
		ok, _ := path.Match(s.File, path.Base(filepath.ToSlash(f.File)))
		return ok
	}
	return false
}

// fileNames are the forms a finding's file is matched in: as given, and relative to the
// configuration's folder.
func (c *Config) fileNames(file string) []string {
	names := []string{filepath.ToSlash(file)}
	if c.Path == "" || file == "-" {
		return names
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return names
	}
	dir, err := filepath.Abs(filepath.Dir(c.Path))
	if err != nil {
		return names
	}
	if rel, err := filepath.Rel(dir, abs); err == nil && !strings.HasPrefix(rel, "..") {
		names = append(names, filepath.ToSlash(rel))
	}
	return names
}

// Fail levels for FailLevel: the lowest severity that fails a run.
const (
	failNone = iota
	failInfo
	failWarning
	failError
)

// FailLevel parses a --fail-on / fail_on value: "error" ("" too), "warning", "info" or
// "none". Higher levels fail on fewer findings.
func FailLevel(s string) (int, error) {
	switch s {
	case "", policy.SeverityError:
		return failError, nil
	case policy.SeverityWarning:
		return failWarning, nil
	case policy.SeverityInfo:
		return failInfo, nil
	case "none":
		return failNone, nil
	default:
		return 0, fmt.Errorf("unknown level %q (use error, warning, info or none)", s)
	}
}

// severityLevel ranks a severity on the FailLevel scale.
func severityLevel(sev string) int {
	switch sev {
	case policy.SeverityError:
		return failError
	case policy.SeverityWarning:
		return failWarning
	default:
		return failInfo
	}
}

// Fails reports whether any unsuppressed finding reaches the fail level (see FailLevel).
func Fails(findings []Finding, level int) bool {
	if level == failNone {
		return false
	}
	for _, f := range findings {
		if !f.Suppressed && severityLevel(f.Severity) >= level {
			return true
		}
	}
	return false
}
