package lint

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imsguard/imsguard/policy"
)

// ConfigName is the configuration file lint looks for, from the working directory
// upwards. Lint reads only its [lint] table; the other tables belong to other commands.
const ConfigName = "imsguard.toml"

// ErrConfig is wrapped by every configuration load and validation error.
var ErrConfig = errors.New("invalid lint configuration")

// ErrTOMLSyntax is wrapped by the error of a configuration file that is not valid TOML
// ("FILE:LINE:COLUMN: TOML syntax error: ..."); it wraps ErrConfig in turn.
var ErrTOMLSyntax error = &kindError{msg: "TOML syntax error", parent: ErrConfig}

// kindError is a sentinel error that is a kind of its parent.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

// Config is the [lint] table of imsguard.toml:
//
//	[lint]
//	profile = "strict"            # or "quota-2025"
//	operator_edition = ""         # "", "2021" or "2023"
//	size_mode = "minified"        # or "raw"
//	fail_on = "error"             # error, warning, info or none
//	min_severity = "info"         # error, warning or info: report nothing below it
//	regions = ["ae-ad-1"]         # extra regions accepted in Resource
//	rules = ["policy-rules"]      # folders of your own Rego rules
//	enable = ["I-EP-UNSUPPORTED"] # opt-in codes
//	disable = ["W-UNKNOWN-ACTION"]
//	[lint.severity]
//	I-BROAD-ALLOW = "warning"
//	[[lint.suppress]]
//	code = "W-MISSING-DEPENDENT-ACTION"
//	file = "policies/builder.json"   # optional glob, relative to this file
//	pointer = "/Statement/0"         # optional: this element and everything below it
//	reason = "OBS is granted by the platform-obs policy"
//	expires = 2027-01-31             # optional
//
// Relative paths are relative to the folder of the configuration file.
type Config struct {
	Profile         string            `toml:"profile"`
	OperatorEdition string            `toml:"operator_edition"`
	SizeMode        string            `toml:"size_mode"`
	FailOn          string            `toml:"fail_on"`
	MinSeverity     string            `toml:"min_severity"`
	Regions         []string          `toml:"regions"`
	Rules           []string          `toml:"rules"`
	Enable          []string          `toml:"enable"`
	Disable         []string          `toml:"disable"`
	Severity        map[string]string `toml:"severity"`
	Suppress        []Suppression     `toml:"suppress"`

	// Path is the file the configuration was read from ("" for none).
	Path string `toml:"-"`
}

// Suppression silences one code, optionally only in some files or below one JSON
// pointer, for a stated reason and optionally until a date. Suppressed findings are
// still reported, marked as suppressed; an expired suppression no longer suppresses and
// says so in the finding's note.
type Suppression struct {
	Code    string `toml:"code"`
	File    string `toml:"file"`
	Pointer string `toml:"pointer"`
	Reason  string `toml:"reason"`
	Expires Date   `toml:"expires"`
}

// Date is a calendar date, written in TOML as a local date (2027-01-31) or a string
// ("2027-01-31").
type Date struct{ time.Time }

// UnmarshalTOML implements toml.Unmarshaler.
func (d *Date) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case time.Time:
		d.Time = time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC)
		return nil
	case string:
		t, err := time.Parse(time.DateOnly, x)
		if err != nil {
			return fmt.Errorf("expires %q is not a date like 2027-01-31", x)
		}
		d.Time = t
		return nil
	default:
		return fmt.Errorf("expires must be a date like 2027-01-31, found %T", v)
	}
}

// String formats d as YYYY-MM-DD ("" for the zero date).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}

// FindConfig looks for imsguard.toml in dir and its parents and returns its path, ""
// when there is none.
func FindConfig(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find %s: %w", ConfigName, err)
	}
	for {
		p := filepath.Join(abs, ConfigName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", nil
		}
		abs = parent
	}
}

// LoadConfig reads the [lint] table of a configuration file strictly: unknown keys
// under [lint] are errors naming file and line. A file without a [lint] table gives the
// zero configuration.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrConfig, path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig reads the [lint] table of a configuration file's text, as
// LoadConfig does; path names the file in errors and anchors relative rule folders.
func ParseConfig(path string, data []byte) (*Config, error) {
	var raw struct {
		Lint Config `toml:"lint"`
	}
	// Syntax first: decoding into nothing parses the whole file and converts no value, so
	// a parse error here is the file's TOML, not one of its values.
	var pe toml.ParseError
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&struct{}{}); errors.As(err, &pe) {
		at := policy.PosAt(data, pe.Position.Start)
		return nil, fmt.Errorf("%s:%d:%d: %w: %s", path, at.Line, at.Col, ErrTOMLSyntax, pe.Message)
	}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: %s:%d: %s: %s", ErrConfig, path, pe.Position.Line, pe.LastKey, pe.Message)
		}
		return nil, fmt.Errorf("%w: %s: %v (fix the value; see docs/lint.md for the [lint] keys)", ErrConfig, path, err)
	}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == "lint" {
			return nil, unknownKey(path, data, k)
		}
	}
	cfg := raw.Lint
	cfg.Path = path
	dir := filepath.Dir(path)
	for i, r := range cfg.Rules {
		if !filepath.IsAbs(r) {
			cfg.Rules[i] = filepath.Join(dir, r)
		}
	}
	return &cfg, nil
}

// unknownKey is the error of a key the [lint] table does not have, with the key it was
// probably meant to be.
func unknownKey(path string, data []byte, k toml.Key) error {
	keys := []string{"profile", "operator_edition", "size_mode", "fail_on", "min_severity", "regions", "rules", "enable", "disable", "severity", "suppress"}
	table := "the [lint] table takes " + strings.Join(keys[:len(keys)-1], ", ") + " and " + keys[len(keys)-1]
	if len(k) == 3 && k[1] == "suppress" {
		keys = []string{"code", "file", "pointer", "reason", "expires"}
		table = "a [[lint.suppress]] entry takes code, file, pointer, reason and expires"
	}
	hint := ""
	if near := policy.Nearest(k[len(k)-1], keys); near != "" {
		hint = fmt.Sprintf("did you mean %q? ", near)
	}
	return fmt.Errorf("%w: %s:%d: unknown key %q (%s%s)", ErrConfig, path, keyLine(data, k), k.String(), hint, table)
}

// keyLine finds the line of a key under [lint] (0 when it cannot tell).
func keyLine(data []byte, k toml.Key) int {
	table := ""
	last := k[len(k)-1]
	parent := strings.Join(k[:len(k)-1], ".")
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			table = strings.Trim(t, "[] \t")
			if table == k.String() {
				return i + 1
			}
			continue
		}
		name, _, ok := strings.Cut(t, "=")
		if ok && strings.Trim(strings.TrimSpace(name), `"`) == last && (table == parent || parent == "lint" && table == "lint") {
			return i + 1
		}
	}
	return 0
}

// Options returns the lint options the configuration selects.
func (c *Config) Options() Options {
	return Options{Profile: c.Profile, OperatorEdition: c.OperatorEdition, SizeMode: c.SizeMode, Regions: c.Regions, RuleDirs: c.Rules, Enable: c.Enable}
}

// Validate checks the values: fail_on, severities, and that every code it names is one
// known reports (codes of the user's own rules are accepted when custom is true).
func (c *Config) Validate(known func(code string) bool, custom bool) error {
	where := c.Path
	if where == "" {
		where = "lint configuration"
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, where, fmt.Sprintf(format, args...))
	}
	if _, err := FailLevel(c.FailOn); err != nil {
		return bad("fail_on: %v", err)
	}
	switch c.MinSeverity {
	case "", policy.SeverityError, policy.SeverityWarning, policy.SeverityInfo:
	default:
		return bad("min_severity = %q: use error, warning or info", c.MinSeverity)
	}
	checkCode := func(field, code string) error {
		if code == "" {
			return bad("%s: a code is required", field)
		}
		if !known(code) && !custom {
			return bad("%s: unknown code %q (run `imsguard lint --list-rules`; codes of your own rules need --rules or rules = [...])", field, code)
		}
		return nil
	}
	for _, code := range c.Disable {
		if err := checkCode("disable", code); err != nil {
			return err
		}
	}
	codes := make([]string, 0, len(c.Severity))
	for code := range c.Severity {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		if err := checkCode("severity", code); err != nil {
			return err
		}
		switch c.Severity[code] {
		case policy.SeverityError, policy.SeverityWarning, policy.SeverityInfo:
		default:
			return bad("severity.%s = %q: use error, warning or info", code, c.Severity[code])
		}
	}
	for i, s := range c.Suppress {
		if err := checkCode(fmt.Sprintf("suppress[%d].code", i), s.Code); err != nil {
			return err
		}
		if strings.TrimSpace(s.Reason) == "" {
			return bad("suppress[%d] (%s): a reason is required, say why the finding is acceptable", i, s.Code)
		}
		if s.File != "" {
			if _, err := filepath.Match(s.File, ""); err != nil {
				return bad("suppress[%d].file %q: %v", i, s.File, err)
			}
		}
		if s.Pointer != "" && !strings.HasPrefix(s.Pointer, "/") {
			return bad("suppress[%d].pointer %q: a JSON pointer starts with /", i, s.Pointer)
		}
	}
	return nil
}
