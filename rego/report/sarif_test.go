package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/report/reporttest"
)

func TestArtifactURI(t *testing.T) {
	base := filepath.FromSlash("/work/repo")
	cases := []struct {
		name, file, base string
		want             sarifArtifact
	}{
		{"relative", "policies/a.json", base, sarifArtifact{URI: "policies/a.json", URIBaseID: baseID}},
		{"dot prefix cleaned", "./policies/a.json", base, sarifArtifact{URI: "policies/a.json", URIBaseID: baseID}},
		{"hash and space encoded", "policies/team #1/a b.json", base, sarifArtifact{URI: "policies/team%20%231/a%20b.json", URIBaseID: baseID}},
		{"percent, question mark and colon encoded", "p/100%?x:y.json", base, sarifArtifact{URI: "p/100%25%3Fx%3Ay.json", URIBaseID: baseID}},
		{"non-ASCII as UTF-8", "p/é.json", base, sarifArtifact{URI: "p/%C3%A9.json", URIBaseID: baseID}},
		{"absolute inside the base becomes relative", filepath.Join(base, "policies", "a.json"), base, sarifArtifact{URI: "policies/a.json", URIBaseID: baseID}},
		{"absolute outside the base is a file URI", filepath.FromSlash("/etc/iam/a#b.json"), base, sarifArtifact{URI: "file:///etc/iam/a%23b.json"}},
		{"above the base is a file URI", filepath.FromSlash("../other/a.json"), base, sarifArtifact{URI: "file:///work/other/a.json"}},
		{"above, base unknown: stays relative", filepath.FromSlash("../other/a.json"), "", sarifArtifact{URI: "../other/a.json", URIBaseID: baseID}},
		{"stdin", "-", base, sarifArtifact{URI: "stdin"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if filepath.Separator != '/' && filepath.IsAbs(tc.file) {
				t.Skip("POSIX paths")
			}
			assert.Equal(t, tc.want, artifact(tc.file, tc.base))
		})
	}
}

func TestFingerprintIgnoresLineShifts(t *testing.T) {
	a := fingerprint("E-DIFF-WIDEN", "new/a.json", "/Statement/0", "added Allow new/a.json statement 0 (line 4): widens")
	b := fingerprint("E-DIFF-WIDEN", "new/a.json", "/Statement/0", "added Allow new/a.json statement 0 (line 9): widens")
	assert.Equal(t, a, b, "a line shift keeps the fingerprint")
	assert.Len(t, a, 32)
	for name, other := range map[string]string{
		"rule":    fingerprint("I-DIFF-NARROW", "new/a.json", "/Statement/0", "added Allow new/a.json statement 0 (line 4): widens"),
		"file":    fingerprint("E-DIFF-WIDEN", "new/b.json", "/Statement/0", "added Allow new/a.json statement 0 (line 4): widens"),
		"pointer": fingerprint("E-DIFF-WIDEN", "new/a.json", "/Statement/1", "added Allow new/a.json statement 0 (line 4): widens"),
		"message": fingerprint("E-DIFF-WIDEN", "new/a.json", "/Statement/0", "added Allow new/a.json statement 0 (line 4): narrows"),
	} {
		assert.NotEqual(t, a, other, "a different %s is a different finding", name)
	}
}

// sampleLog writes a log with a result in a file whose name needs encoding, a suppressed
// result and a file that could not be read.
func sampleLog(t *testing.T, run Run) []byte {
	t.Helper()
	rules := []Rule{
		{ID: "E-ACTION-UNREGISTERED", Short: "action not registered", Full: "action not registered (IAM.1036)", Help: "see docs", Severity: "error", Properties: map[string]string{"basis": "IAM.1036"}},
		{ID: "W-ROUTE-FAMILY-GAP", Short: "gap", Full: "gap", Help: "see docs", Severity: "warning", SecuritySeverity: "7.5"},
		{ID: "I-DENY-ONLY", Short: "deny only", Full: "deny only", Help: "see docs", Severity: "info"},
	}
	results := []Result{
		{RuleID: "E-ACTION-UNREGISTERED", Severity: "error", Message: `"ims:image:list" is not registered`, Fix: `did you mean "ims:images:list"?`,
			File: "policies/team #1/a b.json", Line: 4, Column: 60, Pointer: "/Statement/0/Action/1"},
		{RuleID: "I-DENY-ONLY", Severity: "info", Message: "only Deny", Note: "suppression expired", File: "b.json", Line: 1, Column: 1, Pointer: "",
			Suppressed: true, Justification: "by design"},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteSARIF(&buf, run, rules, results))
	return buf.Bytes()
}

func TestWriteSARIF(t *testing.T) {
	data := sampleLog(t, Run{Version: "v1.2.3", BaseDir: filepath.FromSlash("/work/repo")})
	reporttest.RequireValidSARIF(t, data)
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Version string
					Rules   []struct {
						ID         string
						Properties map[string]any
					}
				}
			}
			Invocations []struct {
				ExecutionSuccessful bool
			}
			OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
			ColumnKind         string
			Results            []struct {
				Message             struct{ Text string }
				PartialFingerprints map[string]string
				Properties          map[string]string
				Locations           []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string
							URIBaseID string `json:"uriBaseId"`
						}
						Region struct{ StartLine, StartColumn int }
					}
				}
				Suppressions []struct{ Kind, Justification string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &log))
	run := log.Runs[0]
	assert.Equal(t, "v1.2.3", run.Tool.Driver.Version)
	assert.Equal(t, "unicodeCodePoints", run.ColumnKind)
	assert.True(t, run.Invocations[0].ExecutionSuccessful)
	if filepath.Separator == '/' {
		assert.Equal(t, "file:///work/repo/", run.OriginalURIBaseIDs[baseID].URI)
	}
	for _, r := range run.Tool.Driver.Rules {
		assert.Equal(t, []any{"security"}, r.Properties["tags"], r.ID)
	}
	assert.Equal(t, "7.0", run.Tool.Driver.Rules[0].Properties["security-severity"], "from the severity")
	assert.Equal(t, "IAM.1036", run.Tool.Driver.Rules[0].Properties["basis"])
	assert.Equal(t, "7.5", run.Tool.Driver.Rules[1].Properties["security-severity"], "the rule's own")
	assert.Equal(t, "2.0", run.Tool.Driver.Rules[2].Properties["security-severity"])

	res := run.Results[0]
	assert.Equal(t, `"ims:image:list" is not registered`, res.Message.Text, "the fix is not in the message")
	assert.Equal(t, `did you mean "ims:images:list"?`, res.Properties["fix"])
	loc := res.Locations[0].PhysicalLocation
	assert.Equal(t, "policies/team%20%231/a%20b.json", loc.ArtifactLocation.URI)
	assert.Equal(t, baseID, loc.ArtifactLocation.URIBaseID)
	assert.Equal(t, 60, loc.Region.StartColumn)
	assert.Len(t, res.PartialFingerprints[FingerprintKey], 32)
	sup := run.Results[1]
	assert.Equal(t, "suppression expired", sup.Properties["note"])
	require.Len(t, sup.Suppressions, 1)
	assert.Equal(t, "by design", sup.Suppressions[0].Justification)
}

func TestWriteSARIFUnsuccessfulRun(t *testing.T) {
	data := sampleLog(t, Run{Errors: []Notification{{File: "policies/missing.json", Message: "load policy policies/missing.json: file does not exist"}, {Message: "another"}}})
	reporttest.RequireValidSARIF(t, data)
	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful        bool
				ToolExecutionNotifications []struct {
					Level     string
					Message   struct{ Text string }
					Locations []struct {
						PhysicalLocation struct{ ArtifactLocation struct{ URI string } }
					}
				}
			}
			OriginalURIBaseIDs map[string]map[string]any `json:"originalUriBaseIds"`
		}
	}
	require.NoError(t, json.Unmarshal(data, &log))
	inv := log.Runs[0].Invocations[0]
	assert.False(t, inv.ExecutionSuccessful, "a file that could not be read is not a clean run")
	require.Len(t, inv.ToolExecutionNotifications, 2)
	n := inv.ToolExecutionNotifications[0]
	assert.Equal(t, "error", n.Level)
	assert.Equal(t, "load policy policies/missing.json: file does not exist", n.Message.Text)
	assert.Equal(t, "policies/missing.json", n.Locations[0].PhysicalLocation.ArtifactLocation.URI)
	assert.NotContains(t, log.Runs[0].OriginalURIBaseIDs[baseID], "uri", "no base directory, no URI")
}
