package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/policy"
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
	require.NoError(t, r.WriteSARIF(&buf, l.Rules(), "v1.2.3"))
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
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
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
		}
		if res.RuleID == "W-PARTIAL-API" {
			require.Len(t, res.Suppressions, 1)
			assert.Equal(t, "native sharing is not used", res.Suppressions[0].Justification)
		}
	}
}

func TestLintTextSummary(t *testing.T) {
	r, _ := sampleReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteText(&buf))
	out := buf.String()
	assert.Contains(t, out, "p.json:1:65: error E-ACTION-UNREGISTERED: ")
	assert.Contains(t, out, "    fix: did you mean \"ims:images:list\"?")
	assert.Contains(t, out, "    suppressed: native sharing is not used")
	assert.Contains(t, out, "1 file, 1 document: 1 error, 0 warnings, 1 info (1 suppressed); fails at --fail-on error")
}

func TestLintReportGitHub(t *testing.T) {
	r, _ := sampleReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteGitHub(&buf, false))
	assert.Equal(t, `::error file=p.json,line=1,col=65,title=E-ACTION-UNREGISTERED::"ims:image:list" is not a registered ims action: IAM rejects unregistered actions (IAM.1036)%0Afix: did you mean "ims:images:list"?
::error title=imsguard lint::1 file, 1 document: 1 error, 0 warnings, 1 info (1 suppressed); fails at --fail-on error
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
