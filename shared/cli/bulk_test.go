package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	b1 = "6f1c1f5e-2b1a-4c8e-9a43-0f6f7d3c2a11"
	b2 = "7a2d2f6e-3c2b-4d9f-8b54-1a7a8e4d3b22"
	b3 = "8b3e3a7f-4d3c-4e0a-9c65-2b8b9f5e4c33"
)

// bulkCall is one request the fake bulk API received.
type bulkCall struct {
	Path, Query, Key string
	Items            []bulkItem
	Filter           map[string]any
}

// fakeBulk is a fake of POST /api/v1/bulk/{op}: each item's answer comes from answer (by
// clusterId or clusterId/machine; default updated); a filter matches b1 and b2. fail makes the
// first send of each key answer 503.
type fakeBulk struct {
	mu     sync.Mutex
	calls  []bulkCall
	answer map[string]bulkResult
	fail   map[string]bool // keys whose first send fails
}

func (f *fakeBulk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Items  []bulkItem     `json:"items"`
		Filter map[string]any `json:"filter"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	f.calls = append(f.calls, bulkCall{r.URL.Path, r.URL.RawQuery, key, body.Items, body.Filter})
	first := f.fail[key]
	f.fail[key] = false
	f.mu.Unlock()
	if first {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"type":"about:blank","title":"Temporarily unavailable","status":503,"code":"Unavailable"}`))
		return
	}
	items := body.Items
	if body.Filter != nil {
		items = []bulkItem{{ClusterID: b1}, {ClusterID: b2}}
	}
	a := bulkAnswer{DryRun: strings.Contains(r.URL.RawQuery, "dryRun=true"), Items: []bulkResult{}, Summary: map[string]int{}}
	for _, it := range items {
		res, ok := f.answer[it.ClusterID+"/"+it.Machine]
		if !ok {
			res, ok = f.answer[it.ClusterID]
		}
		if !ok {
			res = bulkResult{Outcome: "updated"}
		}
		res.ClusterID, res.Machine = it.ClusterID, it.Machine
		a.Items = append(a.Items, res)
		a.Summary[resultKey(res)]++
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

func newFakeBulk(t *testing.T) (*fakeBulk, string) {
	f := &fakeBulk{fail: map[string]bool{}, answer: map[string]bulkResult{
		b3:            {Problem: &Problem{Status: 404, Code: "UnknownCluster", Title: "Not found", Detail: "cluster is not known"}},
		"not-a-guid":  {Problem: &Problem{Status: 400, Code: "InvalidField", Title: "Invalid field", Field: "items[3].clusterId", Detail: "Must be a GUID."}},
		b2:            {Problem: &Problem{Status: 409, Code: "NotRegistered", Number: 9115, Title: "Refused", Detail: "the cluster is not registered"}},
		b1 + "/node9": {Problem: &Problem{Status: 404, Code: "UnknownMachine", Title: "Not found", Detail: "machine node9 is not a node of cluster " + b1}},
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// golden compares got with testdata/name.golden (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs from %s (-want +got):\n%s", name, file, d)
	}
}

// TestGoldenBulk: the per-item tables, summaries and exit codes of bulk commands, and the progress
// bar on a terminal (stderr), against a fake bulk API.
func TestGoldenBulk(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  App
		args []string
		code int
	}{
		{"bulk_unregister_dry", App{}, []string{"bulk", "unregister", "--from-file", "testdata/bulk_clusters.csv", "--dry-run"}, 1},
		{"bulk_reset", App{}, []string{"bulk", "reset", "--from-file", "testdata/bulk_machines.json", "--yes"}, 1},
		{"bulk_repair_filter", App{}, []string{"bulk", "repair", "--registration-status", "OutOfPolicy", "--yes"}, 1},
		{"bulk_repair_terminal", App{StdoutTerminal: true, StderrTerminal: true}, []string{"bulk", "repair", "--from-file", "testdata/bulk_clusters.csv", "--yes"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := newFakeBulk(t)
			code, out, stderr := runCLI(t, tc.app, url, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			golden(t, tc.name, out)
			golden(t, tc.name+".stderr", stderr)
		})
	}
}

// TestBulkChunksAndRetries: items go in requests of 100, each with its own Idempotency-Key; a
// request that fails with 503 is sent again with the same key and body; the answer is one row per
// item in file order.
func TestBulkChunksAndRetries(t *testing.T) {
	f, url := newFakeBulk(t)
	var lines []string
	for i := range 250 {
		lines = append(lines, fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i))
	}
	file := filepath.Join(t.TempDir(), "many.csv")
	os.WriteFile(file, []byte("clusterId\n"+strings.Join(lines, "\n")+"\n"), 0o644)
	code, out, stderr := runCLI(t, App{}, url, "bulk", "repair", "--from-file", file, "--yes", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var a bulkAnswer
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Items) != 250 || a.Items[0].ClusterID != lines[0] || a.Items[249].ClusterID != lines[249] || a.Summary["updated"] != 250 {
		t.Fatalf("answer: %d items, summary %v", len(a.Items), a.Summary)
	}
	type sent struct {
		key   string
		items int
	}
	var got []sent
	for _, c := range f.calls {
		if !strings.Contains(c.Query, "dryRun=false") {
			t.Errorf("--yes with a file sent a dry run: %s", c.Query)
		}
		got = append(got, sent{uuidRE.ReplaceAllString(c.Key, "K"), len(c.Items)})
	}
	if d := cmp.Diff([]sent{{"K.0", 100}, {"K.1", 100}, {"K.2", 50}}, got, cmp.AllowUnexported(sent{})); d != "" {
		t.Fatalf("requests (-want +got):\n%s", d)
	}

	// The second chunk fails once: it is sent again with the same key and the same items.
	f.calls = nil
	key1 := ""
	f.fail = map[string]bool{}
	wrapped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get("Idempotency-Key"); strings.HasSuffix(k, ".1") && key1 == "" {
			key1 = k
			f.mu.Lock()
			f.fail[k] = true
			f.mu.Unlock()
		}
		f.ServeHTTP(w, r)
	}))
	defer wrapped.Close()
	if code, _, stderr := runCLI(t, App{}, wrapped.URL, "bulk", "repair", "--from-file", file, "--yes"); code != 0 {
		t.Fatalf("with one 503: exit %d: %s", code, stderr)
	}
	var keys []string
	for _, c := range f.calls {
		keys = append(keys, uuidRE.ReplaceAllString(c.Key, "K")+fmt.Sprintf(":%d", len(c.Items)))
	}
	if d := cmp.Diff([]string{"K.0:100", "K.1:100", "K.1:100", "K.2:50"}, keys); d != "" {
		t.Fatalf("requests with a retried chunk (-want +got):\n%s", d)
	}
	if f.calls[1].Key != f.calls[2].Key {
		t.Fatalf("the retry used another key: %s, %s", f.calls[1].Key, f.calls[2].Key)
	}
}

// TestBulkUsage: wrong combinations are usage errors (exit 2) and send nothing; without a
// terminal and without --yes nothing is changed.
func TestBulkUsage(t *testing.T) {
	f, url := newFakeBulk(t)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("clusterID,site\nx,y\n"), 0o644)
	for _, args := range [][]string{
		{"bulk", "unregister"},
		{"bulk", "unregister", "--from-file", "testdata/bulk_clusters.csv", "--orphan", "Suspected"},
		{"bulk", "reset", "--registration-status", "Registered"},
		{"bulk", "reset", "--from-file", "testdata/bulk_clusters.csv"},
		{"bulk", "repair", "--from-file", bad},
		{"bulk", "repair", "--from-file", "testdata/nowhere.csv"},
		{"bulk", "repair", "--credential-expired", "maybe"},
		{"bulk", "unregister", "--from-file", "testdata/bulk_clusters.csv"}, // no terminal, no --yes
	} {
		if code, _, stderr := runCLI(t, App{}, url, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	if len(f.calls) != 0 {
		t.Fatalf("usage errors sent %d requests: %+v", len(f.calls), f.calls)
	}
	// On a terminal, the dry run comes first and "no" stops there.
	code, _, _ := runCLI(t, App{StdinTerminal: true, Stdin: strings.NewReader("no\n")}, url, "bulk", "unregister", "--from-file", "testdata/bulk_clusters.csv")
	if code != 1 || len(f.calls) != 1 || !strings.Contains(f.calls[0].Query, "dryRun=true") {
		t.Fatalf("declined: exit %d after %+v", code, f.calls)
	}
}

// TestGoldenRegisterFromFile: one Register per row, each with its own MessageId, to the runner's
// queue endpoint; a file with a bad row sends nothing.
func TestGoldenRegisterFromFile(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		bodies = append(bodies, m)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	env := map[string]string{"REGISTRAR_ENDPOINT": srv.URL}
	app := App{Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return fixedNow }}
	code, out, stderr := runCLI(t, app, srv.URL, "register", "--from-file", "testdata/bulk_register.csv", "--requested-by", "ops")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden(t, "register_from_file", regexp.MustCompile(`sent `+uuidRE.String()).ReplaceAllString(out, "sent <message-id>"))
	want := map[string]any{"type": "Register", "clusterId": b1, "clusterName": "hci-01", "region": "East US",
		"subscriptionId": "0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"osVersion": "2508", "requestedBy": "ops", "nodes": []any{map[string]any{"name": "node1"}, map[string]any{"name": "node2"}}}
	if len(bodies) != 3 {
		t.Fatalf("%d messages sent, want 3", len(bodies))
	}
	if d := cmp.Diff(want, bodies[0]); d != "" {
		t.Errorf("first row's message (-want +got):\n%s", d)
	}
	bodies = nil
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("clusterId,clusterName,region,subscriptionId,tenantId,node\n"+
		b1+",hci-01,eastus,0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f,72f988bf-86f1-41af-91ab-2d7cd011db47,node1\n"+
		"nope,hci-02,eastus,0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f,72f988bf-86f1-41af-91ab-2d7cd011db47,node_1\n"), 0o644)
	code, _, stderr = runCLI(t, app, srv.URL, "register", "--from-file", bad)
	if code != 2 || !strings.Contains(stderr, "line 3:") || len(bodies) != 0 {
		t.Fatalf("a bad row: exit %d, %d sent, stderr %s", code, len(bodies), stderr)
	}
	if code, _, stderr := runCLI(t, app, srv.URL, "register", "--from-file", "testdata/bulk_register.csv", "--cluster-id", b1); code != 2 {
		t.Fatalf("--from-file with --cluster-id: exit %d (%s)", code, stderr)
	}
	if code, _, stderr := runCLI(t, app, srv.URL, "register", "--cluster-id", b1); code != 2 || !strings.Contains(stderr, "--cluster-name") {
		t.Fatalf("register without its required flags: exit %d (%s)", code, stderr)
	}
}

// TestBulkJourneyOnTheRunner: an operator's batch end to end through the local runner: register a
// spreadsheet of clusters, preview a bulk unregister, reset machines, repair by filter, then
// unregister the lot; each item's answer is what the service's rules say.
func TestBulkJourneyOnTheRunner(t *testing.T) {
	base := startRunner(t, nil, true)
	app := App{}
	if code, _, stderr := runCLI(t, app, base, "register", "--from-file", "testdata/bulk_register.csv"); code != 0 {
		t.Fatalf("register --from-file: exit %d: %s", code, stderr)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, out, _ := runCLI(t, app, base, "list", "--registration-status", "Registered", "-o", "json")
		if strings.Count(out, `"clusterId"`) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rows' clusters were not registered: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	results := func(args ...string) (int, []string) {
		t.Helper()
		code, out, stderr := runCLI(t, app, base, append(args, "-o", "json")...)
		var a bulkAnswer
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("%v: exit %d, %v: %s %s", args, code, err, out, stderr)
		}
		var got []string
		for _, r := range a.Items {
			s := strings.TrimSuffix(r.ClusterID+"/"+r.Machine, "/") + " "
			if r.Problem != nil {
				s += r.Problem.Code
			} else {
				s += r.Outcome
			}
			got = append(got, s)
		}
		return code, got
	}
	for _, step := range []struct {
		args []string
		code int
		want []string
	}{
		// hci-03's region is not supported: its Register was rejected, so the cluster is unknown.
		{[]string{"bulk", "unregister", "--from-file", "testdata/bulk_clusters.csv", "--dry-run"}, 1,
			[]string{b1 + " updated", b2 + " updated", b3 + " UnknownCluster", "not-a-guid InvalidField"}},
		// hci-01 runs 2508 (a reset may start), hci-02 23H2 (too old).
		{[]string{"bulk", "reset", "--from-file", "testdata/bulk_machines.json", "--yes"}, 1,
			[]string{b1 + "/node1 updated", b1 + "/node9 UnknownMachine", b2 + "/node1 ResetNotSupported"}},
		{[]string{"bulk", "repair", "--registration-status", "Registered", "--yes"}, 0, []string{b1 + " updated", b2 + " updated"}},
		{[]string{"bulk", "unregister", "--from-file", "testdata/bulk_clusters.csv", "--yes"}, 1,
			[]string{b1 + " updated", b2 + " updated", b3 + " UnknownCluster", "not-a-guid InvalidField"}},
		{[]string{"bulk", "repair", "--registration-status", "Registered", "--dry-run"}, 0, nil},
	} {
		code, got := results(step.args...)
		if d := cmp.Diff(step.want, got); d != "" || code != step.code {
			t.Fatalf("%v: exit %d (want %d); items (-want +got):\n%s", step.args, code, step.code, d)
		}
	}
}
