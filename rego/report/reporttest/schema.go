package reporttest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"testing"

	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/stretchr/testify/require"
)

//go:embed sarif-schema-2.1.0.json
var sarifSchema []byte

// ValidateSARIF checks that log is one JSON document valid against the SARIF 2.1.0
// schema (with OPA's json.match_schema) and returns every violation in its error.
func ValidateSARIF(log []byte) error {
	var doc, schema any
	if err := json.Unmarshal(log, &doc); err != nil {
		return fmt.Errorf("the SARIF log is not JSON: %w", err)
	}
	if err := json.Unmarshal(sarifSchema, &schema); err != nil {
		return fmt.Errorf("read the SARIF schema: %w", err)
	}
	rs, err := oparego.New(
		oparego.Query("[ok, errs] := json.match_schema(input.doc, input.schema)"),
		oparego.Input(map[string]any{"doc": doc, "schema": schema}),
	).Eval(context.Background())
	if err != nil {
		return fmt.Errorf("match the SARIF schema: %w", err)
	}
	if len(rs) != 1 {
		return fmt.Errorf("match the SARIF schema: %d results", len(rs))
	}
	if ok, _ := rs[0].Bindings["ok"].(bool); !ok {
		return fmt.Errorf("the SARIF log does not match the SARIF 2.1.0 schema: %v", rs[0].Bindings["errs"])
	}
	return nil
}

// RequireValidSARIF fails t unless log is valid SARIF 2.1.0 (see ValidateSARIF).
func RequireValidSARIF(t *testing.T, log []byte) {
	t.Helper()
	require.NoError(t, ValidateSARIF(log))
}
