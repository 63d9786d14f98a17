package permmap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// artifactDir is where the browser test leaves the page and its screenshots: the folder
// IMSGUARD_TEST_ARTIFACTS names (.ci/run sets one, so CI can keep them), or the test's
// temporary folder, whose path is logged.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("IMSGUARD_TEST_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "permmap")
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

// chromium finds the browser: IMSGUARD_CHROMIUM, or chromium from Debian's packages. The
// test fails without one; only IMSGUARD_SKIP_BROWSER=1 skips it (never set by .ci/run).
func chromium(t *testing.T) string {
	if os.Getenv("IMSGUARD_SKIP_BROWSER") == "1" {
		t.Skip("IMSGUARD_SKIP_BROWSER=1: the permission map is not tested in a browser")
	}
	if p := os.Getenv("IMSGUARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium to test the permission map in: install it (apt-get install chromium; .ci/run does), " +
		"name it with IMSGUARD_CHROMIUM, or set IMSGUARD_SKIP_BROWSER=1 to skip this test locally")
	return ""
}

// TestPermissionMapInBrowser opens the HTML permission map in headless Chromium and uses it
// as a person would: the page renders without a console error or an exception (a blocked
// script or asset would log one), the grid has every IMS API for every row, clicking a cell
// opens its detail with the deciding statement, the filters narrow the grid, and policy text
// that looks like markup is shown, not run. Screenshots are kept (see artifactDir).
func TestPermissionMapInBrowser(t *testing.T) {
	exe := chromium(t)
	m := fixtureMap(t)
	dir := artifactDir(t)
	page := filepath.Join(dir, "report.html")
	var html bytes.Buffer
	require.NoError(t, m.WriteHTML(&html))
	require.NoError(t, os.WriteFile(page, html.Bytes(), 0o644))
	t.Logf("permission map and screenshots in %s", dir)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	// Every console message, exception and browser-log entry of the tab (a script or an
	// asset the Content-Security-Policy blocked is one), from before the page loads.
	cctx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(cctx)
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s %s:%d", m, m.URL, m.Line+1))
				mu.Unlock()
			}
		}
	}()

	do := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...))
	}
	evalInt := func(t *testing.T, js string) int {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		require.NoError(t, err, js)
		return v
	}
	evalAs := func(t *testing.T, js string, out any) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js))
		require.NoError(t, err, js)
		require.NoError(t, json.Unmarshal(v, out), js)
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return v
	}
	shot := func(t *testing.T, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}
	visible := func(selector string) string {
		return fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).filter(e => !e.closest('.hidden')).length`, selector)
	}
	openCell := func(t *testing.T, row int, api string) {
		t.Helper()
		do(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-row="%d"] td[data-api=%q] button`, row, api))),
			chromedp.WaitVisible(chromedp.CSS("#detail[open]")))
	}
	closeDetail := func(t *testing.T) {
		t.Helper()
		do(t, chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.CSS("#detail[open]")))
	}

	do(t, chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.CSS("#grid")))
	shot(t, "permission-map.png")
	assert.Equal(t, 36, evalInt(t, `document.querySelectorAll('#grid thead th.api').length`), "a column per IMS API")
	assert.Equal(t, len(m.Rows), evalInt(t, `document.querySelectorAll('#grid tbody tr').length`))
	assert.Equal(t, 36*len(m.Rows), evalInt(t, `document.querySelectorAll('#grid tbody td.cell button').length`), "a cell per row and API")
	var apiIDs, want []string
	evalAs(t, `Array.from(document.querySelectorAll('#grid thead th.api')).map(th => th.dataset.api)`, &apiIDs)
	for _, a := range m.APIs {
		want = append(want, a.ID)
	}
	assert.Equal(t, want, apiIDs, "every API of the catalog, in catalog order")

	t.Run("a cell opens its detail with the deciding statement", func(t *testing.T) {
		openCell(t, 1, "glance_delete_image")
		title, body := text(t, "#d-title"), text(t, "#d-body")
		shot(t, "permission-map-detail.png")
		closeDetail(t)
		assert.Equal(t, "policies/builder.json · 6.1.5 DELETE /v2/images/{image_id}", title)
		assert.Contains(t, body, "Explicitly denied")
		assert.Contains(t, body, "policies/builder.json:19:9 · statement 2 · Deny")
		assert.Contains(t, body, "ims:images:delete")
		assert.Zero(t, evalInt(t, `document.querySelectorAll('#detail[open]').length`), "Escape closes the detail")
		assert.Equal(t, 1, evalInt(t, `document.activeElement.closest('td[data-api="glance_delete_image"]') ? 1 : 0`), "focus returns to the cell")

		openCell(t, 1, "batch_add_members")
		body = text(t, "#d-body")
		do(t, chromedp.Click(chromedp.CSS("#detail .close button")), chromedp.WaitNotPresent(chromedp.CSS("#detail[open]")))
		assert.Contains(t, body, "Conditional")
		assert.Contains(t, body, "policies/builder.json:14:9 · statement 1 · Allow")
		assert.Contains(t, body, `"g:SourceIp": [`, "the condition, formatted")
		assert.Contains(t, body, "10.0.0.0/8")
	})

	t.Run("hover says status, reason and condition", func(t *testing.T) {
		var tip string
		evalAs(t, `document.querySelector('tr[data-row="1"] td[data-api="batch_add_members"] button').title`, &tip)
		assert.Contains(t, tip, "Conditional: ims:images:share depends on the conditions of policies/builder.json statement 1 (Allow)")
		assert.Contains(t, tip, `Condition {"IpAddress":{"g:SourceIp":["10.0.0.0/8"]}}`)
	})

	t.Run("policy text is shown, never run", func(t *testing.T) {
		openCell(t, 2, "glance_delete_image")
		body := text(t, "#d-body")
		closeDetail(t)
		assert.Contains(t, body, `<img src=x onerror="window.__pwned = 2">|*bold*|`, "the Sid as text")
		assert.Contains(t, body, `</script><script>window.__pwned = 3</script>`, "the condition value as text")
		assert.Zero(t, evalInt(t, `window.__pwned === undefined ? 0 : 1`), "no injected script ran")
		assert.Equal(t, 2, evalInt(t, `document.scripts.length`), "the data block and the page's own script")
		assert.Zero(t, evalInt(t, `document.images.length`), "no injected element")
	})

	t.Run("filters narrow the grid", func(t *testing.T) {
		setSelect := func(id, v string) {
			evalInt(t, fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event('change')); return 1 })()`, id, v))
		}
		clear := func() {
			evalInt(t, `(() => { const i = document.getElementById('f-text'); i.value = ''; i.dispatchEvent(new Event('input')); return 1 })()`)
		}
		cols := func() int { return evalInt(t, visible("#grid thead th.api")) }
		rows := func() int { return evalInt(t, visible("#grid tbody tr")) }

		do(t, chromedp.SendKeys(chromedp.CSS("#f-text"), "5.2."))
		assert.Equal(t, 3, cols(), "5.2.1 to 5.2.3")
		assert.Equal(t, len(m.Rows), rows())
		assert.Equal(t, "3 of 3 rows × 3 of 36 APIs shown", text(t, "#f-count"))

		clear()
		do(t, chromedp.SendKeys(chromedp.CSS("#f-text"), "builder"))
		assert.Equal(t, 36, cols())
		assert.Equal(t, 1, rows(), "a row by its name")

		clear()
		do(t, chromedp.SendKeys(chromedp.CSS("#f-text"), "pipe"))
		assert.Equal(t, 1, cols(), "a cell by the Sid of its deciding statement")
		assert.Equal(t, 1, rows())

		clear()
		setSelect("f-family", "openstack")
		assert.Equal(t, 20, cols(), "the OpenStack native APIs")

		setSelect("f-family", "")
		setSelect("f-status", "explicit-deny")
		var denied []string
		evalAs(t, `Array.from(document.querySelectorAll('#grid tbody tr')).filter(r => !r.classList.contains('hidden')).map(r => r.querySelector('.name').textContent)`, &denied)
		shot(t, "permission-map-filtered.png")
		assert.Equal(t, []string{"policies/builder.json", "policies/hostile.json"}, denied)
		assert.Equal(t, 3, cols(), "6.1.5 and 6.1.7 (builder), 5.1.8 (hostile)")

		setSelect("f-status", "")
		do(t, chromedp.SendKeys(chromedp.CSS("#f-text"), "no such thing"))
		assert.Equal(t, "nothing shown", text(t, "#f-count"))
		do(t, chromedp.Click(chromedp.CSS("#f-reset")))
		assert.Equal(t, 36, cols(), "reset shows everything")
	})

	stopConsole()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems, "the page logs no error, warning or exception")
}
