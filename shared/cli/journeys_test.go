package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// devPost posts body to one of the runner's own routes (/dev/..., /admin/...) and returns the answer.
func devPost(t *testing.T, base, path, body string) []byte {
	t.Helper()
	res, err := http.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("POST %s = %d %s", path, res.StatusCode, b)
	}
	return b
}

// clusterOf reads the cluster's view (docs/admin-api.md#the-cluster-view) from the Admin API.
func clusterOf(t *testing.T, base, id string) domain.ClusterView {
	t.Helper()
	var v domain.ClusterView
	if err := json.Unmarshal(apiGet(t, base, "/clusters/"+id), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRegisterWaitSeesItsOwnOutcome: re-registering a registered cluster waits for that
// message's own outcome, not for the status the cluster already had.
func TestRegisterWaitSeesItsOwnOutcome(t *testing.T) {
	base := startRunner(t, nil, true)
	if code, _, stderr := runCLI(t, App{}, base, registerArgs...); code != 0 {
		t.Fatalf("first register: exit %d: %s", code, stderr)
	}
	before := clusterOf(t, base, e2eCluster)

	// Another region: rejected (9104), although the cluster is Registered all along.
	other := append([]string(nil), registerArgs...)
	other[6] = "West US"
	code, _, stderr := runCLI(t, App{}, base, other...)
	if code != 1 || !strings.Contains(stderr, "ResourceExistsInDifferentRegion") {
		t.Errorf("re-register in another region: exit %d, stderr %q; want 1 with ResourceExistsInDifferentRegion", code, stderr)
	}

	// The same registration again, a minute later on the runner's clock: it changes nothing
	// (not even lastConnected), and the wait ends at its own "accepted" history entry.
	devPost(t, base, "/dev/clock", `{"advance":"1m"}`)
	code, out, stderr := runCLI(t, App{}, base, registerArgs...)
	if code != 0 || !strings.Contains(out, "is Registered") {
		t.Fatalf("same re-register: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	after := clusterOf(t, base, e2eCluster)
	var hist domain.PageOf[domain.HistoryEntry]
	if err := json.Unmarshal(apiGet(t, base, "/clusters/"+e2eCluster+"/history?limit=1"), &hist); err != nil || len(hist.Items) != 1 {
		t.Fatalf("history: %v %+v", err, hist)
	}
	if h := hist.Items[0]; h.What != "accepted" || h.After != string(domain.Unchanged) || h.At.Before(before.RegisteredAt.Add(time.Minute)) {
		t.Errorf("register --wait ended before its message was processed: newest history %+v", h)
	}
	if !after.LastConnected.Equal(*before.LastConnected) {
		t.Errorf("the re-run moved lastConnected: %v, was %v", after.LastConnected, before.LastConnected)
	}
	if after.Region != before.Region || after.RegistrationStatus != domain.StatusRegistered {
		t.Errorf("after the re-register: region %s, status %s", after.Region, after.RegistrationStatus)
	}

	// -o json with --wait prints the rejection as the API lists it.
	code, out, _ = runCLI(t, App{}, base, append(other, "-o", "json")...)
	var r domain.Rejection
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || r.Code != domain.CodeResourceExistsInDiffRegn || r.Number != 9104 {
		t.Errorf("-o json rejection: exit %d, %q (%v)", code, out, err)
	}
}

// machineEvents lists the types of the runner's published events about machine, oldest first
// (a body naming it as "machine" or among "machines").
func machineEvents(t *testing.T, base, machine string) []string {
	t.Helper()
	res, err := http.Get(base + "/dev/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct {
		Items []struct {
			Subject string `json:"subject"`
			Body    struct {
				Machine  string   `json:"machine"`
				Machines []string `json:"machines"`
			} `json:"body"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p.Items {
		if b := e.Body; b.Machine == machine || slices.Contains(b.Machines, machine) {
			out = append(out, e.Subject)
		}
	}
	return out
}

// resetNode1 registers the e2e cluster, makes node1 run 2508 and starts its reset with the
// command line; it returns the operation's ID.
func resetNode1(t *testing.T, base string) string {
	t.Helper()
	if code, _, stderr := runCLI(t, App{}, base, registerArgs...); code != 0 {
		t.Fatalf("register: exit %d: %s", code, stderr)
	}
	post(t, base, "machine-events", "sync-1", `{"type":"Sync","clusterId":"`+e2eCluster+`","machine":"node1","biosConfigHash":"h","arcAgentVersion":"1.45","osVersion":"2508"}`)
	for !strings.Contains(string(apiGet(t, base, "/clusters/"+e2eCluster)), `"osVersion":"2508"`) {
		if sleep(t.Context(), 5*time.Millisecond) != nil {
			t.Fatal("the Sync was never applied")
		}
	}
	if code, _, stderr := runCLI(t, App{}, base, "reset", "start", e2eCluster, "node1"); code != 0 {
		t.Fatalf("reset start: exit %d: %s", code, stderr)
	}
	var v domain.ResetStatusView
	if err := json.Unmarshal(apiGet(t, base, "/machines/"+e2eCluster+"/node1/reset"), &v); err != nil || v.OperationID == "" {
		t.Fatalf("no reset operation: %v %+v", err, v)
	}
	return v.OperationID
}

// TestReRegisterAfterReset (issue 5): a machine whose reset Succeeded is registered again by a
// Register that includes it, and Arc-enabled.
func TestReRegisterAfterReset(t *testing.T) {
	base := startRunner(t, nil, true)
	op := resetNode1(t, base)
	post(t, base, "machine-events", "rc-1", `{"type":"ResetCompleted","clusterId":"`+e2eCluster+`","operationId":"`+op+`","machine":"node1","result":"Succeeded"}`)
	for clusterOf(t, base, e2eCluster).Nodes[0].RegistrationStatus != domain.StatusNotYet {
		if sleep(t.Context(), 5*time.Millisecond) != nil {
			t.Fatal("the reset never made node1 NotYet")
		}
	}
	if code, out, _ := runCLI(t, App{}, base, "reset", "status", e2eCluster, "node1"); code != 0 || !strings.Contains(out, ": Succeeded, elapsed") {
		t.Fatalf("reset status: exit %d\n%s", code, out)
	}

	code, out, stderr := runCLI(t, App{}, base, registerArgs...)
	if code != 0 || !strings.Contains(out, "is Registered") {
		t.Fatalf("register again: exit %d\n%s%s", code, out, stderr)
	}
	// --wait ended at this message's own outcome, so node1 is already back.
	code, out, _ = runCLI(t, App{}, base, "status", e2eCluster)
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "node1 ") {
			line = l
		}
	}
	if f := strings.Fields(line); code != 0 || len(f) < 4 || f[1] != domain.StatusRegistered || f[3] != domain.ArcEnabled {
		t.Errorf("status: exit %d, node1 %q; want Registered and Arc Enabled\n%s", code, line, out)
	}
	// reset status no longer tells to register a machine that is registered again.
	if code, out, _ := runCLI(t, App{}, base, "reset", "status", e2eCluster, "node1"); code != 0 ||
		strings.Contains(out, "To register it again") || !strings.Contains(out, "Machine node1 has been registered again since.") {
		t.Errorf("reset status after the re-registration: exit %d\n%s", code, out)
	}
	evs := machineEvents(t, base, "node1")
	ready := slices.Index(evs, "MachineReadyForRegistration")
	if ready < 0 || !slices.Contains(evs[ready+1:], "ArcEnabled") {
		t.Errorf("node1's events %v; want MachineReadyForRegistration then ArcEnabled", evs)
	}
}

// TestStalledResetOnTheRunnersClock (issue 5): a reset with no progress for Reset__StallAfter
// (24 h) is Stalled by PolicyExpiryCheck, with one MachineResetStalled however often it runs.
func TestStalledResetOnTheRunnersClock(t *testing.T) {
	var checks atomic.Int32 // PolicyExpiryCheck invocations the app has answered
	base := localrun.Start(t, &localrun.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if r.URL.Path == "/PolicyExpiryCheck" {
				checks.Add(1)
			}
		})
	}}).URL
	resetNode1(t, base)
	devPost(t, base, "/dev/clock", `{"advance":"25h"}`)
	runCheck := func(n int32) {
		devPost(t, base, "/admin/functions/PolicyExpiryCheck", `{"input":""}`)
		for checks.Load() < n {
			if sleep(t.Context(), 5*time.Millisecond) != nil {
				t.Fatalf("PolicyExpiryCheck run %d never ended", n)
			}
		}
	}
	runCheck(1)
	code, out, stderr := runCLI(t, App{}, base, "reset", "status", e2eCluster, "node1")
	if code != 0 || !strings.Contains(out, ": Stalled, elapsed") {
		t.Errorf("reset status: exit %d, want 0 showing Stalled\n%s%s", code, out, stderr)
	}
	_, out, _ = runCLI(t, App{}, base, "reset", "status", e2eCluster, "node1", "-o", "json")
	sameJSON(t, "reset status", out, apiGet(t, base, "/machines/"+e2eCluster+"/node1/reset"))
	count := func() int {
		n := 0
		for _, e := range machineEvents(t, base, "node1") {
			if e == "MachineResetStalled" {
				n++
			}
		}
		return n
	}
	if n := count(); n != 1 {
		t.Errorf("after one check: %d MachineResetStalled events, want 1", n)
	}
	runCheck(2)
	if n := count(); n != 1 {
		t.Errorf("after a second check: %d MachineResetStalled events, want still 1", n)
	}
}
