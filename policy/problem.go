package policy

import "fmt"

// Problem codes reported by this package.
const (
	// CodeJSON is the code of every JSON syntax problem: malformed input,
	// invalid UTF-8, nesting too deep, more than one value, a root that is
	// not an object.
	CodeJSON = "E-JSON"
	// CodeJSONDupKey is the code of a key that occurs twice in one object.
	CodeJSONDupKey = "E-JSON-DUPKEY"
)

// Severities of a [Problem].
const (
	// SeverityError marks a problem that makes IAM reject the document.
	SeverityError = "error"
	// SeverityWarning marks a suspicious but accepted construct.
	SeverityWarning = "warning"
	// SeverityInfo marks a purely informational finding.
	SeverityInfo = "info"
)

// Problem is one finding about a document: a stable code, a severity
// ("error", "warning" or "info"), a message that says what is wrong and how
// to fix it, and the location as a position and a JSON pointer from the file
// root.
type Problem struct {
	Code     string // stable code, e.g. "E-JSON"
	Severity string // SeverityError, SeverityWarning or SeverityInfo
	Message  string // lower case; what is wrong and how to fix it
	Pos      Pos    // where in the file
	Pointer  string // RFC 6901 pointer from the file root
}

// String formats p as "line:col: code: message".
func (p Problem) String() string {
	return fmt.Sprintf("%s: %s: %s", p.Pos, p.Code, p.Message)
}
