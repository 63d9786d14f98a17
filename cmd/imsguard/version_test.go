package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildVersion(t *testing.T) {
	setting := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	main := func(v string) debug.Module { return debug.Module{Path: modulePath, Version: v} }
	cases := []struct {
		name  string
		bi    debug.BuildInfo
		short string
		lines []string
	}{
		{"go install @tag", debug.BuildInfo{GoVersion: "go1.26.8", Main: main("v0.1.0")}, "v0.1.0",
			[]string{"imsguard v0.1.0", "module    github.com/imsguard/imsguard v0.1.0", "revision  unknown"}},
		{"checkout, dirty: the pseudo-version names the revision", debug.BuildInfo{GoVersion: "go1.26.8", Main: main("v0.0.0-20261130135045-17a09cd683f5+dirty"),
			Settings: setting("vcs.revision", "17a09cd683f5a1eac1d43716a61172a65f25a880", "vcs.time", "2026-11-30T13:50:45Z", "vcs.modified", "true")},
			"v0.0.0-20261130135045-17a09cd683f5+dirty",
			[]string{"revision  17a09cd683f5a1eac1d43716a61172a65f25a880 (2026-11-30T13:50:45Z), modified (uncommitted changes)"}},
		{"devel with a revision", debug.BuildInfo{GoVersion: "go1.26.8", Main: main("(devel)"),
			Settings: setting("vcs.revision", "17a09cd683f5a1eac1d43716a61172a65f25a880", "vcs.modified", "false")},
			"(devel) rev 17a09cd683f5", []string{"revision  17a09cd683f5a1eac1d43716a61172a65f25a880\n"}},
		{"devel, clean build info", debug.BuildInfo{GoVersion: "go1.26.8", Main: main("")}, "(devel)", []string{"go        go1.26.8 "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := buildVersionOf(&tc.bi)
			assert.Equal(t, tc.short, v.short())
			var b bytes.Buffer
			require.NoError(t, v.write(&b))
			for _, l := range tc.lines {
				assert.Contains(t, b.String(), l)
			}
		})
	}
}

// TestE2EVersion: the real binary reports the module version and revision go recorded
// in it (go version -m), through `imsguard version` and `--version` alike.
func TestE2EVersion(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", binPath).Output()
	require.NoError(t, err)
	mod := regexp.MustCompile(`(?m)^\tmod\t` + regexp.QuoteMeta(modulePath) + `\t(\S+)`).FindStringSubmatch(string(out))
	require.NotNil(t, mod, "go version -m: %s", out)
	rev := regexp.MustCompile(`(?m)^\tbuild\tvcs\.revision=(\S+)`).FindStringSubmatch(string(out))

	got, stderr, code := runBinary(t, "", "version")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, got, "module    "+modulePath+" "+mod[1]+"\n")
	if rev != nil {
		assert.Contains(t, got, "revision  "+rev[1])
	} else {
		assert.Contains(t, got, "revision  unknown")
	}
	first := strings.SplitN(got, "\n", 2)[0]
	for _, flag := range []string{"--version", "-v"} {
		short, _, code := runBinary(t, "", flag)
		require.Equal(t, 0, code)
		assert.Equal(t, first+"\n", short, "%s prints the first line of imsguard version", flag)
	}
	assert.True(t, strings.HasPrefix(first, "imsguard "+mod[1]), first)
}

// TestHelpTexts: every command's --help has a complete usage line and shows boolean flags
// plainly.
func TestHelpTexts(t *testing.T) {
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		path := strings.Fields(c.CommandPath())[1:]
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	require.Greater(t, len(paths), 10)
	for _, p := range paths {
		t.Run(strings.Join(append([]string{"imsguard"}, p...), " "), func(t *testing.T) {
			out, stderr, code := runCLI(t, "", append(p, "--help")...)
			require.Equal(t, 0, code, stderr)
			assert.NotContains(t, out, "[=true|false]", "boolean flags shown plainly")
			assert.Regexp(t, `(?m)^Usage:\n  imsguard`, out)
			assert.Contains(t, out, "-h, --help ")
		})
	}
}
