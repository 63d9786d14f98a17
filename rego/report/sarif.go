package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// The SARIF 2.1.0 subset imsguard writes (https://docs.oasis-open.org/sarif/sarif/v2.1.0/),
// with what GitHub code scanning reads: partialFingerprints, rule tags and
// security-severity, columnKind, relative URIs with a base id.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                `json:"tool"`
	Invocations        []sarifInvocation        `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifact `json:"originalUriBaseIds"`
	ColumnKind         string                   `json:"columnKind"`
	Results            []sarifResult            `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           map[string]any  `json:"properties"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]string  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI         string     `json:"uri,omitempty"`
	URIBaseID   string     `json:"uriBaseId,omitempty"`
	Description *sarifText `json:"description,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(sev string) string {
	switch sev {
	case policy.SeverityError:
		return "error"
	case policy.SeverityWarning:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is GitHub's security-severity score of a severity when the rule sets
// none: error high (7.0), warning medium (5.0), info low (2.0).
func securitySeverity(sev string) string {
	switch sev {
	case policy.SeverityError:
		return "7.0"
	case policy.SeverityWarning:
		return "5.0"
	default:
		return "2.0"
	}
}

// Rule is one rule (finding code) of a SARIF log.
type Rule struct {
	ID          string
	Short, Full string // short and full description
	Help        string
	Severity    string // policy.SeverityError, SeverityWarning or SeverityInfo
	// SecuritySeverity is GitHub's score from "0.0" to "10.0" (9.0 and up critical, 7.0
	// high, 4.0 medium, below low); "" derives it from Severity.
	SecuritySeverity string
	// Properties are written beside tags ["security"] and security-severity.
	Properties map[string]string
}

// Result is one result of a SARIF log: a finding at a place.
type Result struct {
	RuleID   string
	Severity string
	// Message says what is wrong; Fix (how to fix it) and Note stay apart from it, in the
	// result's properties.
	Message string
	Fix     string
	Note    string
	File    string // as given; "-" is standard input
	Line    int
	Column  int    // in Unicode code points, as the policy parser counts
	Pointer string // JSON pointer, the logical location
	// Suppressed, with Justification, marks a result the user suppressed.
	Suppressed    bool
	Justification string
}

// Notification is a problem of the run itself, such as a file that could not be read.
type Notification struct {
	File    string // "" when it concerns no file
	Message string
}

// Run describes one run of imsguard for a SARIF log.
type Run struct {
	// Version is the tool version ("" to omit).
	Version string
	// BaseDir is the absolute directory relative file names are relative to (the working
	// directory); it becomes the URI of the base id %SRCROOT%. "" leaves that URI out.
	BaseDir string
	// Errors are problems that kept the run from checking everything it was given; any
	// makes invocations[0].executionSuccessful false.
	Errors []Notification
}

// baseID is the uriBaseId of relative artifact URIs.
const baseID = "%SRCROOT%"

// FingerprintKey is the partialFingerprints key of imsguard results: a hash of the rule,
// the file, the JSON pointer and the message without line numbers, so that a finding
// keeps its fingerprint when lines above it move.
const FingerprintKey = "imsguardFingerprint/v1"

// WriteSARIF writes a SARIF 2.1.0 log of one imsguard run with the rules and results; a
// result's rule must be among rules. Lint and diff share it.
func WriteSARIF(w io.Writer, run Run, rules []Rule, results []Result) error {
	driver := sarifDriver{Name: "imsguard", InformationURI: "https://github.com/imsguard/imsguard", Version: run.Version}
	index := map[string]int{}
	for _, ri := range rules {
		index[ri.ID] = len(driver.Rules)
		props := map[string]any{"tags": []string{"security"}}
		props["security-severity"] = ri.SecuritySeverity
		if ri.SecuritySeverity == "" {
			props["security-severity"] = securitySeverity(ri.Severity)
		}
		for k, v := range ri.Properties {
			props[k] = v
		}
		driver.Rules = append(driver.Rules, sarifRule{
			ID: ri.ID, Name: ruleName(ri.ID),
			ShortDescription:     sarifText{ri.Short},
			FullDescription:      sarifText{ri.Full},
			Help:                 sarifText{ri.Help},
			DefaultConfiguration: sarifRuleConfig{sarifLevel(ri.Severity)},
			Properties:           props,
		})
	}
	out := make([]sarifResult, 0, len(results))
	for _, f := range results {
		art := artifact(f.File, run.BaseDir)
		res := sarifResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: sarifLevel(f.Severity), Message: sarifText{f.Message},
			Locations: []sarifLocation{{
				PhysicalLocation: sarifPhysical{ArtifactLocation: art, Region: &sarifRegion{StartLine: max(f.Line, 1), StartColumn: max(f.Column, 1)}},
				LogicalLocations: []sarifLogical{{FullyQualifiedName: f.Pointer, Kind: "element"}},
			}},
			PartialFingerprints: map[string]string{FingerprintKey: fingerprint(f.RuleID, art.URI, f.Pointer, f.Message)},
		}
		if f.Fix != "" || f.Note != "" {
			res.Properties = map[string]string{}
			if f.Fix != "" {
				res.Properties["fix"] = f.Fix
			}
			if f.Note != "" {
				res.Properties["note"] = f.Note
			}
		}
		if f.Suppressed {
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.Justification}}
		}
		out = append(out, res)
	}
	inv := sarifInvocation{ExecutionSuccessful: len(run.Errors) == 0}
	for _, e := range run.Errors {
		n := sarifNotification{Level: "error", Message: sarifText{e.Message}}
		if e.File != "" {
			n.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: artifact(e.File, run.BaseDir)}}}
		}
		inv.Notifications = append(inv.Notifications, n)
	}
	base := sarifArtifact{Description: &sarifText{"the working directory imsguard ran in; relative file names are relative to it"}}
	if run.BaseDir != "" {
		base.URI = fileURI(run.BaseDir, true)
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{{
		Tool: sarifTool{Driver: driver}, Invocations: []sarifInvocation{inv},
		OriginalURIBaseIDs: map[string]sarifArtifact{baseID: base}, ColumnKind: "unicodeCodePoints", Results: out,
	}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("write SARIF report: %w", err)
	}
	return nil
}

// ruleName turns a code into a SARIF rule name: "E-ACTION-CHARS" → "ActionChars".
func ruleName(code string) string {
	parts := strings.FieldsFunc(code, func(r rune) bool { return r == '-' || r == '.' || r == '_' })
	var b strings.Builder
	for i, p := range parts {
		if i == 0 && len(parts) > 1 && len(p) == 1 {
			continue // the severity letter
		}
		b.WriteString(strings.ToUpper(p[:1]))
		b.WriteString(strings.ToLower(p[1:]))
	}
	return b.String()
}

// artifact is the artifact location of a file name: a relative path (also an absolute one
// inside baseDir) becomes a percent-encoded URI relative to %SRCROOT%, which code scanning
// resolves against the checkout; any other absolute path a file URI; stdin "stdin".
func artifact(file, baseDir string) sarifArtifact {
	if file == "-" {
		return sarifArtifact{URI: "stdin"}
	}
	p := filepath.Clean(file)
	if filepath.IsAbs(p) && baseDir != "" {
		if rel, err := filepath.Rel(baseDir, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			p = rel
		}
	}
	if !filepath.IsAbs(p) && (p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator))) && baseDir != "" {
		p = filepath.Join(baseDir, p)
	}
	if filepath.IsAbs(p) {
		return sarifArtifact{URI: fileURI(p, false)}
	}
	return sarifArtifact{URI: escapePath(filepath.ToSlash(p)), URIBaseID: baseID}
}

// fileURI is the file:// URI of an absolute path (with a trailing slash for a directory).
func fileURI(abs string, dir bool) string {
	p := escapePath(filepath.ToSlash(abs))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive: file:///C%3A/...
	}
	if dir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return "file://" + p
}

// escapePath percent-encodes a slash-separated path for a URI: every byte but the
// unreserved characters (RFC 3986: letters, digits, - . _ ~) and / is encoded, so #, ?,
// %, spaces, : and non-ASCII letters cannot change what the URI means.
func escapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// lineRefs are the line numbers messages may name ("statement 0 (line 4)"), left out of
// fingerprints.
var lineRefs = regexp.MustCompile(`\s*\(line \d+\)|\bline \d+\b`)

// fingerprint is a result's partial fingerprint: the first 16 bytes of the SHA-256 of
// rule, URI, pointer and message, with line numbers removed and spaces collapsed.
func fingerprint(rule, uri, pointer, message string) string {
	msg := strings.Join(strings.Fields(lineRefs.ReplaceAllString(message, "")), " ")
	sum := sha256.Sum256([]byte(rule + "\x00" + uri + "\x00" + pointer + "\x00" + msg))
	return hex.EncodeToString(sum[:16])
}
