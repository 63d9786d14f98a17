package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestE2EEvalReadme runs every `./bin/imsguard eval` example of the README's eval section
// with the real binary from the repository root and requires the output (and exit
// status, where the example echoes it) printed there.
func TestE2EEvalReadme(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## Decide: `imsguard eval`")
	require.True(t, ok, "README has an eval section")
	_, block, ok := strings.Cut(section, "```console\n")
	require.True(t, ok)
	block, _, _ = strings.Cut(block, "```")
	examples := strings.Split("\n"+block, "\n$ ")[1:]
	require.GreaterOrEqual(t, len(examples), 4)
	for _, ex := range examples {
		lines := strings.Split(ex, "\n")
		cmd := ""
		for len(lines) > 0 {
			l := lines[0]
			lines = lines[1:]
			cont := strings.HasSuffix(l, `\`)
			cmd += strings.TrimSuffix(l, `\`)
			if !cont {
				break
			}
		}
		want := strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
		wantCode := -1
		if c, ok := strings.CutSuffix(cmd, `; echo "exit $?"`); ok {
			cmd = c
			i := strings.LastIndex(strings.TrimRight(want, "\n"), "\n")
			wantCode, err = strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(want[i+1:]), "exit "))
			require.NoError(t, err, "exit line of %q", cmd)
			want = want[:i+1]
		}
		args := strings.Fields(cmd)
		require.Equal(t, "./bin/imsguard", args[0], cmd)
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			out, stderr, code := runIn(t, root, args[1:]...)
			assert.Equal(t, want, out)
			assert.Empty(t, stderr)
			if wantCode >= 0 {
				assert.Equal(t, wantCode, code)
			}
		})
	}
}

// TestE2EEval drives the binary with input files as a person writes them: saved with a
// byte-order mark, a policy path beside the file, an OBS resource; a duplicate key; a
// mistyped action.
func TestE2EEval(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"policies/obs.json": `{"Version": "1.1", "Statement": [
  {"Effect": "Allow", "Action": ["obs:*:*"]},
  {"Effect": "Deny", "Action": ["obs:object:DeleteObject"], "Resource": ["obs:*:*:object:audit-logs/*"]}]}`,
		"requests/delete.json": "\xEF\xBB\xBF" + `{
  "attachments": [{"policy": "../policies/obs.json", "scope": "global"}],
  "request": {"action": "obs:object:DeleteObject", "project": "global",
              "resource": "obs:ae-ad-1:0a1b2c3d4e5f:object:audit-logs/2024/06/01-0001"}
}`,
		"requests/dup.json": `{
  "attachments": [{"policy": "../policies/obs.json"}],
  "request": {"action": "obs:object:DeleteObject",
    "resource": "obs:ae-ad-1:0a1b2c3d4e5f:object:audit-logs/x", "resource": "obs:ae-ad-1:0a1b2c3d4e5f:object:tmp/x"}
}`,
		"requests/typo.json": `{"attachments": [{"policy": {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:list"]}]}}],
 "request": {"action": "ims:images:lst", "project": "ae-ad-1"}}`,
	})

	out, stderr, code := runIn(t, dir, "eval", "--input", "requests/delete.json")
	require.Equal(t, 1, code, stderr)
	assert.Contains(t, out, "Decision                   ExplicitDeny\n")
	assert.Contains(t, out, "Matched                    policies/obs.json statement 1 (Deny obs:object:DeleteObject): resource obs:*:*:object:audit-logs/* matches obs:ae-ad-1:0a1b2c3d4e5f:object:audit-logs/2024/06/01-0001\n")

	out, stderr, code = runIn(t, dir, "eval", "--input", "requests/delete.json", "--resource", "obs:ae-ad-1:0a1b2c3d4e5f:object:build-cache/x")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "statement 1 (Deny obs:object:DeleteObject): resource obs:*:*:object:audit-logs/* does not match obs:ae-ad-1:0a1b2c3d4e5f:object:build-cache/x\n")

	out, stderr, code = runIn(t, dir, "eval", "--input", "requests/dup.json")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, `imsguard: invalid eval input: requests/dup.json:4:65: duplicate key "resource" (first defined at 4:5); remove one of them, JSON readers disagree on which one wins (E-JSON-DUPKEY)`+"\n", stderr)

	out, stderr, code = runIn(t, dir, "eval", "--input", "requests/typo.json", "--format", "json")
	require.Equal(t, 1, code, stderr)
	var o struct {
		Decision   string
		Notes      []string
		Statements []json.RawMessage
	}
	require.NoError(t, json.Unmarshal([]byte(out), &o), out)
	assert.Equal(t, "ImplicitDeny", o.Decision)
	assert.Equal(t, []string{"ims:images:lst is not an action of the IMS catalog; did you mean ims:images:list?"}, o.Notes)
	assert.NotNil(t, o.Statements)

	out, _, code = runIn(t, dir, "eval", "--help")
	require.Equal(t, 0, code)
	for _, s := range []string{`"resource": "obs:ae-ad-1:ACCOUNT:bucket:audit-logs"`, "--resource", "Matched", "Skipped", "did-you-mean", "Exit status: 0 Allow, 1 ExplicitDeny or ImplicitDeny, 2 input errors"} {
		assert.Contains(t, out, s)
	}
}
