package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeAz puts an `az` on PATH that answers `az account get-access-token` as the Azure CLI does
// (JSON with accessToken and expires_on, an hour ahead) and appends one line per run to the
// returned file, so a test counts how often the command line fetched a token. DefaultAzureCredential
// is limited to the Azure CLI credential (AZURE_TOKEN_CREDENTIALS), as on an operator's machine.
func fakeAz(t *testing.T) (calls func() []string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %q
printf '{"accessToken":"cli-token","expires_on":%%s,"tokenType":"Bearer"}\n' "$(( $(date +%%s) + 3600 ))"
`, log)
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "AzureCLICredential")
	return func() []string {
		b, _ := os.ReadFile(log)
		return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "|"))
	}
}

// resetAPI answers a reset start, then its status: InProgress for the first polls, Succeeded
// after; it records each request's Authorization header.
func resetAPI(t *testing.T, inProgress int) (*httptest.Server, func() []string) {
	var (
		mu    sync.Mutex
		auths []string
		polls atomic.Int32
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.Write([]byte(`{"outcome":"created","clusterId":"` + c1 + `"}`))
			return
		}
		status := "InProgress"
		if polls.Add(1) > int32(inProgress) {
			status = "Succeeded"
		}
		fmt.Fprintf(w, `{"clusterId":%q,"machine":"node1","operationId":"op-1","status":%q,"elapsed":"1s","stages":[{"name":"ExtensionCleanup","status":%q}]}`, c1, status, status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), auths...) }
}

// TestTokenFetchedOncePerCommand: a `reset start --wait` polling the service many times asks
// the Azure CLI for a token once (azcore's bearer-token policy caches it for its lifetime),
// and every request carries it — to a plain-http loopback endpoint too.
func TestTokenFetchedOncePerCommand(t *testing.T) {
	calls := fakeAz(t)
	srv, auths := resetAPI(t, 8)
	code, _, stderr := runCLI(t, App{}, srv.URL, "reset", "start", c1, "node1", "--wait", "--scope", "11111111-2222-3333-4444-555555555555/.default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := auths()
	if len(got) < 10 {
		t.Fatalf("%d requests, want the start and at least 9 polls", len(got))
	}
	for i, a := range got {
		if a != "Bearer cli-token" {
			t.Fatalf("request %d Authorization = %q, want the CLI's token", i, a)
		}
	}
	if c := calls(); len(c) == 0 || strings.Count(strings.Join(c, " "), "get-access-token") != 1 {
		t.Errorf("az ran %q for %d requests: want one get-access-token per command run", c, len(got))
	}
}

// TestTokenOnlyOverHTTPSOrLoopback: a scope with a plain-http endpoint that is not loopback is
// refused before any token is fetched or sent.
func TestTokenOnlyOverHTTPSOrLoopback(t *testing.T) {
	calls := fakeAz(t)
	code, _, stderr := runCLI(t, App{}, "http://registrar.example.net", "rejections", "--scope", "x/.default")
	if code != ExitUsage || !strings.Contains(stderr, "only over https") {
		t.Errorf("exit %d, stderr %q: want a usage error saying a token goes only over https", code, stderr)
	}
	if c := calls(); len(c) != 0 {
		t.Errorf("az ran %q: no token may be fetched for an endpoint it cannot be sent to", c)
	}
}

// TestWaitTimeout: --wait gives up after --timeout with exit 1, naming the last state it saw.
func TestWaitTimeout(t *testing.T) {
	srv, _ := resetAPI(t, 1<<30) // never ends
	start := time.Now()
	code, _, stderr := runCLI(t, App{}, srv.URL, "reset", "start", c1, "node1", "--wait", "--timeout", "150ms")
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitFailed, stderr)
	}
	want := "error: Timeout: gave up waiting after 150ms; last state: InProgress, ExtensionCleanup InProgress (elapsed 1s)\n" +
		"what to do: the operation goes on without you: look again later (registrar status, registrar reset status), or wait longer with --timeout\n"
	if diff := cmp.Diff(want, stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the command took %s: the timeout did not stop it", d)
	}
	if code, _, stderr := runCLI(t, App{}, srv.URL, "reset", "start", c1, "node1", "--wait", "--timeout", "0s"); code != ExitUsage {
		t.Errorf("--timeout 0s: exit %d (%s), want a usage error", code, stderr)
	}
}

// TestContexts: set-context, use-context, get-contexts and current-context keep named endpoints
// in the contexts file; a command then takes its endpoint from the current context, --context
// picks another, and a flag or environment variable still wins.
func TestContexts(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "registrar.json")
	hits := map[string]int{}
	var mu sync.Mutex
	server := func(name string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits[name]++
			mu.Unlock()
			w.Write([]byte(`{"items":[]}`))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	prod, lab := server("prod"), server("lab")
	env := map[string]string{"REGISTRAR_CONFIG": cfgPath}
	app := App{Getenv: func(k string) string { return env[k] }}
	run := func(args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, app, "", args...)
		if code != 0 {
			t.Fatalf("registrar %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return out
	}
	run("config", "set-context", "prod", "--endpoint", prod, "--scope", "")
	run("config", "set-context", "lab", "--endpoint", lab, "--namespace", "sb-lab.servicebus.windows.net")
	run("config", "use-context", "prod")
	if got := run("config", "current-context"); got != "prod\n" {
		t.Errorf("current-context = %q, want prod", got)
	}
	run("rejections")
	run("rejections", "--context", "lab")
	env["REGISTRAR_ENDPOINT"] = lab // the environment beats the context
	run("rejections")
	delete(env, "REGISTRAR_ENDPOINT")
	run("rejections", "--endpoint", lab) // and so does a flag
	if diff := cmp.Diff(map[string]int{"prod": 1, "lab": 3}, hits); diff != "" {
		t.Errorf("requests per endpoint (-want +got):\n%s", diff)
	}
	lines := strings.Split(strings.TrimRight(run("config", "get-contexts"), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("get-contexts printed %q, want a header and two rows", lines)
	}
	col := strings.Index(lines[0], "ENDPOINT")
	nsCol := strings.Index(lines[0], "NAMESPACE")
	for i, want := range []struct{ mark, name, endpoint, ns string }{{"", "lab", lab, "sb-lab.servicebus.windows.net"}, {"*", "prod", prod, ""}} {
		row := lines[i+1]
		if !strings.HasPrefix(row, want.mark) || !strings.Contains(row, " "+want.name+" ") ||
			strings.Index(row, want.endpoint) != col || (want.ns != "" && strings.Index(row, want.ns) != nsCol) {
			t.Errorf("get-contexts row %d = %q, want %+v aligned under the header %q", i, row, want, lines[0])
		}
	}
	var cfg Config
	if err := json.Unmarshal([]byte(run("config", "get-contexts", "-o", "json")), &cfg); err != nil || cfg.CurrentContext != "prod" || len(cfg.Contexts) != 2 {
		t.Errorf("get-contexts -o json = %+v (%v), want both contexts and prod current", cfg, err)
	}
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("contexts file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if code, _, stderr := runCLI(t, app, "", "rejections", "--context", "nope"); code != ExitUsage || !strings.Contains(stderr, `no context "nope"`) {
		t.Errorf("unknown context: exit %d, %q", code, stderr)
	}
}

// TestVersion prints the build's version and commit, as a line and as JSON.
func TestVersion(t *testing.T) {
	bi := &BuildInfo{Version: "v1.4.0", Commit: "0123456789abcdef0123", CommitAt: "2026-11-30T10:00:00Z", Modified: true, GoVersion: "go1.26.8"}
	code, out, stderr := runCLI(t, App{BuildInfo: bi}, "", "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff("registrar v1.4.0 (commit 0123456789ab, 2026-11-30T10:00:00Z, modified; go1.26.8)\n", out); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
	_, out, _ = runCLI(t, App{BuildInfo: bi}, "", "version", "-o", "json")
	var got BuildInfo
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("version -o json = %q: %v", out, err)
	}
	if diff := cmp.Diff(*bi, got); diff != "" {
		t.Errorf("version -o json (-want +got):\n%s", diff)
	}
	// Without a VCS stamp (go test, go run) the commit is unknown, never invented.
	if s := readBuildInfo().String(); !strings.HasPrefix(s, "registrar dev (commit unknown") {
		t.Errorf("unstamped build = %q", s)
	}
}

// TestCompletion: `registrar completion <shell>` writes each shell's script, and the dynamic
// completions it calls (`registrar __complete ...`) offer the values the command line knows.
func TestCompletion(t *testing.T) {
	for shell, first := range map[string]string{
		"bash": "# bash completion V2 for registrar", "zsh": "#compdef registrar",
		"fish": "# fish completion for registrar", "powershell": "# powershell completion for registrar",
	} {
		code, out, stderr := runCLI(t, App{}, "", "completion", shell)
		if code != 0 || !strings.HasPrefix(out, first) {
			t.Errorf("completion %s: exit %d, starts %q (stderr %q), want %q", shell, code, firstLine(out), stderr, first)
		}
	}
	cfgPath := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(cfgPath, []byte(`{"contexts":{"prod":{"endpoint":"https://a"},"lab":{"endpoint":"https://b"}}}`), 0o600)
	env := map[string]string{"REGISTRAR_CONFIG": cfgPath}
	app := App{Getenv: func(k string) string { return env[k] }}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "--registration-status", ""}, "NotYet\nRegistered\nOutOfPolicy\n:4\n"},
		{[]string{"list", "--orphan", "S"}, "None\nSuspected\nCleanedUp\n:4\n"},
		{[]string{"status", "x", "-o", ""}, "table\njson\n:4\n"},
		{[]string{"config", "use-context", ""}, "lab\nprod\n:4\n"},
		{[]string{"history", "--context", ""}, "lab\nprod\n:4\n"},
		{[]string{"deadletters", ""}, "registration-requests\nmachine-events\n:4\n"},
		{[]string{"who"}, "whoami\tShow who the service takes you for: your roles and where each permission holds\n:4\n"},
	} {
		code, out, stderr := runCLI(t, app, "", append([]string{"__complete"}, c.args...)...)
		if code != 0 {
			t.Errorf("__complete %q: exit %d: %s", c.args, code, stderr)
			continue
		}
		if diff := cmp.Diff(c.want, out); diff != "" {
			t.Errorf("__complete %q (-want +got):\n%s", c.args, diff)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
