// Package opa is imsguard's plumbing around the embedded OPA engine, shared by every
// package under rego/: parsing embedded .rego files, compiling modules once and building
// prepared queries over the compiled result (prepare once, evaluate many), evaluating a
// query to an AST term (EvalTerm, cancelled through context.AfterFunc instead of OPA's
// goroutine per evaluation; EvalShortTerm for short, bounded queries), the
// garbage-collector settings of batch commands (BatchGC), and running *_test.rego unit
// tests with OPA's own tester (RunTests; opatest wraps it for Go tests).
//
// Imports: OPA only. It knows nothing of IMS, policies or findings; OPA types it returns
// stay inside rego/.
package opa
