package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// The SARIF 2.1.0 subset imsguard writes (https://docs.oasis-open.org/sarif/sarif/v2.1.0/).

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
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
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
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

// Rule is one rule (finding code) of a SARIF log.
type Rule struct {
	ID          string
	Short, Full string // short and full description
	Help        string
	Severity    string // policy.SeverityError, SeverityWarning or SeverityInfo
	Properties  map[string]string
}

// Result is one result of a SARIF log: a finding at a place.
type Result struct {
	RuleID   string
	Severity string
	Message  string
	File     string // as given; "-" is standard input
	Line     int
	Column   int
	Pointer  string // JSON pointer, the logical location
	// Suppressed, with Justification, marks a result the user suppressed.
	Suppressed    bool
	Justification string
}

// WriteSARIF writes a SARIF 2.1.0 log of imsguard (version "" to omit) with the rules
// and results; a result's rule must be among rules. Lint and diff share it.
func WriteSARIF(w io.Writer, version string, rules []Rule, results []Result) error {
	driver := sarifDriver{Name: "imsguard", InformationURI: "https://github.com/imsguard/imsguard", Version: version}
	index := map[string]int{}
	for _, ri := range rules {
		index[ri.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{
			ID: ri.ID, Name: ruleName(ri.ID),
			ShortDescription:     sarifText{ri.Short},
			FullDescription:      sarifText{ri.Full},
			Help:                 sarifText{ri.Help},
			DefaultConfiguration: sarifRuleConfig{sarifLevel(ri.Severity)},
			Properties:           ri.Properties,
		})
	}
	out := make([]sarifResult, 0, len(results))
	for _, f := range results {
		res := sarifResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: sarifLevel(f.Severity), Message: sarifText{f.Message},
			Locations: []sarifLocation{{
				PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(f.File)}, Region: sarifRegion{StartLine: f.Line, StartColumn: f.Column}},
				LogicalLocations: []sarifLogical{{FullyQualifiedName: f.Pointer, Kind: "element"}},
			}},
		}
		if f.Suppressed {
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: f.Justification}}
		}
		out = append(out, res)
	}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Results: out}}}
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

// sarifURI is the artifact URI of a file name: relative paths stay relative (code scanning
// resolves them against the checkout), stdin becomes "stdin".
func sarifURI(file string) string {
	if file == "-" {
		return "stdin"
	}
	return filepath.ToSlash(file)
}
