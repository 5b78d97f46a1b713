package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/azlocal/registrar/shared/dashboard"
	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// hostile is a value from another system that must show as text, never run.
const hostile = `<img src=x onerror=alert(1)>`

const chromiumPath = "/usr/bin/chromium"

// runner is the local runner serving the app in-process (see localrun).
type runner struct {
	t    testing.TB
	url  string
	root string
}

func startRunner(t testing.TB) *runner {
	t.Helper()
	r := localrun.Start(t, nil)
	return &runner{t: t, url: r.URL, root: r.Root}
}

// do sends a request to the runner and decodes a JSON answer into out (when not nil).
func (r *runner) do(method, path string, body any, out any) int {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			r.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return res.StatusCode
}

func (r *runner) post(queue string, msg map[string]any) {
	r.t.Helper()
	if code := r.do(http.MethodPost, "/dev/servicebus/"+queue+"/messages", msg, nil); code != http.StatusCreated {
		r.t.Fatalf("post to %s: %d", queue, code)
	}
}

// waitFor polls cond until it holds; delivery through the runner is asynchronous.
func (r *runner) waitFor(what string, cond func() bool) {
	r.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func (r *runner) summary() dashboard.Summary {
	r.t.Helper()
	var s dashboard.Summary
	if code := r.do(http.MethodGet, "/api/v1/summary", nil, &s); code != http.StatusOK {
		r.t.Fatalf("GET /summary: %d", code)
	}
	return s
}

func guid(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

// fleet is what seed made.
type fleet struct {
	clusters     int
	disconnected []string
	resetCluster string
	operationID  string
	hostileNode  string // cluster whose node1 reports the hostile BIOS hash
}

// seed fills the runner with a small fleet in varied states: registered clusters, three
// disconnected (silent past the connected window, via the runner's clock), one out of policy
// (installed 31 days ago, never registered), one expiring credential, one expired, a reset in progress,
// rejections (one carrying the hostile value) and a node reporting the hostile value.
func seed(r *runner) fleet {
	const n = 30
	var now struct{ Now time.Time }
	r.do(http.MethodGet, "/dev/clock", nil, &now)
	for i := 1; i <= n; i++ {
		expires := now.Now.Add(400 * 24 * time.Hour)
		switch i {
		case 7:
			expires = now.Now.Add(5 * 24 * time.Hour)
		case 8:
			expires = now.Now.Add(24 * time.Hour) // expired once the clock moves 25 h
		}
		r.post("registration-requests", map[string]any{"type": "Register", "clusterId": guid(i),
			"clusterName": fmt.Sprintf("hci-%02d", i), "tenantId": guid(900), "subscriptionId": guid(901),
			"region": "East US", "osVersion": "2508", "nodes": []map[string]any{{"name": "node1"}, {"name": "node2"}},
			"arcSpn": map[string]any{"appId": guid(902), "credentialExpiresAt": expires.UTC().Format(time.RFC3339)}})
	}
	r.waitFor("30 registrations", func() bool { return r.summary().Counts.RegistrationStatus["Registered"] == n })

	r.do(http.MethodPost, "/dev/clock", map[string]any{"advance": "25h"}, nil)
	f := fleet{clusters: n + 1, disconnected: []string{guid(2), guid(3), guid(4)}, resetCluster: guid(1), hostileNode: guid(5)}
	for i := 1; i <= n; i++ {
		if i >= 2 && i <= 4 {
			continue
		}
		bios := "bios-a"
		if i == 5 {
			bios = hostile
		}
		for _, m := range []string{"node1", "node2"} {
			if i == 5 && m == "node2" {
				bios = "bios-b"
			}
			r.post("machine-events", map[string]any{"type": "Sync", "clusterId": guid(i), "machine": m,
				"biosConfigHash": bios, "arcAgentVersion": "1.45", "osVersion": "2508"})
		}
	}
	r.do(http.MethodGet, "/dev/clock", nil, &now)
	r.post("machine-events", map[string]any{"type": "MachineInstalled", "clusterId": guid(99), "machine": "lonely1",
		"installedAt": now.Now.Add(-31 * 24 * time.Hour).UTC().Format(time.RFC3339), "osVersion": "2508"})
	r.post("registration-requests", map[string]any{"type": "Register", "clusterId": guid(98), "clusterName": "mars-01",
		"tenantId": guid(900), "subscriptionId": guid(901), "region": "mars", "nodes": []map[string]any{{"name": "node1"}}})
	r.post("machine-events", map[string]any{"type": "ResetProgress", "clusterId": guid(1), "operationId": "op-x",
		"machine": "node1", "stage": hostile, "status": "InProgress"})
	r.post("registration-requests", map[string]any{"type": "StartMachineReset", "clusterId": guid(1), "machine": "node1"})

	var rs struct{ OperationID string }
	r.waitFor("the reset to start", func() bool {
		return r.do(http.MethodGet, "/api/v1/machines/"+guid(1)+"/node1/reset", nil, &rs) == http.StatusOK
	})
	f.operationID = rs.OperationID
	r.waitFor("syncs, install and rejections", func() bool {
		s := r.summary()
		return s.Counts.Clusters == f.clusters && len(s.Rejections) >= 2 && s.Guard != nil && !s.Guard.Active &&
			s.Counts.ConnectionStatus["Connected"] == n
	})
	// Let every sync land before the sweep: the last node synced has a lastSync.
	r.waitFor("every sync", func() bool {
		var v struct {
			Nodes []struct{ LastSync *time.Time }
		}
		for i := 1; i <= n; i++ {
			if i >= 2 && i <= 4 {
				continue
			}
			r.do(http.MethodGet, "/api/v1/clusters/"+guid(i), nil, &v)
			for _, nd := range v.Nodes {
				if nd.LastSync == nil {
					return false
				}
			}
		}
		return true
	})
	if code := r.do(http.MethodPost, "/admin/functions/PolicyExpiryCheck", map[string]any{"input": ""}, nil); code != http.StatusAccepted {
		r.t.Fatalf("run PolicyExpiryCheck: %d", code)
	}
	r.waitFor("the sweep", func() bool {
		c := r.summary().Counts
		return c.ConnectionStatus["Disconnected"] == 3 && c.RegistrationStatus["OutOfPolicy"] == 1 && c.CredentialExpired == 1
	})
	return f
}

// browser starts Debian's Chromium headless; it fails (never skips) when Chromium is missing.
func browser(t *testing.T) (context.Context, *console) {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("%s not found: install chromium (make test does)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v (install chromium: make test does)", chromiumPath, err)
	}
	c := &console{}
	msgs := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.add(m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning, m.String())
		}
	}()
	go func() {
		for d, err := range dialogs {
			if err != nil {
				return
			}
			c.add(true, "dialog opened: "+d.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx, c
}

// console collects what the page reported; bad are errors, warnings, exceptions and dialogs.
type console struct {
	mu  sync.Mutex
	bad []string
}

func (c *console) add(bad bool, s string) {
	if !bad {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bad = append(c.bad, s)
}

func (c *console) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bad...)
}

// run runs actions, failing the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// poll waits until the page expression is true.
func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
		t.Fatalf("page never showed %s: %v; the page reads: %q", what, err, text)
	}
}

func screenshot(t *testing.T, ctx context.Context, root, name string) {
	t.Helper()
	png := run(t, ctx, chromedp.FullScreenshot(100)) // quality 100 gives PNG
	dir := filepath.Join(root, "artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// viewport saves what a laptop screen shows, for the README.
func viewport(t *testing.T, ctx context.Context, root, name string) {
	t.Helper()
	png := run(t, ctx, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(root, "artifacts", "screenshots", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDashboardInBrowser(t *testing.T) {
	r := startRunner(t)
	f := seed(r)
	ctx, con := browser(t)

	// Overview: the counts equal /summary's.
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url+"/api/v1/dashboard")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the counts", `!!document.querySelector('[data-count="clusters"]')`)
	s := r.summary()
	counts := run(t, ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('[data-count]')].map(e => [e.dataset.count, e.textContent]))`))
	want := map[string]string{"clusters": strconv.Itoa(s.Counts.Clusters), "credentialExpired": strconv.Itoa(s.Counts.CredentialExpired)}
	for group, m := range map[string]map[string]int{"registrationStatus": s.Counts.RegistrationStatus,
		"connectionStatus": s.Counts.ConnectionStatus, "orphan": s.Counts.Orphan, "clusterStatus": s.Counts.ClusterStatus} {
		for k, v := range m {
			want[group+"."+k] = strconv.Itoa(v)
		}
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("page shows %s = %q, /summary says %s", k, counts[k], v)
		}
	}
	if counts["connectionStatus.Disconnected"] != "3" || counts["registrationStatus.OutOfPolicy"] != "1" {
		t.Errorf("seeded states not shown: %v", counts)
	}
	asof := run(t, ctx, chromedp.TextContent(chromedp.CSS("#asof")))
	if !strings.Contains(asof, s.AsOf.UTC().Format("2006-01-02 15:04")) {
		t.Errorf("as-of %q does not show %s", asof, s.AsOf)
	}
	// The hostile value in a rejection shows as text.
	poll(t, ctx, "the hostile rejection as text", `document.querySelector('#rejections').textContent.includes(`+strconv.Quote(hostile)+`)`)
	poll(t, ctx, "the reset in progress", `!!document.querySelector('#resets [data-operation=`+strconv.Quote(f.operationID)+`]')`)
	poll(t, ctx, "the reset's status badge", `document.querySelector('#resets [data-operation=`+strconv.Quote(f.operationID)+`] .reset-head .badge').dataset.value === "InProgress"`)
	poll(t, ctx, "the expiring credential", `document.querySelector('#credentials').textContent.includes('hci-07')`)
	screenshot(t, ctx, r.root, "overview")

	// Reset stage bars advance as ResetProgress messages arrive (the page polls).
	stage := func(name string) string {
		return `document.querySelector('#resets [data-operation=` + strconv.Quote(f.operationID) + `] [data-stage="` + name + `"] progress').value`
	}
	if v := run(t, ctx, chromedp.Evaluate[float64](stage("GatewayCleanup"))); v != 0 {
		t.Fatalf("GatewayCleanup bar at %v before any progress", v)
	}
	progress := func(stageName, status string) {
		r.post("machine-events", map[string]any{"type": "ResetProgress", "clusterId": f.resetCluster, "operationId": f.operationID,
			"machine": "node1", "stage": stageName, "status": status})
	}
	progress("ExtensionCleanup", "Succeeded")
	progress("GatewayCleanup", "InProgress")
	poll(t, ctx, "ExtensionCleanup done", stage("ExtensionCleanup")+` === 100`)
	poll(t, ctx, "GatewayCleanup half-way", stage("GatewayCleanup")+` === 50`)
	screenshot(t, ctx, r.root, "resets")
	viewport(t, ctx, r.root, "dashboard") // what the README shows
	progress("GatewayCleanup", "Succeeded")
	poll(t, ctx, "GatewayCleanup done", stage("GatewayCleanup")+` === 100`)

	// Cluster table: paging and filtering as the API.
	run(t, ctx, chromedp.Evaluate[any](`location.hash = "#/clusters"`))
	rows := `document.querySelectorAll('#cluster-table tbody tr').length`
	poll(t, ctx, "the first page", rows+` === 25`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#next")))
	poll(t, ctx, "the second page", rows+` === `+strconv.Itoa(f.clusters-25)+` && document.querySelector('#page-no').textContent === 'Page 2'`)
	if dis := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector('#next').disabled`)); !dis {
		t.Error("Next is enabled on the last page")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS("#prev")))
	poll(t, ctx, "the first page again", rows+` === 25 && document.querySelector('#page-no').textContent === 'Page 1'`)
	run(t, ctx, chromedp.Evaluate[any](`(() => { const s = document.querySelector('#f-connectionStatus'); s.value = 'Disconnected'; s.dispatchEvent(new Event('change')); })()`))
	poll(t, ctx, "the Disconnected filter", rows+` === 3`)
	shown := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#cluster-table tbody tr')].map(r => r.dataset.cluster).sort()`))
	if strings.Join(shown, ",") != strings.Join(f.disconnected, ",") {
		t.Errorf("filtered rows %v, want %v", shown, f.disconnected)
	}
	screenshot(t, ctx, r.root, "clusters")

	// The overview's expired-credential count leads to those clusters.
	run(t, ctx, chromedp.Evaluate[any](`location.hash = "#/"`))
	poll(t, ctx, "the expired-credential link", `!!document.querySelector('#expired-link')`)
	run(t, ctx, chromedp.Click(chromedp.CSS("#expired-link")))
	poll(t, ctx, "the expired clusters", rows+` === 1 && document.querySelector('#cluster-table tbody tr').dataset.cluster === `+strconv.Quote(guid(8))+
		` && document.querySelector('#cluster-table tbody tr .badge[data-value="Expired"]') !== null`)
	// A filtered list says how to act on it from the command line (the page has no action).
	hint := run(t, ctx, chromedp.TextContent(chromedp.CSS("#bulk-hint")))
	if !strings.Contains(hint, "registrar bulk repair --credential-expired true --dry-run") {
		t.Errorf("the filtered list's command-line hint: %q", hint)
	}

	// A cluster page: the cluster view, nodes, the hostile BIOS hash as text, history.
	run(t, ctx, chromedp.Evaluate[any](`location.hash = "#/clusters/`+f.hostileNode+`"`))
	poll(t, ctx, "the nodes", `document.querySelectorAll('#nodes tr[data-node]').length === 2`)
	poll(t, ctx, "the history", `document.querySelectorAll('#history .timeline li').length > 0`)
	node1 := run(t, ctx, chromedp.TextContent(chromedp.CSS(`#nodes tr[data-node="node1"]`)))
	if !strings.Contains(node1, hostile) {
		t.Errorf("node1 row %q lacks the hostile hash as text", node1)
	}
	screenshot(t, ctx, r.root, "cluster")
	entries := `[...document.querySelectorAll('#history .timeline li')].map(e => e.textContent).join('|')`
	first := run(t, ctx, chromedp.Evaluate[string](entries))
	run(t, ctx, chromedp.Click(chromedp.CSS("#history-older")))
	poll(t, ctx, "older history", `!!document.querySelector('#history-newest')`)
	if older := run(t, ctx, chromedp.Evaluate[string](entries)); older == "" || older == first {
		t.Errorf("the older history page shows %q after %q", older, first)
	}

	// The reset's cluster page shows its stages too.
	run(t, ctx, chromedp.Evaluate[any](`location.hash = "#/clusters/`+f.resetCluster+`"`))
	poll(t, ctx, "the reset on its cluster page", `!!document.querySelector('#cluster-resets [data-stage="GatewayCleanup"] progress')`)

	// A cluster only a rejected message named has no page: said so, not an error.
	run(t, ctx, chromedp.Evaluate[any](`location.hash = "#/clusters/99999999-0000-4000-8000-000000000000"`))
	poll(t, ctx, "the unknown cluster's page", `document.querySelector('#cluster-view').textContent.includes('only rejected messages named it') && document.querySelector('#error').textContent === ''`)

	// Phone width stays usable: no horizontal overflow of the page itself.
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	run(t, ctx, chromedp.Evaluate[any](`location.hash = "#/"`))
	poll(t, ctx, "the overview on a phone", `!!document.querySelector('#glance')`)
	if over := run(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 391`)); over {
		t.Error("the overview overflows a phone's width")
	}
	screenshot(t, ctx, r.root, "phone")

	// No script from the data ran, nothing was injected, the console stayed clean.
	if n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('main img, main script').length`)); n != 0 {
		t.Errorf("%d injected elements in the page", n)
	}
	if xss := run(t, ctx, chromedp.Evaluate[bool](`window.__xss === true`)); xss {
		t.Error("a script from the data ran")
	}
	// The browser reports the unknown cluster's two 404 answers (its view and its history) as
	// failed loads; nothing else may be reported.
	var p []string
	forgiven := 0
	for _, m := range con.problems() {
		if strings.Contains(m, "status of 404") && forgiven < 2 {
			forgiven++
			continue
		}
		p = append(p, m)
	}
	if len(p) > 0 {
		t.Errorf("console problems: %q", p)
	}
}

// TestAssetsThroughRunner checks that the page and its assets cross the host adapter (which
// base64-encodes non-JSON bodies) byte for byte, with their headers.
func TestAssetsThroughRunner(t *testing.T) {
	r := startRunner(t)
	for path, file := range map[string]string{
		"/api/v1/dashboard":         "index.html",
		"/api/v1/dashboard/app.js":  "app.js",
		"/api/v1/dashboard/app.css": "app.css",
	} {
		want, err := os.ReadFile(filepath.Join("assets", file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Get(r.url + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("%s: status %d, %d bytes; want 200 and the %d bytes of %s", path, res.StatusCode, len(got), len(want), file)
		}
		if csp := res.Header.Get("Content-Security-Policy"); csp != dashboard.CSP {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if ns := res.Header.Get("X-Content-Type-Options"); ns != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, ns)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, map[string]string{".html": "text/html", ".js": "text/javascript", ".css": "text/css"}[filepath.Ext(file)]) {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
	}
}
