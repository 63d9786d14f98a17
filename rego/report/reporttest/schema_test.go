package reporttest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidateSARIF: the schema check accepts a minimal log and catches what code
// scanning would refuse, so a passing check means something.
func TestValidateSARIF(t *testing.T) {
	run := `{"tool": {"driver": {"name": "imsguard"}}, "results": [{"ruleId": "X", "level": %s, "message": {"text": "m"}}]}`
	ok := `{"version": "2.1.0", "runs": [` + fmt.Sprintf(run, `"error"`) + `]}`
	require.NoError(t, ValidateSARIF([]byte(ok)))
	for name, bad := range map[string]string{
		"not JSON":            `{"version": "2.1.0",`,
		"wrong version":       `{"version": "2.0.0", "runs": []}`,
		"unknown level":       `{"version": "2.1.0", "runs": [` + fmt.Sprintf(run, `"fatal"`) + `]}`,
		"unknown column":      `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "columnKind": "bytes"}]}`,
		"no driver name":      `{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}`,
		"fix without changes": `{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "fixes": [{"description": {"text": "d"}}]}]}]}`,
	} {
		assert.Error(t, ValidateSARIF([]byte(bad)), name)
	}
}
