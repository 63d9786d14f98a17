package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/imsguard/imsguard/rego/report/reporttest"
)

// actionFile is the composite GitHub Action at the repository root, as far as the tests
// read it.
type actionFile struct {
	Name        string
	Description string
	Author      string
	Branding    struct{ Icon, Color string }
	Inputs      map[string]struct {
		Description string
		Required    bool
		Default     *string
	}
	Outputs map[string]struct{ Description, Value string }
	Runs    struct {
		Using string
		Steps []struct {
			Name             string
			ID               string
			If               string
			Uses             string
			Shell            string
			Run              string
			WorkingDirectory string `yaml:"working-directory"`
			With             map[string]string
			Env              map[string]string
		}
	}
}

// TestActionYAML checks the structure of action.yml (GitHub itself cannot run here): its
// inputs, that it builds imsguard from the action's own ref with go build, runs
// action/run.sh with the inputs passed as environment variables only (never spliced into a
// script), and uploads SARIF after a failing step too.
func TestActionYAML(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	require.NoError(t, err)
	var a actionFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&a), "action.yml has only the keys this test knows")
	assert.Equal(t, "imsguard", a.Name)
	assert.NotEmpty(t, a.Description)
	assert.Equal(t, "composite", a.Runs.Using)

	defaults := map[string]string{"command": "lint", "paths": "policies", "base-ref": "", "fail-on": "", "sarif": "true", "sarif-file": "imsguard.sarif", "args": ""}
	require.Len(t, a.Inputs, len(defaults))
	for name, def := range defaults {
		in, ok := a.Inputs[name]
		if assert.True(t, ok, "input %s", name) {
			assert.NotEmpty(t, in.Description, name)
			assert.False(t, in.Required, "%s has a default", name)
			if assert.NotNil(t, in.Default, name) {
				assert.Equal(t, def, *in.Default, name)
			}
		}
	}
	assert.Contains(t, a.Outputs["sarif-file"].Value, "steps.imsguard.outputs.sarif-file")

	steps := a.Runs.Steps
	require.Len(t, steps, 4)
	assert.True(t, strings.HasPrefix(steps[0].Uses, "actions/setup-go@"), steps[0].Uses)
	assert.Equal(t, "${{ github.action_path }}/go.mod", steps[0].With["go-version-file"])

	build := steps[1]
	assert.Equal(t, "${{ github.action_path }}", build.WorkingDirectory, "built from the action's own ref")
	assert.Contains(t, build.Run, "go build -o \"$RUNNER_TEMP/imsguard-bin/imsguard\" ./cmd/imsguard")
	assert.Contains(t, build.Run, ">>\"$GITHUB_PATH\"")
	assert.Contains(t, build.Run, "imsguard\" version", "the log shows what ran")

	run := steps[2]
	assert.Equal(t, "imsguard", run.ID)
	assert.Contains(t, run.Run, "\"$GITHUB_ACTION_PATH/action/run.sh\"")
	for name := range defaults {
		env := "IMSGUARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		assert.Equal(t, "${{ inputs."+name+" }}", run.Env[env], "input %s reaches the script as %s", name, env)
	}

	upload := steps[3]
	assert.True(t, strings.HasPrefix(upload.Uses, "github/codeql-action/upload-sarif@"), upload.Uses)
	assert.Contains(t, upload.If, "always()", "uploaded when the gate fails too")
	assert.Contains(t, upload.If, "inputs.sarif == 'true'")
	assert.Equal(t, "${{ inputs.sarif-file }}", upload.With["sarif_file"])
	assert.Equal(t, "imsguard-${{ inputs.command }}", upload.With["category"], "lint and diff uploads do not replace each other")

	for _, s := range steps {
		if s.Run != "" {
			assert.Equal(t, "bash", s.Shell, "%s: composite run steps need a shell", s.Name)
			assert.NotContains(t, s.Run, "${{", "%s: expressions go through env, not into the script", s.Name)
		}
	}
	info, err := os.Stat(filepath.Join("..", "..", "action", "run.sh"))
	require.NoError(t, err)
	assert.NotZero(t, info.Mode()&0o111, "action/run.sh is executable")
}

// TestPreCommitHooks checks .pre-commit-hooks.yaml: one hook that builds the Go module
// (language golang) and lints the staged JSON files.
func TestPreCommitHooks(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".pre-commit-hooks.yaml"))
	require.NoError(t, err)
	var hooks []struct {
		ID, Name, Description, Entry, Language, Files string
		Types                                         []string
	}
	require.NoError(t, yaml.Unmarshal(data, &hooks))
	require.Len(t, hooks, 1)
	h := hooks[0]
	assert.Equal(t, "imsguard-lint", h.ID)
	assert.Equal(t, "golang", h.Language)
	assert.Equal(t, "imsguard lint", h.Entry)
	assert.Equal(t, []string{"json"}, h.Types)
}

// git runs git in dir.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=imsguard test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return string(out)
}

// runAction runs action/run.sh in dir as the action's step would, with the built binary on
// PATH and env (IMSGUARD_*, GITHUB_BASE_REF) set.
func runAction(t *testing.T, dir string, env ...string) (string, int) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "action", "run.sh"))
	require.NoError(t, err)
	cmd := exec.Command("bash", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"), "RUNNER_TEMP="+t.TempDir(),
		"IMSGUARD_COMMAND=", "IMSGUARD_PATHS=", "IMSGUARD_BASE_REF=", "IMSGUARD_FAIL_ON=", "IMSGUARD_SARIF=", "IMSGUARD_SARIF_FILE=", "IMSGUARD_ARGS=", "GITHUB_BASE_REF=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return string(out), code
}

// TestActionScript runs the action's step (action/run.sh) on a pull request checked out
// as actions/checkout does by default: one commit of one branch. lint annotates and
// writes SARIF; diff fetches the base branch itself and stops the widening.
func TestActionScript(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed to test the action's diff step")
	}
	origin := t.TempDir()
	git(t, origin, "init", "-q")
	readonly := `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]}]}`
	require.NoError(t, os.MkdirAll(filepath.Join(origin, "policies"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(origin, "policies", "readers.json"), []byte(readonly), 0o644))
	git(t, origin, "add", ".")
	git(t, origin, "commit", "-q", "-m", "readers")
	git(t, origin, "checkout", "-q", "-b", "feature")
	widened := `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ims:image:delete", "ims:images:share"]}]}`
	require.NoError(t, os.WriteFile(filepath.Join(origin, "policies", "readers.json"), []byte(widened), 0o644))
	git(t, origin, "commit", "-q", "-am", "readers may share")

	work := filepath.Join(t.TempDir(), "checkout")
	git(t, filepath.Dir(work), "clone", "-q", "--depth=1", "--single-branch", "--branch", "feature", "file://"+origin, work)
	assert.NotContains(t, git(t, work, "branch", "-a"), "main", "the checkout has only the pull request's branch")

	t.Run("lint", func(t *testing.T) {
		out, code := runAction(t, work, "IMSGUARD_COMMAND=lint")
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "::error file=policies/readers.json,line=1,col=102,title=E-ACTION-UNREGISTERED::")
		data, err := os.ReadFile(filepath.Join(work, "imsguard.sarif"))
		require.NoError(t, err)
		reporttest.RequireValidSARIF(t, data)
		assert.Contains(t, string(data), `"uri": "policies/readers.json"`)

		out, code = runAction(t, work, "IMSGUARD_FAIL_ON=none", "IMSGUARD_SARIF=false", "IMSGUARD_SARIF_FILE=none.sarif")
		assert.Equal(t, 0, code, out)
		assert.NoFileExists(t, filepath.Join(work, "none.sarif"))
	})
	t.Run("diff against the base branch", func(t *testing.T) {
		out, code := runAction(t, work, "IMSGUARD_COMMAND=diff", "GITHUB_BASE_REF=main", "IMSGUARD_SARIF_FILE=diff.sarif")
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "::error file=policies/readers.json,line=1,col=34,title=imsguard diff%3A widen::")
		data, err := os.ReadFile(filepath.Join(work, "diff.sarif"))
		require.NoError(t, err)
		reporttest.RequireValidSARIF(t, data)
		assert.Contains(t, string(data), `"ruleId": "E-DIFF-WIDEN"`)
		assert.NotContains(t, git(t, work, "worktree", "list"), "imsguard-base", "the base checkout is removed")

		out, code = runAction(t, work, "IMSGUARD_COMMAND=diff", "IMSGUARD_BASE_REF=feature", "IMSGUARD_FAIL_ON=widen", "IMSGUARD_SARIF=false")
		assert.Equal(t, 0, code, "no change: %s", out)
		out, code = runAction(t, work, "IMSGUARD_COMMAND=diff", "GITHUB_BASE_REF=main", "IMSGUARD_FAIL_ON=none", "IMSGUARD_SARIF=false")
		assert.Equal(t, 0, code, "fail-on none reports without failing: %s", out)
		assert.Contains(t, out, "title=imsguard diff%3A widen")
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, env := range [][]string{
			{"IMSGUARD_COMMAND=explain"},
			{"IMSGUARD_COMMAND=diff"},
			{"IMSGUARD_COMMAND=diff", "GITHUB_BASE_REF=main", "IMSGUARD_PATHS=a b"},
			{"IMSGUARD_COMMAND=diff", "GITHUB_BASE_REF=main", "IMSGUARD_FAIL_ON=error"},
			{"IMSGUARD_COMMAND=diff", "GITHUB_BASE_REF=no-such-branch"},
			{"IMSGUARD_SARIF=yes"},
		} {
			out, code := runAction(t, work, env...)
			assert.Equal(t, 2, code, "%v: %s", env, out)
			assert.Contains(t, out, "::error title=imsguard action::", env)
		}
	})
}
