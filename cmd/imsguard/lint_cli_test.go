package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/report/reporttest"
)

const (
	lintReadOnly = `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]}]}`
	lintTypo     = `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:image:list"]}]}`
	lintWarning  = `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:share"]}]}`
)

// lintFixtures writes policy files into a fresh folder and returns it.
func lintFixtures(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	return dir
}

type lintJSON struct {
	Findings []struct {
		File, Pointer, Code, Severity, Message, Fix, Reason, Note string
		Line, Column                                              int
		Suppressed                                                bool
	}
	Summary struct {
		Files, Documents, Errors, Warnings, Infos, Suppressed int
		Failed                                                bool
	}
}

func TestLintCLI(t *testing.T) {
	dir := lintFixtures(t, map[string]string{
		"ok.json": lintReadOnly, "bad.json": lintTypo, "warn.json": lintWarning,
		"nested/deeper/ok2.json": lintReadOnly, "nested/readme.txt": "not a policy",
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		check func(t *testing.T, out, stderr string)
	}{
		{"clean file", "", []string{p("ok.json")}, 0, func(t *testing.T, out, _ string) {
			assert.Contains(t, out, "1 file, 1 document: 0 errors, 0 warnings, 0 infos")
		}},
		{"error exits 1", "", []string{p("bad.json")}, 1, func(t *testing.T, out, _ string) {
			assert.Contains(t, out, "error E-ACTION-UNREGISTERED")
			assert.Contains(t, out, `fix: did you mean "ims:images:list"?`)
		}},
		{"warnings pass by default", "", []string{p("warn.json")}, 0, nil},
		{"fail-on warning", "", []string{"--fail-on", "warning", p("warn.json")}, 1, nil},
		{"fail-on none", "", []string{"--fail-on", "none", p("bad.json")}, 0, nil},
		{"folder, recursive", "", []string{"--format", "json", filepath.Join(dir, "nested")}, 0, func(t *testing.T, out, _ string) {
			var r lintJSON
			require.NoError(t, json.Unmarshal([]byte(out), &r))
			assert.Equal(t, 1, r.Summary.Files)
		}},
		{"stdin", lintTypo, []string{"--format", "json", "-"}, 1, func(t *testing.T, out, _ string) {
			var r lintJSON
			require.NoError(t, json.Unmarshal([]byte(out), &r))
			require.NotEmpty(t, r.Findings)
			var f = r.Findings[len(r.Findings)-1]
			assert.Equal(t, "-", f.File)
			assert.Equal(t, "E-ACTION-UNREGISTERED", f.Code)
			assert.Equal(t, "/Statement/0/Action/0", f.Pointer)
			assert.Equal(t, 1, f.Line)
			assert.Equal(t, 65, f.Column)
			assert.Equal(t, 1, r.Summary.Errors)
			assert.True(t, r.Summary.Failed)
		}},
		{"sarif", "", []string{"--format", "sarif", p("bad.json")}, 1, func(t *testing.T, out, _ string) {
			reporttest.RequireValidSARIF(t, []byte(out))
			var log map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &log))
			assert.Equal(t, "2.1.0", log["version"])
			assert.Contains(t, out, `"executionSuccessful": true`)
		}},
		{"sarif with a missing file: not a clean run", "", []string{"--format", "sarif", p("ok.json"), p("nope.json")}, 2, func(t *testing.T, out, stderr string) {
			reporttest.RequireValidSARIF(t, []byte(out))
			assert.Contains(t, out, `"executionSuccessful": false`)
			assert.Contains(t, out, "nope.json: no such file or directory")
			assert.Contains(t, stderr, "nope.json")
		}},
		{"github annotations", "", []string{"--format", "github", p("bad.json")}, 1, func(t *testing.T, out, _ string) {
			assert.Contains(t, out, "::error file="+p("bad.json")+",line=1,col=65,title=E-ACTION-UNREGISTERED::")
			assert.True(t, strings.HasPrefix(lastLine(out), "::error title=imsguard lint::1 file, 1 document: 1 error"), out)
		}},
		{"profile flag", "", []string{"--profile", "quota-2025", p("ok.json")}, 0, nil},
		{"list rules", "", []string{"--list-rules"}, 0, func(t *testing.T, out, _ string) {
			assert.Regexp(t, `E-ACTION-UNREGISTERED +error +action not registered`, out)
			assert.Contains(t, out, "W-ROUTE-FAMILY-GAP")
		}},
		{"missing file: report the rest, no summary, exit 2", "", []string{p("bad.json"), p("nope.json")}, 2, func(t *testing.T, out, stderr string) {
			assert.Contains(t, out, "E-ACTION-UNREGISTERED", "the findings of the files read")
			assert.NotContains(t, out, "1 file, 1 document", "no summary before the error that aborts the run")
			assert.Contains(t, stderr, "nope.json")
		}},
		{"json with a missing file: the errors are in the report", "", []string{"--format", "json", p("ok.json"), p("nope.json")}, 2, func(t *testing.T, out, _ string) {
			var r struct{ Errors []string }
			require.NoError(t, json.Unmarshal([]byte(out), &r))
			require.Len(t, r.Errors, 1)
			assert.Contains(t, r.Errors[0], "nope.json")
		}},
		{"no policy", "", nil, 2, func(t *testing.T, _, stderr string) { assert.Contains(t, stderr, "needs at least one POLICY") }},
		{"bad format", "", []string{"--format", "xml", p("ok.json")}, 2, nil},
		{"bad fail-on", "", []string{"--fail-on", "fatal", p("ok.json")}, 2, nil},
		{"bad profile", "", []string{"--profile", "lax", p("ok.json")}, 2, func(t *testing.T, _, stderr string) { assert.Contains(t, stderr, "quota-2025") }},
		{"missing config", "", []string{"--config", p("nope.toml"), p("ok.json")}, 2, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, tc.stdin, append([]string{"lint", "--no-config"}, tc.args...)...)
			if tc.name == "missing config" {
				out, stderr, code = runCLI(t, tc.stdin, append([]string{"lint"}, tc.args...)...)
			}
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, stderr)
			if code == 2 {
				assert.True(t, strings.HasPrefix(stderr, "imsguard: "), stderr)
			}
			if tc.check != nil {
				tc.check(t, out, stderr)
			}
		})
	}
}

func TestLintConfigDiscovery(t *testing.T) {
	dir := lintFixtures(t, map[string]string{
		"policies/bad.json":  lintTypo,
		"policies/warn.json": lintWarning,
		"imsguard.toml": `
[lint]
fail_on = "warning"
enable = ["I-EP-UNSUPPORTED"]

[lint.severity]
E-ACTION-UNREGISTERED = "warning"

[[lint.suppress]]
code = "W-PARTIAL-API"
file = "policies/warn.json"
reason = "native sharing routes are not used"
expires = 2999-12-31

[[lint.suppress]]
code = "I-EP-UNSUPPORTED"
reason = "granted on projects"
expires = 2000-01-01
`,
	})
	t.Chdir(filepath.Join(dir, "policies"))
	out, stderr, code := runCLI(t, "", "lint", "--format", "json", ".")
	require.Equal(t, 1, code, stderr)
	var r lintJSON
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	got := map[string]int{}
	for _, f := range r.Findings {
		switch f.Code {
		case "E-ACTION-UNREGISTERED":
			assert.Equal(t, "warning", f.Severity, "severity override")
		case "W-PARTIAL-API":
			assert.True(t, f.Suppressed)
			assert.Equal(t, "native sharing routes are not used", f.Reason)
		case "I-EP-UNSUPPORTED":
			assert.False(t, f.Suppressed)
			assert.Contains(t, f.Note, "expired on 2000-01-01")
		}
		got[f.Code]++
	}
	assert.Equal(t, 1, got["W-PARTIAL-API"], "suppressed findings are still reported")
	assert.Equal(t, 1, r.Summary.Suppressed)

	out, _, code = runCLI(t, "", "lint", "--fail-on", "error", ".")
	assert.Equal(t, 0, code, "the flag overrides fail_on: the only error is now a warning")
	assert.Contains(t, out, "suppressed (until 2999-12-31): native sharing routes are not used")
	assert.Contains(t, out, "note: suppression expired on 2000-01-01")

	_, _, code = runCLI(t, "", "lint", "--no-config", "bad.json")
	assert.Equal(t, 1, code, "without the configuration the typo is an error")
}

func TestLintConfigErrorsCLI(t *testing.T) {
	dir := lintFixtures(t, map[string]string{"ok.json": lintReadOnly, "imsguard.toml": "[lint]\nfail_on = \"error\"\nseverty = {}\n"})
	_, stderr, code := runCLI(t, "", "lint", "--config", filepath.Join(dir, "imsguard.toml"), filepath.Join(dir, "ok.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "imsguard.toml:3: unknown key \"lint.severty\"")
}

func TestLintCustomRulesCLI(t *testing.T) {
	rules := filepath.Join("..", "..", "testdata", "lint", "rules")
	out, stderr, code := runCLI(t, lintWarning, "lint", "--no-config", "--rules", rules, "--format", "json", "-")
	require.Equal(t, 1, code, stderr)
	var r lintJSON
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	codes := map[string]string{}
	for _, f := range r.Findings {
		codes[f.Code] = f.Severity
	}
	assert.Equal(t, "error", codes["ACME-NO-SHARE"])
	assert.Equal(t, "warning", codes["acme.ims.warn"])

	_, stderr, code = runCLI(t, "", "lint", "--no-config", "--rules", filepath.Join(t.TempDir(), "none"), "-")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "load rules")
}

func TestExplainAndDiffCLI(t *testing.T) {
	dir := lintFixtures(t, map[string]string{
		"old/p.json": lintReadOnly,
		"new/p.json": `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ims:images:share"]}]}`,
		"bad.json":   `{"Version": "1.1",`,
	})
	out, stderr, code := runCLI(t, "", "explain", filepath.Join(dir, "old"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "6.1.2    GET     /v2/images/{image_id}")
	assert.Contains(t, out, "36 APIs:")

	out, _, code = runCLI(t, lintReadOnly, "explain", "--format", "json", "--enterprise-project", "ep-1", "-")
	require.Equal(t, 0, code)
	var x struct {
		EnterpriseProject string `json:"enterprise_project"`
		APIs              []struct{ ID, Status string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &x))
	assert.Equal(t, "ep-1", x.EnterpriseProject)
	require.Len(t, x.APIs, 36)

	_, stderr, code = runCLI(t, "", "explain", filepath.Join(dir, "bad.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "bad.json")
	_, _, code = runCLI(t, "", "explain")
	assert.Equal(t, 2, code)

	out, _, code = runCLI(t, "", "diff", filepath.Join(dir, "old"), filepath.Join(dir, "new"))
	assert.Equal(t, 0, code, "widening without --fail-on-widen")
	assert.Contains(t, out, "+ ims:images:share: Denied -> Allowed")
	_, _, code = runCLI(t, "", "diff", "--fail-on-widen", filepath.Join(dir, "old"), filepath.Join(dir, "new"))
	assert.Equal(t, 1, code)
	out, _, code = runCLI(t, "", "diff", "--format", "sarif", filepath.Join(dir, "old"), filepath.Join(dir, "new"))
	assert.Equal(t, 0, code)
	reporttest.RequireValidSARIF(t, []byte(out))
	assert.Contains(t, out, `"uri": "file://`+filepath.ToSlash(filepath.Join(dir, "new", "p.json"))+`"`, "outside the working directory: a file URI")
	_, _, code = runCLI(t, "", "diff", "--fail-on-widen", filepath.Join(dir, "new"), filepath.Join(dir, "old"))
	assert.Equal(t, 0, code, "narrowing passes")
	out, _, code = runCLI(t, "", "diff", "--format", "json", filepath.Join(dir, "old"), filepath.Join(dir, "old"))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, `"changes": []`)
	_, stderr, code = runCLI(t, "", "diff", filepath.Join(dir, "old"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "OLD and NEW")
}

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestLintUserTextIsNotATemplate: placeholders are expanded in the rules' constant
// templates only; braces in an action or a condition value come out as written, in every
// format.
func TestLintUserTextIsNotATemplate(t *testing.T) {
	const action, value = "ims:{actions}x{value}:get", "{sections}{apis}"
	doc := `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["` + action + `"], "Condition": {"StringEquals": {"g:UserName": ["` + value + `"]}}}]}`
	dir := lintFixtures(t, map[string]string{"p.json": doc})
	for _, format := range []string{"text", "json", "sarif", "github"} {
		t.Run(format, func(t *testing.T) {
			out, stderr, code := runCLI(t, "", "lint", "--no-config", "--format", format, filepath.Join(dir, "p.json"))
			require.Equal(t, 1, code, stderr)
			text := out
			if format == "json" || format == "sarif" {
				var v any
				require.NoError(t, json.Unmarshal([]byte(out), &v), out)
				text = strings.ReplaceAll(out, `\"`, `"`)
			}
			assert.Contains(t, text, `action "`+action+`" contains "{}"`, "E-ACTION-CHARS names the action as written")
			assert.Contains(t, text, `condition value "`+value+`" contains "{}"`, "W-COND-VALUE-CHARSET names the value as written")
			assert.NotContains(t, text, "ims:xims:")
			assert.NotContains(t, text, "APIs APIs")
		})
	}
}

// TestLintQuietAndOutput: --min-severity and --quiet report less, -o writes the report to a
// file, the [lint] table's min_severity and enable apply.
func TestLintQuietAndOutput(t *testing.T) {
	dir := lintFixtures(t, map[string]string{"warn.json": lintWarning, "bad.json": lintTypo, "ok.json": lintReadOnly})
	p := func(name string) string { return filepath.Join(dir, name) }

	out, _, code := runCLI(t, "", "lint", "--no-config", p("warn.json"), p("bad.json"))
	require.Equal(t, 1, code)
	assert.Contains(t, out, "W-PARTIAL-API")
	for _, args := range [][]string{{"--min-severity", "error"}, {"--quiet"}, {"-q"}} {
		out, _, code = runCLI(t, "", append(append([]string{"lint", "--no-config"}, args...), p("warn.json"), p("bad.json"))...)
		require.Equal(t, 1, code, args)
		assert.NotContains(t, out, "W-PARTIAL-API", args)
		assert.Contains(t, out, "E-ACTION-UNREGISTERED", args)
		assert.Contains(t, out, "2 files, 2 documents: 1 error, 0 warnings, 0 infos", args)
	}
	_, stderr, code := runCLI(t, "", "lint", "--no-config", "--quiet", "--min-severity", "info", p("ok.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "not both")

	report := filepath.Join(dir, "out", "lint.sarif")
	require.NoError(t, os.MkdirAll(filepath.Dir(report), 0o755))
	out, stderr, code = runCLI(t, "", "lint", "--no-config", "--format", "sarif", "-o", report, p("bad.json"))
	require.Equal(t, 1, code, stderr)
	assert.Empty(t, out, "the report goes to the file")
	data, err := os.ReadFile(report)
	require.NoError(t, err)
	reporttest.RequireValidSARIF(t, data)
	_, stderr, code = runCLI(t, "", "lint", "--no-config", "--output", filepath.Join(dir, "nope", "x.txt"), p("ok.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "write report")

	cfg := filepath.Join(dir, "imsguard.toml")
	require.NoError(t, os.WriteFile(cfg, []byte("[lint]\nmin_severity = \"warning\"\nenable = [\"I-EP-UNSUPPORTED\"]\n"), 0o644))
	out, stderr, code = runCLI(t, "", "lint", "--config", cfg, p("ok.json"), p("warn.json"))
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, "I-EP-UNSUPPORTED", "enabled, but below min_severity")
	assert.Contains(t, out, "W-PARTIAL-API")
	out, _, _ = runCLI(t, "", "lint", "--config", cfg, "--min-severity", "info", p("ok.json"))
	assert.Contains(t, out, "I-EP-UNSUPPORTED", "enabled in the [lint] table, the flag lowers the bar")
	require.NoError(t, os.WriteFile(cfg, []byte("[lint]\nmin_severity = \"fatal\"\n"), 0o644))
	_, stderr, code = runCLI(t, "", "lint", "--config", cfg, p("ok.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `min_severity = "fatal"`)
}

// TestLintEnterpriseProjectOptIn: I-EP-UNSUPPORTED only when the policy is attached on an
// enterprise project (--scope) or enabled.
func TestLintEnterpriseProjectOptIn(t *testing.T) {
	dir := lintFixtures(t, map[string]string{"ok.json": lintReadOnly})
	p := filepath.Join(dir, "ok.json")
	cases := []struct {
		args  []string
		fires bool
	}{
		{nil, false},
		{[]string{"--scope", "project=ae-ad-1_dev"}, false},
		{[]string{"--scope", "enterprise_project=ep-1"}, true},
		{[]string{"--enable", "I-EP-UNSUPPORTED"}, true},
	}
	for _, tc := range cases {
		out, stderr, code := runCLI(t, "", append(append([]string{"lint", "--no-config"}, tc.args...), p)...)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, tc.fires, strings.Contains(out, "I-EP-UNSUPPORTED"), "%v: %s", tc.args, out)
	}
	_, stderr, code := runCLI(t, "", "lint", "--no-config", "--enable", "W-PARTIAL-API", p)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "not an opt-in code")
	out, _, _ := runCLI(t, "", "lint", "--list-rules")
	assert.Regexp(t, `I-EP-UNSUPPORTED +info \(opt-in\)`, out)
	_, stderr, code = runCLI(t, "", "lint", "--no-config", "--scope", "region=x", p)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--scope")
}

// TestIdentityPolicyRefusalSaysWhatToDo: eval and explain refuse 5.0 identity policies and
// say what to do instead; lint checks them.
func TestIdentityPolicyRefusalSaysWhatToDo(t *testing.T) {
	dir := lintFixtures(t, map[string]string{"v5.json": `{"Version": "5.0", "Statement": [{"Effect": "Allow", "Action": ["ims:image:list"]}]}`})
	p := filepath.Join(dir, "v5.json")
	for _, args := range [][]string{{"eval", "--policy", p, "--action", "ims:images:list"}, {"explain", p}} {
		_, stderr, code := runCLI(t, "", args...)
		assert.Equal(t, 2, code, args)
		assert.Contains(t, stderr, `Version "5.0" (identity) is not evaluated`, args)
		assert.Contains(t, stderr, "check identity policies with imsguard lint, and leave them out to decide the others", args)
	}
	out, _, code := runCLI(t, "", "lint", "--no-config", p)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, `W-UNKNOWN-ACTION: "ims:image:list" is not an ims action imsguard knows`)
}
