// Package report writes the machine-readable outputs that lint and diff share: SARIF
// 2.1.0 logs for code scanning (WriteSARIF over neutral Rule and Result values). It
// knows nothing of lint findings or diff changes; each converts its own.
//
// Imports: policy (severities). Safe for concurrent use.
package report
