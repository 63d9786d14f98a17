package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/report/reporttest"
)

func sampleReport(t *testing.T) (*Report, *Linter) {
	t.Helper()
	l := newTestLinter(t, Options{})
	f := policy.Parse("p.json", []byte(`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:image:list", "ims:images:share"]}]}`))
	cfg := &Config{Suppress: []Suppression{{Code: "W-PARTIAL-API", Reason: "native sharing is not used"}}}
	r, err := l.LintFiles(context.Background(), []*policy.File{f}, cfg, "", time.Now())
	require.NoError(t, err)
	return r, l
}

func TestLintReportJSON(t *testing.T) {
	r, _ := sampleReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteJSON(&buf))
	var got struct {
		Findings []map[string]any `json:"findings"`
		Summary  map[string]any   `json:"summary"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	require.NotEmpty(t, got.Findings)
	codes := map[string]map[string]any{}
	for _, f := range got.Findings {
		for _, k := range []string{"file", "line", "column", "pointer", "code", "severity", "message", "suppressed"} {
			assert.Contains(t, f, k)
		}
		codes[f["code"].(string)] = f
	}
	unreg := codes["E-ACTION-UNREGISTERED"]
	assert.Equal(t, "error", unreg["severity"])
	assert.Equal(t, "/Statement/0/Action/0", unreg["pointer"])
	assert.Equal(t, float64(1), unreg["line"])
	assert.Equal(t, `did you mean "ims:images:list"?`, unreg["fix"])
	partial := codes["W-PARTIAL-API"]
	assert.Equal(t, true, partial["suppressed"])
	assert.Equal(t, "native sharing is not used", partial["reason"])
	assert.Equal(t, float64(1), got.Summary["errors"])
	assert.Equal(t, float64(1), got.Summary["suppressed"])
	assert.Equal(t, true, got.Summary["failed"])
}

func TestLintReportSARIF(t *testing.T) {
	r, l := sampleReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteSARIF(&buf, l.Rules(), SARIFOptions{Version: "v1.2.3"}))
	reporttest.RequireValidSARIF(t, buf.Bytes())
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID                   string `json:"id"`
						DefaultConfiguration struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID     string                `json:"ruleId"`
				RuleIndex  int                   `json:"ruleIndex"`
				Level      string                `json:"level"`
				Message    struct{ Text string } `json:"message"`
				Properties map[string]string     `json:"properties"`
				Locations  []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Suppressions []struct {
					Kind, Justification string
				} `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &log))
	assert.Equal(t, "2.1.0", log.Version)
	require.Len(t, log.Runs, 1)
	run := log.Runs[0]
	assert.Equal(t, "imsguard", run.Tool.Driver.Name)
	assert.Len(t, run.Tool.Driver.Rules, len(l.Rules()), "one rule per code")
	seen := map[string]bool{}
	for _, rule := range run.Tool.Driver.Rules {
		assert.False(t, seen[rule.ID], "duplicate rule %s", rule.ID)
		seen[rule.ID] = true
	}
	require.NotEmpty(t, run.Results)
	for _, res := range run.Results {
		assert.Equal(t, res.RuleID, run.Tool.Driver.Rules[res.RuleIndex].ID)
		assert.Equal(t, "p.json", res.Locations[0].PhysicalLocation.ArtifactLocation.URI)
		assert.GreaterOrEqual(t, res.Locations[0].PhysicalLocation.Region.StartLine, 1)
		if res.RuleID == "E-ACTION-UNREGISTERED" {
			assert.Equal(t, "error", res.Level)
			assert.Equal(t, `"ims:image:list" is not a registered ims action: IAM rejects unregistered actions (IAM.1036)`, res.Message.Text, "message and fix apart")
			assert.Equal(t, `did you mean "ims:images:list"?`, res.Properties["fix"])
		}
		assert.NotEqual(t, "W-PARTIAL-API", res.RuleID, "suppressed findings are left out by default")
	}

	buf.Reset()
	require.NoError(t, r.WriteSARIF(&buf, l.Rules(), SARIFOptions{IncludeSuppressed: true}))
	require.NoError(t, json.Unmarshal(buf.Bytes(), &log))
	var suppressed int
	for _, res := range log.Runs[0].Results {
		if res.RuleID == "W-PARTIAL-API" {
			suppressed++
			require.Len(t, res.Suppressions, 1)
			assert.Equal(t, "native sharing is not used", res.Suppressions[0].Justification)
		}
	}
	assert.Equal(t, 1, suppressed, "--include-suppressed writes them with a suppression")
}

// TestColumnsAreCodePoints: columns count Unicode code points (the policy parser's unit,
// SARIF columnKind unicodeCodePoints), not bytes or UTF-16 units: an emoji before the
// finding counts once.
func TestColumnsAreCodePoints(t *testing.T) {
	l := newTestLinter(t, Options{})
	prefix := `{"Version": "1.1", "Statement": [{"Sid": "🙂", "Effect": "Allow", "Action": [`
	f := policy.Parse("emoji.json", []byte(prefix+`"ims:image:list"]}]}`))
	r, err := l.LintFiles(context.Background(), []*policy.File{f}, nil, "", time.Now())
	require.NoError(t, err)
	var col int
	for _, fd := range r.Findings {
		if fd.Code == "E-ACTION-UNREGISTERED" {
			col = fd.Column
		}
	}
	require.NotZero(t, col)
	assert.Equal(t, utf8.RuneCountInString(prefix)+1, col, "code points")
	assert.NotEqual(t, len(utf16.Encode([]rune(prefix)))+1, col, "not UTF-16 units (the emoji is two)")
	assert.NotEqual(t, len(prefix)+1, col, "not bytes")

	var buf bytes.Buffer
	require.NoError(t, r.WriteSARIF(&buf, l.Rules(), SARIFOptions{}))
	assert.Contains(t, buf.String(), `"columnKind": "unicodeCodePoints"`)
	assert.Contains(t, buf.String(), fmt.Sprintf(`"startColumn": %d`, col))
}

// TestLintSARIFUnreadableFile: a file that could not be read makes the run unsuccessful,
// with a notification, instead of a log that looks like a clean run.
func TestLintSARIFUnreadableFile(t *testing.T) {
	r, l := sampleReport(t)
	r.AddError(errors.Join(errors.New("load policy a.json: file does not exist"), errors.New("load policy b.json: permission denied")))
	var buf bytes.Buffer
	require.NoError(t, r.WriteSARIF(&buf, l.Rules(), SARIFOptions{}))
	reporttest.RequireValidSARIF(t, buf.Bytes())
	assert.Contains(t, buf.String(), `"executionSuccessful": false`)
	assert.Contains(t, buf.String(), `"text": "load policy b.json: permission denied"`)

	buf.Reset()
	require.NoError(t, r.WriteText(&buf))
	assert.NotContains(t, buf.String(), "1 file, 1 document", "no summary before the error that aborts the run")
	assert.Contains(t, buf.String(), "E-ACTION-UNREGISTERED", "the findings of the files read are still shown")
}

func TestLintTextSummary(t *testing.T) {
	r, _ := sampleReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteText(&buf))
	out := buf.String()
	assert.Contains(t, out, "p.json:1:65: error E-ACTION-UNREGISTERED: ")
	assert.Contains(t, out, "    fix: did you mean \"ims:images:list\"?")
	assert.Contains(t, out, "    suppressed: native sharing is not used")
	assert.Contains(t, out, "1 file, 1 document: 1 error, 0 warnings, 0 infos (1 suppressed); fails at --fail-on error")
}

func TestLintReportGitHub(t *testing.T) {
	r, _ := sampleReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteGitHub(&buf, false))
	assert.Equal(t, `::error file=p.json,line=1,col=65,title=E-ACTION-UNREGISTERED::"ims:image:list" is not a registered ims action: IAM rejects unregistered actions (IAM.1036)%0Afix: did you mean "ims:images:list"?
::error title=imsguard lint::1 file, 1 document: 1 error, 0 warnings, 0 infos (1 suppressed); fails at --fail-on error
`, onlyCodes(buf.String(), "E-ACTION-UNREGISTERED", "imsguard lint"), "one annotation per finding, the summary last")
	assert.NotContains(t, buf.String(), "W-PARTIAL-API", "suppressed findings are left out")

	buf.Reset()
	require.NoError(t, r.WriteGitHub(&buf, true))
	assert.Contains(t, buf.String(), "::notice file=p.json,line=1,col=83,title=W-PARTIAL-API (suppressed)::")
	assert.Contains(t, buf.String(), "%0Asuppressed: native sharing is not used\n")
}

// onlyCodes keeps the annotation lines whose title starts with one of titles.
func onlyCodes(out string, titles ...string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		for _, t := range titles {
			if strings.Contains(line, ",title="+t+"::") || strings.Contains(line, " title="+t+"::") {
				b.WriteString(line)
				break
			}
		}
	}
	return b.String()
}
