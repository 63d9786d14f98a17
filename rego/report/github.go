package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// Annotation is one GitHub Actions workflow command that annotates a file (or, without
// File, the run): "::error file=F,line=L,col=C,title=T::message".
type Annotation struct {
	// Level is "error", "warning" or "notice"; GitHubLevel maps a severity to it.
	Level string
	// File is the path as given ("" or "-" for none: the annotation belongs to the run).
	File string
	// Line and Column are 1-based; 0 leaves them out.
	Line, Column int
	Title        string
	// Message may span lines; WriteGitHub escapes it.
	Message string
}

// GitHubLevel maps a severity to the workflow command that shows it: error, warning or
// notice (info).
func GitHubLevel(severity string) string {
	switch severity {
	case policy.SeverityError:
		return "error"
	case policy.SeverityWarning:
		return "warning"
	default:
		return "notice"
	}
}

// WriteGitHub writes one workflow command per annotation, escaped by GitHub's rules
// (the message: %, CR and LF; property values also : and ,), so that no user text can end
// a command early or start another.
func WriteGitHub(w io.Writer, anns []Annotation) error {
	var b strings.Builder
	for _, a := range anns {
		b.WriteString("::")
		b.WriteString(a.Level)
		var props []string
		if a.File != "" && a.File != "-" {
			props = append(props, "file="+EscapeProperty(filepath.ToSlash(a.File)))
			if a.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", a.Line))
			}
			if a.Column > 0 {
				props = append(props, fmt.Sprintf("col=%d", a.Column))
			}
		}
		if a.Title != "" {
			props = append(props, "title="+EscapeProperty(a.Title))
		}
		if len(props) > 0 {
			b.WriteByte(' ')
			b.WriteString(strings.Join(props, ","))
		}
		b.WriteString("::")
		b.WriteString(EscapeData(a.Message))
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write GitHub annotations: %w", err)
	}
	return nil
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// EscapeData escapes a workflow command's message: % as %25, CR as %0D, LF as %0A.
func EscapeData(s string) string { return dataEscaper.Replace(s) }

// EscapeProperty escapes a workflow command's property value (file, title): like
// EscapeData, and : as %3A, , as %2C.
func EscapeProperty(s string) string { return propertyEscaper.Replace(s) }
