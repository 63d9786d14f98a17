package lint

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, ConfigName)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestLoadLintConfig(t *testing.T) {
	dir := t.TempDir()
	p := writeConfig(t, dir, `
listen = "127.0.0.1:8443" # a proxy key: not lint's business

[lint]
profile = "quota-2025"
fail_on = "warning"
rules = ["my-rules"]
disable = ["W-UNKNOWN-ACTION"]

[lint.severity]
I-BROAD-ALLOW = "warning"

[[lint.suppress]]
code = "W-MISSING-DEPENDENT-ACTION"
file = "policies/*.json"
reason = "OBS comes from the platform policy"
expires = 2027-01-31

[[lint.suppress]]
code = "I-EP-UNSUPPORTED"
reason = "granted on projects only"
expires = "2020-01-01"
`)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)
	assert.Equal(t, ProfileQuota2025, cfg.Profile)
	assert.Equal(t, "warning", cfg.FailOn)
	assert.Equal(t, []string{filepath.Join(dir, "my-rules")}, cfg.Rules)
	assert.Equal(t, "2027-01-31", cfg.Suppress[0].Expires.String())
	assert.Equal(t, "2020-01-01", cfg.Suppress[1].Expires.String())
	require.NoError(t, cfg.Validate(func(string) bool { return true }, false))

	found, err := FindConfig(filepath.Join(dir))
	require.NoError(t, err)
	assert.Equal(t, p, found)
	sub := filepath.Join(dir, "a", "b")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	found, err = FindConfig(sub)
	require.NoError(t, err)
	assert.Equal(t, p, found, "found upwards")
}

func TestLintConfigErrors(t *testing.T) {
	known := func(code string) bool { return code == "W-UNKNOWN-ACTION" || code == "I-BROAD-ALLOW" }
	cases := []struct{ name, text, want string }{
		{"unknown key with line", "[lint]\nprofile = \"strict\"\nfial_on = \"error\"\n", `imsguard.toml:3: unknown key "lint.fial_on"`},
		{"unknown suppress key", "[lint]\n[[lint.suppress]]\ncode = \"I-BROAD-ALLOW\"\nreason = \"x\"\nuntil = 2027-01-01\n", `imsguard.toml:5: unknown key "lint.suppress.until"`},
		{"syntax", "[lint\nprofile = 1\n", "imsguard.toml:1:6: TOML syntax error: expected"},
		{"did you mean", "[lint]\nprofile = \"strict\"\nfial_on = \"error\"\n", `did you mean "fail_on"?`},
		{"did you mean in suppress", "[[lint.suppress]]\ncode = \"I-BROAD-ALLOW\"\nreason = \"x\"\nexpire = 2027-01-01\n", `did you mean "expires"?`},
		{"bad date", "[lint]\n[[lint.suppress]]\ncode = \"I-BROAD-ALLOW\"\nreason = \"x\"\nexpires = \"soon\"\n", "not a date"},
		{"unknown code", "[lint]\ndisable = [\"W-NOPE\"]\n", `unknown code "W-NOPE"`},
		{"bad severity", "[lint.severity]\nI-BROAD-ALLOW = \"fatal\"\n", "use error, warning or info"},
		{"no reason", "[[lint.suppress]]\ncode = \"I-BROAD-ALLOW\"\n", "a reason is required"},
		{"bad fail_on", "[lint]\nfail_on = \"always\"\n", "fail_on"},
		{"bad pointer", "[[lint.suppress]]\ncode = \"I-BROAD-ALLOW\"\nreason = \"x\"\npointer = \"Statement/0\"\n", "starts with /"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, t.TempDir(), tc.text)
			cfg, err := LoadConfig(p)
			if err == nil {
				err = cfg.Validate(known, false)
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrConfig))
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.name == "syntax", errors.Is(err, ErrTOMLSyntax), "only a syntax error is a TOML syntax error: %v", err)
		})
	}
}

func TestLintConfigApply(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{
		Path:     filepath.Join(dir, ConfigName),
		Disable:  []string{"W-UNKNOWN-ACTION"},
		Severity: map[string]string{"I-BROAD-ALLOW": "error"},
		Suppress: []Suppression{
			{Code: "W-PARTIAL-API", File: "policies/*.json", Pointer: "/Statement/0", Reason: "known gap", Expires: Date{time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}},
			{Code: "I-EP-UNSUPPORTED", Reason: "project grants only", Expires: Date{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
			{Code: "W-SERVICE-CASE", File: "*.json", Reason: "legacy spelling"},
		},
	}
	in := []Finding{
		{File: "x.json", Code: "W-UNKNOWN-ACTION", Severity: "warning"},
		{File: "x.json", Code: "I-BROAD-ALLOW", Severity: "info"},
		{File: filepath.Join(dir, "policies", "a.json"), Pointer: "/Statement/0/Action/1", Code: "W-PARTIAL-API", Severity: "warning"},
		{File: filepath.Join(dir, "policies", "a.json"), Pointer: "/Statement/1/Action/0", Code: "W-PARTIAL-API", Severity: "warning"},
		{File: filepath.Join(dir, "other", "a.json"), Pointer: "/Statement/0", Code: "W-PARTIAL-API", Severity: "warning"},
		{File: "x.json", Code: "I-EP-UNSUPPORTED", Severity: "info"},
		{File: "deep/dir/y.json", Code: "W-SERVICE-CASE", Severity: "warning"},
	}
	out := cfg.Apply(in, time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	require.Len(t, out, 6, "disabled codes are dropped")
	assert.Equal(t, "error", out[0].Severity, "severity override")
	assert.True(t, out[1].Suppressed)
	assert.Equal(t, "known gap", out[1].Reason)
	assert.Equal(t, "2027-01-31", out[1].Expires)
	assert.False(t, out[2].Suppressed, "other pointer")
	assert.False(t, out[3].Suppressed, "other folder")
	assert.False(t, out[4].Suppressed, "expired")
	assert.Contains(t, out[4].Note, "expired on 2025-01-01")
	assert.True(t, out[5].Suppressed, "a glob without / matches the base name")

	r, err := NewReport(nil, out, "warning")
	require.NoError(t, err)
	assert.Equal(t, 2, r.Summary.Suppressed)
	assert.Equal(t, 1, r.Summary.Expired)
	assert.True(t, r.Summary.Failed)
	assert.True(t, Fails(out, failError), "the overridden I-BROAD-ALLOW is an error")
	suppressedOnly := []Finding{out[1]}
	assert.False(t, Fails(suppressedOnly, failInfo), "suppressed findings never fail")
}
