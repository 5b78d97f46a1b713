package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// startRunner runs the local runner in-process (see localrun) and returns its base URL. roles are
// the local principal's; easyAuth false makes the admin API refuse every caller (401).
func startRunner(t testing.TB, roles []string, easyAuth bool) string {
	t.Helper()
	return localrun.Start(t, &localrun.Options{Roles: roles, NoEasyAuth: !easyAuth}).URL
}

// liveOut is a stdout a test goroutine can wait on.
type liveOut struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *liveOut) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *liveOut) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor returns once the output holds s, or false when ctx ends first.
func (l *liveOut) waitFor(ctx context.Context, s string) bool {
	for !strings.Contains(l.String(), s) {
		if sleep(ctx, 5*time.Millisecond) != nil {
			return false
		}
	}
	return true
}

// post enqueues a message on the runner's queue with the given MessageId.
func post(t *testing.T, base, queue, id, body string) {
	req, _ := http.NewRequest(http.MethodPost, base+"/dev/servicebus/"+queue+"/messages", strings.NewReader(body))
	req.Header.Set("BrokerProperties", `{"MessageId":"`+id+`"}`)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("enqueue %s = %d", id, res.StatusCode)
	}
}

// apiGet returns the Admin API's own answer for path.
func apiGet(t *testing.T, base, path string) []byte {
	t.Helper()
	res, err := http.Get(base + "/api/v1" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, res.StatusCode, b)
	}
	return b
}

func sameJSON(t *testing.T, what string, got string, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: -o json is not JSON: %v\n%s", what, err, got)
	}
	_ = json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: -o json\n%s\ndiffers from the API's answer\n%s", what, got, want)
	}
}

const e2eCluster = "6f1c1a52-6f7e-4a5e-9a43-2d1f0c0b9e11"

var registerArgs = []string{"register", "--cluster-id", e2eCluster, "--cluster-name", "hci-01", "--region", "East US",
	"--subscription-id", "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d", "--tenant-id", "0d3c6f5e-1b2a-4c3d-8e9f-112233445566",
	"--node", "node1", "--node", "node2", "--os-version", "23H2", "--wait"}

func TestJourneyAgainstTheLocalRunner(t *testing.T) {
	base := startRunner(t, nil, true)

	code, out, stderr := runCLI(t, App{}, base, registerArgs...)
	if code != 0 || !strings.Contains(out, "is Registered") {
		t.Fatalf("register --wait: exit %d\n%s%s", code, out, stderr)
	}

	code, out, stderr = runCLI(t, App{}, base, "status", e2eCluster)
	if code != 0 || !strings.Contains(out, "Registration:       Registered") || !strings.Contains(out, "node2") {
		t.Fatalf("status: exit %d\n%s%s", code, out, stderr)
	}
	_, out, _ = runCLI(t, App{}, base, "status", e2eCluster, "-o", "json")
	sameJSON(t, "status", out, apiGet(t, base, "/clusters/"+e2eCluster))
	_, out, _ = runCLI(t, App{}, base, "list", "-o", "json")
	sameJSON(t, "list", out, apiGet(t, base, "/clusters"))
	if code, out, _ = runCLI(t, App{}, base, "history", e2eCluster); code != 0 || !strings.Contains(out, "Register") {
		t.Errorf("history: exit %d\n%s", code, out)
	}

	// node1 runs 2508 (a Sync says so), so it can be reset.
	post(t, base, "machine-events", "sync-1", `{"type":"Sync","clusterId":"`+e2eCluster+`","machine":"node1","biosConfigHash":"h","arcAgentVersion":"1.45","osVersion":"2508"}`)
	waitNode := func() {
		for !strings.Contains(string(apiGet(t, base, "/clusters/"+e2eCluster)), `"osVersion":"2508"`) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitNode()

	// reset start --wait, while an agent reports every stage; each report is posted only once
	// the command has shown the previous one, so every state is seen.
	stdout := &liveOut{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := make(chan error, 1)
	go func() {
		var op string
		for op == "" {
			res, err := http.Get(base + "/api/v1/machines/" + e2eCluster + "/node1/reset")
			if err != nil {
				agent <- err
				return
			}
			var v struct{ OperationID string }
			_ = json.NewDecoder(res.Body).Decode(&v)
			res.Body.Close()
			op = v.OperationID
			if sleep(ctx, 5*time.Millisecond) != nil {
				agent <- ctx.Err()
				return
			}
		}
		n := 0
		for _, stage := range []string{"ExtensionCleanup", "GatewayCleanup", "AzcmAgentCleanup", "BootstrapCleanup"} {
			for _, st := range []string{"InProgress", "Succeeded"} {
				n++
				post(t, base, "machine-events", fmt.Sprintf("rp-%d", n), `{"type":"ResetProgress","clusterId":"`+e2eCluster+`","operationId":"`+op+`","machine":"node1","stage":"`+stage+`","status":"`+st+`"}`)
				if !stdout.waitFor(ctx, stage+" "+st) {
					agent <- fmt.Errorf("the command never showed %s %s", stage, st)
					return
				}
			}
		}
		post(t, base, "machine-events", "rc-1", `{"type":"ResetCompleted","clusterId":"`+e2eCluster+`","operationId":"`+op+`","machine":"node1","result":"Succeeded"}`)
		agent <- nil
	}()
	var errb bytes.Buffer
	app := App{Stdout: stdout, Stderr: &errb, Stdin: strings.NewReader(""), Poll: 5 * time.Millisecond,
		Getenv: func(k string) string { return map[string]string{"REGISTRAR_ENDPOINT": base}[k] }}
	code = app.Run(ctx, []string{"reset", "start", e2eCluster, "node1", "--wait"})
	cancel()
	if err := <-agent; err != nil {
		t.Error(err)
	}
	if code != 0 || !strings.Contains(stdout.String(), "reset node1: Succeeded after") {
		t.Fatalf("reset start --wait: exit %d\n%s%s", code, stdout, errb.String())
	}
	if strings.Contains(stdout.String(), "\x1b[") {
		t.Errorf("progress drawn with escapes when stdout is not a terminal:\n%q", stdout)
	}

	code, out, _ = runCLI(t, App{}, base, "reset", "status", e2eCluster, "node1")
	if code != 0 || !strings.Contains(out, "BootstrapCleanup  Succeeded") || !strings.Contains(out, ": Succeeded, elapsed") {
		t.Errorf("reset status: exit %d\n%s", code, out)
	}
	_, out, _ = runCLI(t, App{}, base, "reset", "status", e2eCluster, "node1", "-o", "json")
	sameJSON(t, "reset status", out, apiGet(t, base, "/machines/"+e2eCluster+"/node1/reset"))

	code, out, stderr = runCLI(t, App{}, base, "unregister", e2eCluster, "--dry-run")
	if code != 0 || !strings.Contains(out, "hci-01.arc") || !strings.Contains(out, "ClusterResource") {
		t.Errorf("unregister --dry-run: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(string(apiGet(t, base, "/clusters/"+e2eCluster)), `"registrationStatus":"Registered"`) {
		t.Error("a dry run unregistered the cluster")
	}
	if code, _, _ = runCLI(t, App{}, base, "unregister", e2eCluster); code != 2 {
		t.Errorf("unregister without a terminal or --yes: exit %d, want 2", code)
	}
	code, out, stderr = runCLI(t, App{}, base, "unregister", e2eCluster, "--yes")
	if code != 0 || !strings.Contains(out, "unregister "+e2eCluster+": updated") {
		t.Errorf("unregister --yes: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(string(apiGet(t, base, "/clusters/"+e2eCluster)), `"registrationStatus":"NotYet"`) {
		t.Error("the cluster is still registered after unregister --yes")
	}
	// Unregistering again: the service refuses with its code (exit 1).
	code, _, stderr = runCLI(t, App{}, base, "unregister", e2eCluster, "--yes")
	if code != 1 || !strings.Contains(stderr, "NotRegistered") {
		t.Errorf("second unregister: exit %d, stderr %q", code, stderr)
	}
}

func TestRegisterWaitRejected(t *testing.T) {
	base := startRunner(t, nil, true)
	args := append([]string(nil), registerArgs...)
	args[6] = "Mars"
	code, _, stderr := runCLI(t, App{}, base, args...)
	if code != 1 || !strings.Contains(stderr, "RegionNotSupported") {
		t.Errorf("register in an unknown region: exit %d, stderr %q; want 1 with RegionNotSupported", code, stderr)
	}
	_, out, _ := runCLI(t, App{}, base, "rejections", "-o", "json")
	sameJSON(t, "rejections", out, apiGet(t, base, "/rejections"))
}

func TestExitCodesAgainstTheRunner(t *testing.T) {
	reader := startRunner(t, []string{"Registrar.Reader"}, true)
	if code, _, stderr := runCLI(t, App{}, reader, "status", "00000000-0000-4000-8000-000000000001"); code != 1 || !strings.Contains(stderr, "check the cluster ID") {
		t.Errorf("unknown cluster: exit %d, stderr %q; want 1", code, stderr)
	}
	code, _, stderr := runCLI(t, App{}, reader, "unregister", e2eCluster, "--yes")
	if code != 3 || !strings.Contains(stderr, "clusters/unregister") || !strings.Contains(stderr, "Registrar.Operator") {
		t.Errorf("reader unregisters: exit %d, stderr %q; want 3 naming the permission and role", code, stderr)
	}
	noAuth := startRunner(t, nil, false)
	if code, _, stderr := runCLI(t, App{}, noAuth, "list"); code != 3 || !strings.Contains(stderr, "az login") {
		t.Errorf("no Easy Auth: exit %d, stderr %q; want 3 with the sign-in hint", code, stderr)
	}
}

// BenchmarkStatusAgainstRunner measures one `registrar status` (command parsing, one Admin API
// round trip through the local runner and the host adapter, the table) end to end.
func BenchmarkStatusAgainstRunner(b *testing.B) {
	base := startRunner(b, nil, true)
	env := map[string]string{"REGISTRAR_ENDPOINT": base}
	app := App{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }, Poll: 5 * time.Millisecond}
	if code := app.Run(context.Background(), registerArgs); code != 0 {
		b.Fatalf("register: exit %d", code)
	}
	b.ResetTimer()
	for b.Loop() {
		if code := app.Run(context.Background(), []string{"status", e2eCluster}); code != 0 {
			b.Fatalf("status: exit %d", code)
		}
	}
}
