package opa

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBatchGCAppliesAndRestores(t *testing.T) {
	unsetEnv(t, "GOGC")
	unsetEnv(t, "GOMEMLIMIT")
	prevPct := debug.SetGCPercent(123)
	prevLim := debug.SetMemoryLimit(1 << 40)
	defer debug.SetGCPercent(prevPct)
	defer debug.SetMemoryLimit(prevLim)

	restore := BatchGC()
	assert.Equal(t, BatchGCPercent, debug.SetGCPercent(BatchGCPercent))
	assert.Equal(t, int64(BatchMemoryLimit), debug.SetMemoryLimit(-1))
	restore()
	assert.Equal(t, 123, debug.SetGCPercent(123))
	assert.Equal(t, int64(1<<40), debug.SetMemoryLimit(-1))
}

func TestBatchGCLeavesEnvironmentSettings(t *testing.T) {
	t.Setenv("GOGC", "50")
	t.Setenv("GOMEMLIMIT", "1GiB")
	prevPct := debug.SetGCPercent(77)
	prevLim := debug.SetMemoryLimit(3 << 30)
	defer debug.SetGCPercent(prevPct)
	defer debug.SetMemoryLimit(prevLim)

	defer BatchGC()()
	assert.Equal(t, 77, debug.SetGCPercent(77), "GOGC in the environment wins")
	assert.Equal(t, int64(3<<30), debug.SetMemoryLimit(-1), "GOMEMLIMIT in the environment wins")
}

// unsetEnv removes an environment variable for the duration of the test (t.Setenv first,
// so that it is restored afterwards).
func unsetEnv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}
