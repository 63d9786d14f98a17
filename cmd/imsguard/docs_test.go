package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The documentation's console examples are tests: TestDocsExamples runs every ```console
// block of README.md and docs/*.md with the real binary and compares what it prints with
// what the block shows, so a change that breaks an example fails.
//
// In a block, a line starting with "$ " is a command (continued on the next line when it
// ends with \); the lines up to the next command are its output, standard output and
// standard error together. An output line that is only "..." or "…" stands for any number
// of lines (an excerpt). The commands of a block run in one bash, so `echo $?` sees the
// previous command's status.
//
// Each document runs in a fresh folder holding bin/imsguard (also on PATH, as imsguard),
// a copy of testdata/, the files of testdata/docs/<document>/ (README.md:
// testdata/docs/README/) and the folders docsCopies names. Directives in an HTML comment on the line before a block (not
// shown on GitHub):
//
//	<!-- file: PATH -->          the next block (of any language) is the content of PATH
//	                            from there on: the document shows its own fixture
//	<!-- not run: REASON -->     the next console block is not run, for the reason given
//
// Only what truly varies is normalised: loopback ports, validate's digest (it changes
// with every edit of the example files) and this binary's version.

// docsMaxNotRun bounds the skipped blocks: a block that is not run must say why, and there
// are few.
const docsMaxNotRun = 3

func TestDocsExamples(t *testing.T) {
	root := filepath.Join("..", "..")
	docs := []string{filepath.Join(root, "README.md")}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	docs = append(docs, more...)
	ver, _, code := runBinary(t, "", "--version")
	require.Equal(t, 0, code)
	version := strings.TrimSpace(strings.TrimPrefix(ver, "imsguard "))
	notRun, ran := 0, 0
	for _, doc := range docs {
		name := strings.TrimSuffix(filepath.Base(doc), ".md")
		t.Run(filepath.Base(doc), func(t *testing.T) {
			blocks := parseDocBlocks(t, doc)
			work := docsFixture(t, root, name)
			for _, b := range blocks {
				switch {
				case b.file != "":
					writeFile(t, work, filepath.FromSlash(b.file), b.body, 0o644)
				case b.lang != "console":
				case b.notRun != "":
					notRun++
				default:
					ran++
					t.Run(fmt.Sprintf("line %d", b.line), func(t *testing.T) {
						runDocBlock(t, work, doc, b, version)
					})
				}
			}
		})
	}
	require.LessOrEqual(t, notRun, docsMaxNotRun, "keep skipped examples rare")
	require.Greater(t, ran, 15, "the console examples were found and run")
}

// docBlock is one fenced block of a document.
type docBlock struct {
	line   int // of the opening fence
	lang   string
	body   string
	file   string // <!-- file: PATH -->
	notRun string // <!-- not run: REASON -->
}

var (
	fileDirective   = regexp.MustCompile(`^<!-- file: (\S+) -->$`)
	notRunDirective = regexp.MustCompile(`^<!-- not run: (.+) -->$`)
)

func parseDocBlocks(t *testing.T, doc string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(doc)
	require.NoError(t, err)
	var out []docBlock
	var cur *docBlock
	var body []string
	prev := ""
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur != nil {
			if strings.TrimSpace(line) == "```" {
				cur.body = strings.Join(body, "\n") + "\n"
				out = append(out, *cur)
				cur, body = nil, nil
			} else {
				body = append(body, line)
			}
			prev = line
			continue
		}
		if lang, ok := strings.CutPrefix(line, "```"); ok {
			cur = &docBlock{line: n, lang: strings.TrimSpace(lang)}
			if m := fileDirective.FindStringSubmatch(strings.TrimSpace(prev)); m != nil {
				cur.file = m[1]
			}
			if m := notRunDirective.FindStringSubmatch(strings.TrimSpace(prev)); m != nil {
				cur.notRun = m[1]
			}
		}
		prev = line
	}
	require.Nil(t, cur, "%s: a block is not closed", doc)
	return out
}

// docsFixture builds the folder a document's examples run in.
func docsFixture(t *testing.T, root, name string) string {
	t.Helper()
	work := t.TempDir()
	bin := filepath.Join(work, "bin", "imsguard")
	data, err := os.ReadFile(binPath)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(bin), 0o755))
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	copyTree(t, filepath.Join(root, "testdata"), filepath.Join(work, "testdata"), filepath.Join(root, "testdata", "docs"))
	if extra := filepath.Join(root, "testdata", "docs", name); dirExists(extra) {
		copyTree(t, extra, work, "")
	}
	for _, c := range docsCopies[name] {
		copyTree(t, filepath.Join(root, filepath.FromSlash(c[0])), filepath.Join(work, c[1]), "")
	}
	return work
}

// docsCopies are fixtures a document shares with other tests: testdata folders copied to
// the document's folder (source, destination).
var docsCopies = map[string][][2]string{
	// docs/diff.md shows the example of the golden files under testdata/diff/widen
	"diff": {{"testdata/diff/widen/old", "old"}, {"testdata/diff/widen/new", "new"}},
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// copyTree copies the regular files below src to dst, leaving out the folder skip.
func copyTree(t *testing.T, src, dst, skip string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && skip != "" && p == skip {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, info.Mode().Perm())
	}))
}

// docCommand is one command of a console block with the output the document shows.
type docCommand struct {
	cmd  string
	want []string
}

func parseConsole(body string) []docCommand {
	var out []docCommand
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		cmd, ok := strings.CutPrefix(lines[i], "$ ")
		if !ok {
			if len(out) > 0 {
				out[len(out)-1].want = append(out[len(out)-1].want, lines[i])
			}
			continue
		}
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			cmd += "\n" + lines[i]
		}
		out = append(out, docCommand{cmd: cmd})
	}
	return out
}

// docMarker separates the outputs of a block's commands.
const docMarker = "@@imsguard-docs-test@@"

func runDocBlock(t *testing.T, work, doc string, b docBlock, version string) {
	cmds := parseConsole(b.body)
	require.NotEmpty(t, cmds, "%s:%d: a console block without a $ command", doc, b.line)
	var script strings.Builder
	script.WriteString("exec 2>&1\n")
	for i, c := range cmds {
		if i > 0 {
			fmt.Fprintf(&script, "__status=$?; printf '\\n%s\\n'; (exit $__status)\n", docMarker)
		}
		script.WriteString(c.cmd + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = work
	sh.Env = append(os.Environ(), "PATH="+filepath.Join(work, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+work, "NO_COLOR=1")
	out, _ := sh.Output()
	require.NoError(t, ctx.Err(), "%s:%d: the block did not finish", doc, b.line)
	parts := strings.Split(string(out), "\n"+docMarker+"\n")
	require.Len(t, parts, len(cmds), "%s:%d: output of %d commands", doc, b.line, len(cmds))
	for i, c := range cmds {
		got := normaliseDocOutput(parts[i], work, version)
		want := normaliseDocOutput(strings.Join(c.want, "\n"), "", "")
		if !matchDocLines(splitDocLines(want), splitDocLines(got)) {
			t.Errorf("%s:%d: $ %s\n--- the document shows:\n%s\n--- the command printed:\n%s", doc, b.line, c.cmd, want, got)
		}
	}
}

var (
	loopbackPort = regexp.MustCompile(`127\.0\.0\.1:\d{2,5}\b`)
	// configDigest is validate's digest of the files it read: it changes with every edit
	// of the example files, which the documentation should not have to follow.
	configDigest = regexp.MustCompile(`(files?, digest )[0-9a-f]{16}\)`)
)

// normaliseDocOutput replaces what truly varies between runs: loopback ports, validate's
// digest (it changes with every edit of the example files), the version of this binary (shown as v0.1.0) and the
// example folder (shown as /home/user/repo).
func normaliseDocOutput(s, work, version string) string {
	s = loopbackPort.ReplaceAllString(s, "127.0.0.1:PORT")
	s = configDigest.ReplaceAllString(s, "${1}DIGEST)")
	if work != "" {
		s = strings.ReplaceAll(s, work, "/home/user/repo")
	}
	if version != "" {
		s = strings.ReplaceAll(s, `"version": "`+version+`"`, `"version": "v0.1.0"`)
		s = strings.ReplaceAll(s, "imsguard "+version+"\n", "imsguard v0.1.0\n")
	}
	return s
}

func splitDocLines(s string) []string {
	lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

// matchDocLines reports whether got matches want, where a want line "..." or "…" matches
// any run of lines (none included).
func matchDocLines(want, got []string) bool {
	// ok[i][j]: want[i:] matches got[j:]
	ok := make([][]bool, len(want)+1)
	for i := range ok {
		ok[i] = make([]bool, len(got)+1)
	}
	ok[len(want)][len(got)] = true
	for i := len(want) - 1; i >= 0; i-- {
		wild := strings.TrimSpace(want[i]) == "..." || strings.TrimSpace(want[i]) == "…"
		for j := len(got); j >= 0; j-- {
			switch {
			case wild:
				ok[i][j] = ok[i+1][j] || (j < len(got) && ok[i][j+1])
			case j < len(got):
				ok[i][j] = want[i] == got[j] && ok[i+1][j+1]
			}
		}
	}
	return ok[0][0]
}

func TestMatchDocLines(t *testing.T) {
	cases := []struct {
		want, got string
		ok        bool
	}{
		{"a\nb", "a\nb", true},
		{"a\n...\nd", "a\nb\nc\nd", true},
		{"a\n...\nd", "a\nd", true},
		{"  ...\nd", "x\nd", true},
		{"a\n…", "a\nb\nc", true},
		{"a\nb", "a\nc", false},
		{"a\n...\nd", "a\nb\nc", false},
		{"a", "a\nb", false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.ok, matchDocLines(splitDocLines(tc.want), splitDocLines(tc.got)), "%q vs %q", tc.want, tc.got)
	}
}
