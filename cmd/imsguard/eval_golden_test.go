package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/eval/golden")

// TestEvalGolden checks eval's explained output for realistic requests against
// testdata/eval/golden/NAME.golden (refresh with go test ./cmd/imsguard -run
// TestEvalGolden -update). It runs from the repository root so paths read as in the
// README; g:CurrentTime is pinned wherever a time condition is shown.
func TestEvalGolden(t *testing.T) {
	const (
		dev   = "testdata/eval/policies/dev.json"
		image = "/v2/images/7f2d3c1e-5b6a-4c8d-9e0f-123456789abc"
		now   = "g:CurrentTime=2029-06-01T09:30:00Z"
	)
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"dev-get-from-the-internet", []string{"--policy", dev, "--method", "GET", "--url", image, "--context", "g:SourceIp=203.0.113.9"}, 1},
		{"dev-get-from-the-office", []string{"--policy", dev, "--method", "GET", "--url", image, "--context", "g:SourceIp=10.1.2.3"}, 0},
		{"dev-update-without-mfa", []string{"--policy", dev, "--method", "PATCH", "--url", image, "--context", now,
			"--context", "g:MFAPresent=false", "--context", "g:ProjectName=ae-ad-1_dev"}, 1},
		{"dev-update-outside-dev", []string{"--policy", dev, "--method", "PATCH", "--url", image, "--context", now,
			"--context", "g:MFAPresent=true", "--context", "g:ProjectName=ae-ad-1"}, 1},
		{"obs-bucket", []string{"--input", "testdata/eval/obs-bucket.json"}, 1},
		{"obs-other-bucket", []string{"--input", "testdata/eval/obs-bucket.json", "--resource", "obs:ae-ad-1:0a1b2c3d4e5f:bucket:build-cache"}, 0},
		{"scoped-bob", []string{"--input", "testdata/eval/scoped.json", "--context", "g:UserName=bob"}, 1},
		{"typo", []string{"--policy", "testdata/policies/ims-readonly.json", "--action", "ims:images:lst"}, 1},
		{"lenient", []string{"--policy", "testdata/eval/lenient.json", "--lenient", "--action", "ims:images:delete", "--context", "g:UserName=alice"}, 1},
		{"dev-get-from-the-internet.json", []string{"--format", "json", "--policy", dev, "--method", "GET", "--url", image, "--context", "g:SourceIp=203.0.113.9"}, 1},
	}
	t.Chdir(filepath.Join("..", ".."))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, "", append([]string{"eval"}, tc.args...)...)
			require.Equal(t, tc.code, code, "stderr: %s", stderr)
			golden := filepath.Join("testdata", "eval", "golden", tc.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file; run go test ./cmd/imsguard -run TestEvalGolden -update")
			assert.Equal(t, string(want), out)
		})
	}
}
