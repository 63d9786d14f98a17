// Package lint checks IAM policy documents: stable codes, a severity, an exact place
// (file, line, column, JSON pointer), a message and a fix. The rules are Rego modules in
// this folder (package imsguard.lint, one module per concern, each code described by a
// METADATA annotation on its rule), run by the embedded OPA engine over an input the Go
// side builds once per document (input.go, input_action.go, input_parts.go: the lint
// input, the document's elements with their measurements and IMS facts from the catalog);
// custom rules from --rules folders join them.
//
// Files: linter.go (New, Lint), config.go and apply.go (the [lint] table: profiles,
// severity overrides, disabled codes, suppressions), report.go and sarif.go (a run's
// report as text, JSON, SARIF), custom.go (user rules), catalog.go (catalog facts),
// metadata.go (the codes' METADATA annotations), gate.go (module gates for the rule
// index), measure.go (size limits), eval.go, decode.go, cache.go, embed.go.
//
// Tests: the rules are tested from Go on real inputs. <module>_test.go holds the case
// table of <module>.rego (rulecase_test.go runs them: each document is linted by the real
// Linter, and a case that expects no finding must arm a rule of its code, i.e. have the
// fact its guard tests); the *_test.rego files test only functions that take no lint
// input. Golden files (testdata/lint), FuzzLint and BenchmarkLint cover whole runs.
//
// Imports: actions, policy, rego/opa, rego/report and OPA. A Linter is safe for
// concurrent use.
package lint
