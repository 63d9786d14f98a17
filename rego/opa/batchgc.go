package opa

import (
	"os"
	"runtime/debug"
)

// Garbage-collector settings for commands that lint, explain or diff many documents in one
// process. Linting a document allocates about 30 KB of short-lived Rego data and keeps
// almost none of it, while every collection marks the compiled rules and the catalog
// (about 3 MB of pointer-dense AST): with Go's default (GOGC=100) collections cost a third
// of the run. BatchGCPercent lets the heap grow to 17 times the live data between
// collections; BatchMemoryLimit caps that growth (the collector then runs earlier), so a run
// over many large files keeps a bounded heap.
const (
	BatchGCPercent   = 1600
	BatchMemoryLimit = 256 << 20
)

// BatchGC applies BatchGCPercent and BatchMemoryLimit and returns the function that
// restores the previous settings. GOGC or GOMEMLIMIT set in the environment win for their
// own setting.
func BatchGC() func() {
	restore := []func(){}
	if _, set := os.LookupEnv("GOGC"); !set {
		prev := debug.SetGCPercent(BatchGCPercent)
		restore = append(restore, func() { debug.SetGCPercent(prev) })
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		prev := debug.SetMemoryLimit(BatchMemoryLimit)
		restore = append(restore, func() { debug.SetMemoryLimit(prev) })
	}
	return func() {
		for _, f := range restore {
			f()
		}
	}
}
