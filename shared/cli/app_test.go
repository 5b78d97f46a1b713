package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/spf13/cobra"
)

// fakeCred is an azcore.TokenCredential that records the scopes asked for.
type fakeCred struct {
	mu     sync.Mutex
	scopes []string
}

func (f *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	return azcore.AccessToken{Token: "tok-123", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// runCLI runs the command line against endpoint and returns the exit code, stdout and stderr.
func runCLI(t *testing.T, app App, endpoint string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	app.Stdout, app.Stderr = &out, &errb
	if app.Stdin == nil {
		app.Stdin = strings.NewReader("")
	}
	env := map[string]string{"REGISTRAR_ENDPOINT": endpoint}
	if app.Getenv == nil {
		app.Getenv = func(k string) string { return env[k] }
	}
	if app.Poll == 0 {
		app.Poll = 10 * time.Millisecond
	}
	code := app.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestBearerTokenForScope(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.Write([]byte(`{"items":[]}`))
	}))
	defer srv.Close()
	cred := &fakeCred{}
	code, _, stderr := runCLI(t, App{Credential: cred}, srv.URL, "rejections", "--scope", "api://registrar/.default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(auth) != 1 || auth[0] != "Bearer tok-123" {
		t.Errorf("Authorization headers = %q, want one bearer token", auth)
	}
	if len(cred.scopes) != 1 || cred.scopes[0] != "api://registrar/.default" {
		t.Errorf("scopes asked = %q", cred.scopes)
	}
	auth = nil
	env := map[string]string{"REGISTRAR_ENDPOINT": srv.URL}
	if code, _, stderr := runCLI(t, App{Credential: cred, Getenv: func(k string) string { return env[k] }}, srv.URL, "rejections"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if auth[0] != "" {
		t.Errorf("no scope: Authorization = %q, want none", auth[0])
	}
}

func TestProblemExitCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		switch r.URL.Path {
		case "/api/v1/clusters/00000000-0000-4000-8000-000000000401":
			w.WriteHeader(401)
			w.Write([]byte(`{"title":"Unauthorized","status":401,"code":"Unauthenticated","detail":"no principal"}`))
		case "/api/v1/clusters/00000000-0000-4000-8000-000000000403/repair":
			w.WriteHeader(403)
			w.Write([]byte(`{"title":"Forbidden","status":403,"code":"Forbidden","detail":"clusters/register is not granted"}`))
		case "/api/v1/clusters/00000000-0000-4000-8000-000000000409/repair":
			w.WriteHeader(409)
			w.Write([]byte(`{"title":"Conflict","status":409,"code":"CannotRepairNotRegistered","detail":"the cluster is not registered"}`))
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"title":"Not Found","status":404,"code":"NotFound","detail":"no such cluster"}`))
		}
	}))
	defer srv.Close()
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"status", "00000000-0000-4000-8000-000000000401"}, 3, []string{"Unauthenticated", "az login"}},
		{[]string{"repair", "00000000-0000-4000-8000-000000000403"}, 3, []string{"Forbidden", "clusters/register", "Registrar.Operator"}},
		{[]string{"repair", "00000000-0000-4000-8000-000000000409"}, 1, []string{"CannotRepairNotRegistered", "not registered"}},
		{[]string{"status", "00000000-0000-4000-8000-000000000404"}, 1, []string{"NotFound", "check the cluster ID"}},
		{[]string{"status", "00000000-0000-4000-8000-000000000404", "-o", "yaml"}, 2, []string{"-o must be table or json"}},
	} {
		code, _, stderr := runCLI(t, App{}, srv.URL, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, stderr, w)
			}
		}
	}
}

func TestUnreachableExit4(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // a closed port
	code, _, stderr := runCLI(t, App{}, url, "list")
	if code != 4 || !strings.Contains(stderr, "Unreachable") {
		t.Errorf("exit %d, stderr %q; want 4 and Unreachable", code, stderr)
	}
}

func TestDestructiveWithoutTerminalRefuses(t *testing.T) {
	var posts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts = append(posts, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		plan := `{"clusterId":"00000000-0000-4000-8000-000000000001","reason":"Unregister","steps":[{"step":1,"artifact":{"kind":"ArcAppIdentity","name":"hci-01.arc","condition":"Always"}}]}`
		if strings.HasSuffix(r.URL.Path, "/orphans/cleanup") {
			w.Write([]byte(`{"outcome":"unchanged","dryRun":true,"items":[` + plan + `]}`))
			return
		}
		w.Write([]byte(`{"outcome":"unchanged","plan":` + plan + `}`))
	}))
	defer srv.Close()
	code, stdout, stderr := runCLI(t, App{}, srv.URL, "unregister", "00000000-0000-4000-8000-000000000001")
	if code != 2 || !strings.Contains(stderr, "ConfirmationRequired") || !strings.Contains(stderr, "--yes") {
		t.Errorf("exit %d, stderr %q; want 2 naming --yes", code, stderr)
	}
	if !strings.Contains(stdout, "hci-01.arc") {
		t.Errorf("the plan was not shown: %q", stdout)
	}
	for _, p := range posts {
		if strings.Contains(p, "dryRun=false") {
			t.Errorf("refused unregister still called %s", p)
		}
	}
	for _, args := range [][]string{{"orphans", "cleanup"}, {"deadletters", "machine-events", "replay"}} {
		posts = nil
		if code, _, _ := runCLI(t, App{}, srv.URL, args...); code != 2 {
			t.Errorf("%v without a terminal: exit %d, want 2", args, code)
		}
		for _, p := range posts {
			if strings.Contains(p, "dryRun=false") || strings.Contains(p, "/replay") {
				t.Errorf("%v refused but called %s", args, p)
			}
		}
	}
	// On a terminal, an answer other than yes does nothing.
	posts = nil
	code, _, _ = runCLI(t, App{StdinTerminal: true, Stdin: strings.NewReader("no\n")}, srv.URL, "unregister", "00000000-0000-4000-8000-000000000001")
	if code != 1 || len(posts) != 1 {
		t.Errorf("declined: exit %d after %v; want 1 after the dry run only", code, posts)
	}
	posts = nil
	if code, _, stderr := runCLI(t, App{StdinTerminal: true, Stdin: strings.NewReader("yes\n")}, srv.URL, "unregister", "00000000-0000-4000-8000-000000000001"); code != 0 || len(posts) != 2 || !strings.Contains(posts[1], "dryRun=false") {
		t.Errorf("confirmed: exit %d (%s) after %v", code, stderr, posts)
	}
}

// TestEveryCommandHasHelpWithExample walks the command tree.
func TestEveryCommandHasHelpWithExample(t *testing.T) {
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Name() != "help" {
			n++
			if c.Example == "" || c.Short == "" {
				t.Errorf("%q has no example or short help", c.CommandPath())
			}
			code, out, _ := runCLI(t, App{}, "http://127.0.0.1:1", append(strings.Fields(c.CommandPath())[1:], "--help")...)
			if code != 0 || !strings.Contains(out, "Examples:") {
				t.Errorf("%s --help: exit %d\n%s", c.CommandPath(), code, out)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk((&session{App: &App{}}).root())
	if n != 30 { // with reset cancel, machines, machines standalone and whoami
		t.Errorf("walked %d commands, want 30", n)
	}
}

// TestMalformedArgumentsAreUsageErrors: cluster IDs, GUID flags and machine names are checked
// locally, so a malformed one exits 2 with a clear message and nothing is sent.
func TestMalformedArgumentsAreUsageErrors(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path)
		w.WriteHeader(400)
	}))
	defer srv.Close()
	const id = "00000000-0000-4000-8000-000000000001"
	reg := func(flag, v string) []string {
		a := []string{"register", "--cluster-id", id, "--cluster-name", "hci-01", "--region", "eastus",
			"--subscription-id", id, "--tenant-id", id, "--node", "node1"}
		for i := range a {
			if a[i] == flag {
				a[i+1] = v
				return a
			}
		}
		return append(a, flag, v)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "bad"}, `cluster ID "bad" is not a GUID`},
		{[]string{"history", id + "0"}, "is not a GUID"},
		{[]string{"unregister", "{" + id + "}", "--yes"}, "is not a GUID"},
		{[]string{"repair", "6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a1g"}, "is not a GUID"},
		{[]string{"reset", "start", "bad", "node1"}, "is not a GUID"},
		{[]string{"reset", "status", id, "node_1"}, `machine "node_1" is not a machine name`},
		{[]string{"reset", "start", id, strings.Repeat("n", 64)}, "is not a machine name"},
		{reg("--cluster-id", "bad"), `--cluster-id "bad" is not a GUID`},
		{reg("--subscription-id", "sub"), "--subscription-id"},
		{reg("--tenant-id", ""), "--tenant-id"},
		{reg("--node", "node 1"), `--node "node 1" is not a machine name`},
	} {
		code, _, stderr := runCLI(t, App{}, srv.URL, c.args...)
		if code != 2 || !strings.Contains(stderr, "Usage") || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q", c.args, code, stderr, c.want)
		}
	}
	if len(calls) != 0 {
		t.Errorf("malformed arguments still reached the service: %v", calls)
	}
}

// TestDevNullIsNotATerminal: /dev/null is a character device but not a terminal, so a
// destructive command with stdin on /dev/null refuses (exit 2) instead of prompting.
func TestDevNullIsNotATerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if fi, err := null.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is not a character device here (%v); the test needs one", os.DevNull, err)
	}
	errf, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	a := processApp(null, null, errf)
	if a.StdinTerminal || a.StdoutTerminal {
		t.Fatalf("/dev/null taken for a terminal: stdin %v, stdout %v", a.StdinTerminal, a.StdoutTerminal)
	}
	var posts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts = append(posts, r.URL.RawQuery)
		w.Write([]byte(`{"outcome":"unchanged","plan":{"clusterId":"6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11","reason":"Unregister","steps":[]}}`))
	}))
	defer srv.Close()
	a.Getenv = func(k string) string { return map[string]string{"REGISTRAR_ENDPOINT": srv.URL}[k] }
	code := a.Run(context.Background(), []string{"unregister", "6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11"})
	stderr, _ := os.ReadFile(errf.Name())
	if code != 2 || !strings.Contains(string(stderr), "ConfirmationRequired") {
		t.Errorf("exit %d, stderr %q; want 2 and ConfirmationRequired", code, stderr)
	}
	for _, p := range posts {
		if strings.Contains(p, "dryRun=false") {
			t.Errorf("refused unregister still called ?%s", p)
		}
	}
}

// With no orphan to clean up there is nothing to confirm: exit 0 without a terminal, and only
// the dry run is sent.
func TestOrphansCleanupWithNothingToDo(t *testing.T) {
	var posts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts = append(posts, r.URL.RawQuery)
		w.Write([]byte(`{"outcome":"unchanged","dryRun":true,"items":[]}`))
	}))
	defer srv.Close()
	code, stdout, stderr := runCLI(t, App{}, srv.URL, "orphans", "cleanup")
	if code != 0 || !strings.Contains(stdout, "nothing to clean up") || len(posts) != 1 || posts[0] != "dryRun=true" {
		t.Errorf("exit %d, stdout %q, stderr %q, calls %v", code, stdout, stderr, posts)
	}
}
