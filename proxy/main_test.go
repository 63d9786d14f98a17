package proxy

import (
	"os"
	"testing"
)

// TestMain runs the tests, or — with IMSGUARD_SHED_HELPER set — the proxy process that
// TestLoadShed drives from outside (shedHelper).
func TestMain(m *testing.M) {
	if os.Getenv("IMSGUARD_SHED_HELPER") != "" {
		os.Exit(shedHelper())
	}
	os.Exit(m.Run())
}
