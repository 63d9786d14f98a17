// Package reporttest checks the machine-readable outputs of rego/report in Go tests: a
// SARIF log against the SARIF 2.1.0 JSON schema (sarif-schema-2.1.0.json, the schema the
// npm package @microsoft/jest-sarif 1.0.0-beta.0 ships, MIT; schemastore's
// sarif-2.1.0-rtm.5). It imports testing: only _test.go files import it.
package reporttest
