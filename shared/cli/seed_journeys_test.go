package cli

// The product's documented scenarios (Get-AzureStackHCI, Register-/Unregister-AzStackHCI,
// Start-ArcBootstrapReset), end to end as an operator runs them: messages posted to the
// local runner's queues, its clock moved, its timers run, and the command line doing the rest
// (docs/cli.md). Each step is a t.Run, so a failure names the step of the scenario that broke.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// waitUntil polls cond until it holds (the runner delivers messages asynchronously).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for !cond() {
		if sleep(ctx, 5*time.Millisecond) != nil {
			t.Fatalf("never: %s", what)
		}
	}
}

// cli runs the command line against base and fails the step unless it exits with code.
func cli(t *testing.T, base string, code int, args ...string) (string, string) {
	t.Helper()
	got, out, stderr := runCLI(t, App{}, base, args...)
	if got != code {
		t.Fatalf("registrar %s: exit %d, want %d\n%s%s", strings.Join(args, " "), got, code, out, stderr)
	}
	return out, stderr
}

func registerCmd(id, name string, extra ...string) []string {
	args := []string{"register", "--cluster-id", id, "--cluster-name", name, "--region", "East US",
		"--subscription-id", "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d", "--tenant-id", "0d3c6f5e-1b2a-4c3d-8e9f-112233445566", "--wait"}
	return append(args, extra...)
}

// rejectionOf finds the rejection of the newest message naming cluster with code.
func rejected(t *testing.T, base, cluster, code string) bool {
	var p domain.PageOf[domain.Rejection]
	if err := json.Unmarshal(apiGet(t, base, "/rejections"), &p); err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Items {
		if r.ClusterID == cluster && r.Code == code {
			return true
		}
	}
	return false
}

// resetWithAgent runs reset start --wait while an on-premises agent (this test) reports the
// operation completed; it returns the command's exit code and output.
func resetWithAgent(t *testing.T, base, cluster, machine, result string) (int, string, string) {
	t.Helper()
	stdout, stderr := &liveOut{}, &bytes.Buffer{}
	app := App{Stdout: stdout, Stderr: stderr, Stdin: strings.NewReader(""), Poll: 5 * time.Millisecond,
		Getenv: func(k string) string { return map[string]string{"REGISTRAR_ENDPOINT": base}[k] }}
	done := make(chan int, 1)
	go func() {
		done <- app.Run(t.Context(), []string{"reset", "start", cluster, machine, "--wait", "--timeout", "1m"})
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if !stdout.waitFor(ctx, "reset start "+machine+": updated (operation ") {
		t.Fatalf("reset start never started an operation: %s%s", stdout, stderr)
	}
	var v domain.ResetStatusView
	if err := json.Unmarshal(apiGet(t, base, "/machines/"+cluster+"/"+machine+"/reset"), &v); err != nil {
		t.Fatal(err)
	}
	post(t, base, "machine-events", "done-"+v.OperationID, `{"type":"ResetCompleted","clusterId":"`+cluster+`","operationId":"`+v.OperationID+
		`","machine":"`+machine+`","result":"`+result+`","error":"agent stopped"}`)
	return <-done, stdout.String(), stderr.String()
}

// Start-ArcBootstrapReset's scenario: a 3-node cluster, one machine reset (the command says it is
// unregistered and how to register it again), its syncs refused, the machine moved to another
// cluster; the old cluster may not reset it again, the new one may.
func TestJourneyResetThenMoveTheMachine(t *testing.T) {
	base := startRunner(t, nil, true)
	const cA, cB = "aaaaaaaa-1111-4111-8111-000000000001", "bbbbbbbb-1111-4111-8111-000000000002"
	t.Run("register a 3-node cluster on 2508", func(t *testing.T) {
		cli(t, base, 0, registerCmd(cA, "hci-a", "--node", "node1", "--node", "node2", "--node", "node3", "--os-version", "2508")...)
	})
	t.Run("reset node1: unregistered, and how to register it again", func(t *testing.T) {
		code, out, stderr := resetWithAgent(t, base, cA, "node1", "Succeeded")
		if code != 0 || !strings.Contains(out, "Machine node1 unregistered successfully.") ||
			!strings.Contains(out, "registrar register --cluster-id "+cA+" --cluster-name hci-a --region eastus") ||
			!strings.Contains(out, "--resource-name hci-a --resource-group hci-a-rg --arc-resource-group hci-a-rg --node node1 --wait") {
			t.Fatalf("reset start --wait: exit %d\n%s%s", code, out, stderr)
		}
		if v := clusterOf(t, base, cA); v.ArcIntegration != domain.ArcPartiallyEnabled {
			t.Errorf("arcIntegration %s, want PartiallyEnabled", v.ArcIntegration)
		}
	})
	t.Run("node1's syncs are refused", func(t *testing.T) {
		post(t, base, "machine-events", "sync-n1", `{"type":"Sync","clusterId":"`+cA+`","machine":"node1"}`)
		waitUntil(t, "the sync refused MachineNotRegistered", func() bool { return rejected(t, base, cA, domain.CodeMachineNotRegistered) })
	})
	t.Run("node1 joins cluster B", func(t *testing.T) {
		cli(t, base, 0, registerCmd(cB, "hci-b", "--node", "node1", "--arc-resource-group", "hci-a-rg", "--os-version", "2508")...)
	})
	t.Run("cluster A may not reset node1 again", func(t *testing.T) {
		_, stderr := cli(t, base, 1, "reset", "start", cA, "node1")
		if !strings.Contains(stderr, domain.CodeMachineNotRegistered) {
			t.Errorf("stderr %q, want MachineNotRegistered", stderr)
		}
		if evs := machineEvents(t, base, "node1"); strings.Count(strings.Join(evs, " "), domain.EvMachineResetRequested) != 1 {
			t.Errorf("node1's events %v: want exactly one MachineResetRequested", evs)
		}
	})
	t.Run("cluster B may", func(t *testing.T) {
		out, _ := cli(t, base, 0, "reset", "start", cB, "node1")
		if !strings.Contains(out, "updated") {
			t.Errorf("reset start from B: %s", out)
		}
	})
}

// A reset that stops reporting: the second start shows it Stalled with what to do, cancel ends
// it (the machine stays registered), restart replaces a failed one.
func TestJourneyStalledResetCancelAndRestart(t *testing.T) {
	base := startRunner(t, nil, true)
	const cA = "aaaaaaaa-2222-4222-8222-000000000001"
	cli(t, base, 0, registerCmd(cA, "hci-a", "--node", "node1", "--os-version", "2508")...)
	t.Run("start, then nothing heard for a day", func(t *testing.T) {
		cli(t, base, 0, "reset", "start", cA, "node1")
		devPost(t, base, "/dev/clock", `{"advance":"25h"}`)
		out, _ := cli(t, base, 0, "reset", "start", cA, "node1")
		if !strings.Contains(out, "unchanged") || !strings.Contains(out, "Stalled") || !strings.Contains(out, "reset cancel "+cA+" node1") {
			t.Errorf("second start of a stalled reset:\n%s", out)
		}
	})
	t.Run("cancel it", func(t *testing.T) {
		out, _ := cli(t, base, 0, "reset", "cancel", cA, "node1")
		if !strings.Contains(out, "reset cancel node1: updated") {
			t.Errorf("reset cancel: %s", out)
		}
		out, _ = cli(t, base, 0, "reset", "status", cA, "node1")
		if !strings.Contains(out, ": Cancelled, elapsed") {
			t.Errorf("reset status after cancel:\n%s", out)
		}
		if v := clusterOf(t, base, cA); v.Nodes[0].RegistrationStatus != domain.StatusRegistered {
			t.Errorf("node1 after cancel: %s", v.Nodes[0].RegistrationStatus)
		}
		waitUntil(t, "MachineResetCancelled published", func() bool {
			return strings.Contains(strings.Join(machineEvents(t, base, "node1"), " "), domain.EvMachineResetCancelled)
		})
	})
	t.Run("a failed reset is replaced only with --restart", func(t *testing.T) {
		code, out, stderr := resetWithAgent(t, base, cA, "node1", "Failed")
		if code != 1 || !strings.Contains(stderr, "ResetFailed") {
			t.Fatalf("reset start --wait of a failing reset: exit %d\n%s%s", code, out, stderr)
		}
		out, _ = cli(t, base, 0, "reset", "start", cA, "node1")
		if !strings.Contains(out, "unchanged") || !strings.Contains(out, "--restart") {
			t.Errorf("plain start after a failure:\n%s", out)
		}
		out, _ = cli(t, base, 0, "reset", "start", cA, "node1", "--restart")
		if !strings.Contains(out, "updated") {
			t.Errorf("--restart after a failure:\n%s", out)
		}
		_, stderr = cli(t, base, 1, "reset", "start", cA, "node1", "--restart")
		if !strings.Contains(stderr, domain.CodeResetInProgress) {
			t.Errorf("--restart of a running reset: %s", stderr)
		}
	})
}

// The documented re-image flow: reinstall, create a new cluster, register it. The first Register is
// refused with its numeric code (9105), and says the old cluster is now suspected; sent again it succeeds.
func TestJourneyReimagedCluster(t *testing.T) {
	base := startRunner(t, nil, true)
	const cOld, cNew = "aaaaaaaa-3333-4333-8333-000000000001", "bbbbbbbb-3333-4333-8333-000000000002"
	// Both clusters put their Arc machines in one Arc resource group: the machines' identities are the same.
	cli(t, base, 0, registerCmd(cOld, "hci-old", "--node", "node1", "--node", "node2", "--arc-resource-group", "arc-hci")...)
	devPost(t, base, "/dev/clock", `{"advance":"36h"}`) // the old cluster's machines were wiped: silence
	t.Run("the new cluster's Register is refused, naming the old one", func(t *testing.T) {
		_, stderr := cli(t, base, 1, registerCmd(cNew, "hci-new", "--node", "node1", "--node", "node2", "--arc-resource-group", "arc-hci")...)
		if !strings.Contains(stderr, "error: NodeRegisteredElsewhere (9105): machine node1 is registered to cluster "+cOld) || !strings.Contains(stderr, "now suspected") {
			t.Errorf("stderr %q", stderr)
		}
	})
	t.Run("the old cluster is a suspected orphan", func(t *testing.T) {
		out, _ := cli(t, base, 0, "orphans")
		if !strings.Contains(out, cOld) || !strings.Contains(out, domain.OrphanMachinesClaimed) {
			t.Errorf("orphans:\n%s", out)
		}
	})
	t.Run("sent again, the Register succeeds", func(t *testing.T) {
		cli(t, base, 0, registerCmd(cNew, "hci-new", "--node", "node1", "--node", "node2", "--arc-resource-group", "arc-hci")...)
	})
}

// Arc integration on a cluster upgraded from 20H2: its nodes report 21H2 (as a release and as a
// build), and a re-run Register without --os-version enables Arc on every node.
func TestJourneyUpgradedFrom20H2(t *testing.T) {
	base := startRunner(t, nil, true)
	const cA = "aaaaaaaa-4444-4444-8444-000000000001"
	cli(t, base, 0, registerCmd(cA, "hci-a", "--node", "node1", "--node", "node2", "--os-version", "20H2")...)
	if out, _ := cli(t, base, 0, "status", cA); !strings.Contains(out, "Arc integration:    NotSupported") {
		t.Fatalf("registered on 20H2:\n%s", out)
	}
	post(t, base, "machine-events", "s1", `{"type":"Sync","clusterId":"`+cA+`","machine":"node1","osVersion":"21H2"}`)
	post(t, base, "machine-events", "s2", `{"type":"Sync","clusterId":"`+cA+`","machine":"node2","osVersion":"10.0.20348.2113"}`)
	waitUntil(t, "both syncs applied", func() bool {
		v := clusterOf(t, base, cA)
		return v.Nodes[0].OSVersion == "21H2" && v.Nodes[1].OSVersion == "10.0.20348.2113"
	})
	cli(t, base, 0, registerCmd(cA, "hci-a", "--node", "node1")...) // Register-AzStackHCI's re-run: any one server, no OS version
	out, _ := cli(t, base, 0, "status", cA)
	if !strings.Contains(out, "Arc integration:    Enabled") || strings.Count(out, " Enabled ") < 2 {
		t.Errorf("after the re-run:\n%s", out)
	}
	if evs := machineEvents(t, base, "node2"); !strings.Contains(strings.Join(evs, " "), domain.EvArcEnabled) {
		t.Errorf("node2 (not named in the re-run) got no ArcEnabled: %v", evs)
	}
}

// A registration in Azure China, its cloud named in any letter case; its clean-up says in which
// cloud, tenant and subscription to act; a re-run in another region prints its numeric code (9104).
func TestJourneySovereignCloud(t *testing.T) {
	base := startRunner(t, nil, true)
	const cA = "aaaaaaaa-5555-4555-8555-000000000001"
	china := registerCmd(cA, "hci-cn", "--node", "node1", "--cloud", "azurechinacloud")
	china[6] = "China East 2"
	cli(t, base, 0, china...)
	if out, _ := cli(t, base, 0, "status", cA); !strings.Contains(out, "Cloud:              AzureChinaCloud") {
		t.Errorf("status:\n%s", out)
	}
	east := registerCmd(cA, "hci-cn", "--node", "node1", "--cloud", "AzureChinaCloud")
	if _, stderr := cli(t, base, 1, east...); !strings.Contains(stderr, "error: ResourceExistsInDifferentRegion (9104): ") {
		t.Errorf("re-run in another region: %q", stderr)
	}
	if out, _ := cli(t, base, 0, "unregister", cA, "--dry-run"); !strings.Contains(out, "Acts in cloud AzureChinaCloud, tenant 0d3c6f5e-1b2a-4c3d-8e9f-112233445566, subscription a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d.") {
		t.Errorf("the dry run does not say where the clean-up acts:\n%s", out)
	}
	cli(t, base, 0, "unregister", cA, "--yes")
	var p struct {
		Items []struct {
			Subject string         `json:"subject"`
			Body    map[string]any `json:"body"`
		} `json:"items"`
	}
	waitUntil(t, "the clean-up published", func() bool {
		res := devGet(t, base, "/dev/events")
		_ = json.Unmarshal(res, &p)
		return strings.Contains(string(res), domain.EvCleanupRequested)
	})
	for _, e := range p.Items {
		if e.Subject != domain.EvCleanupRequested && e.Subject != domain.EvClusterUnregistered {
			continue
		}
		if e.Body["cloud"] != domain.CloudChina || e.Body["tenantId"] != "0d3c6f5e-1b2a-4c3d-8e9f-112233445566" || e.Body["subscriptionId"] != "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d" {
			t.Errorf("%s: %v", e.Subject, e.Body)
		}
	}
}

// devGet reads one of the runner's own routes.
func devGet(t *testing.T, base, path string) []byte {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b
}

// Get-AzureStackHCI's first screenshot: a machine installed, no cluster yet (ClusterStatus
// NotYet). Its own 30-day window warns at 7 and 1 days, then turns it OutOfPolicy; a cluster
// created with it adopts it.
func TestJourneyStandaloneMachineAgesOut(t *testing.T) {
	var checks atomic.Int32
	base := localrun.Start(t, &localrun.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if r.URL.Path == "/PolicyExpiryCheck" {
				checks.Add(1)
			}
		})
	}}).URL
	check := func(t *testing.T) {
		n := checks.Load() + 1
		devPost(t, base, "/admin/functions/PolicyExpiryCheck", `{"input":""}`)
		waitUntil(t, "PolicyExpiryCheck ran", func() bool { return checks.Load() >= n })
	}
	sessionEvents := func(t *testing.T) []string {
		var p struct {
			Items []struct {
				Subject   string         `json:"subject"`
				SessionID string         `json:"sessionId"`
				Body      map[string]any `json:"body"`
			} `json:"items"`
		}
		if err := json.Unmarshal(devGet(t, base, "/dev/events"), &p); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range p.Items {
			if e.SessionID == "machine:edge-01" {
				out = append(out, e.Subject+"/"+fmt.Sprint(e.Body["daysLeft"])+"/"+fmt.Sprint(e.Body["clusterId"]))
			}
		}
		return out
	}
	post(t, base, "machine-events", "install-1", `{"type":"MachineInstalled","machine":"edge-01","installedAt":"2026-01-01T00:00:00Z","osVersion":"2508"}`)
	post(t, base, "machine-events", "install-2", `{"type":"MachineInstalled","machine":"edge-02","installedAt":"2026-02-01T00:00:00Z","osVersion":"10.0.26100.4946"}`)
	t.Run("listed as standalone", func(t *testing.T) {
		waitUntil(t, "edge-01 and edge-02 listed", func() bool {
			return strings.Contains(string(apiGet(t, base, "/machines/standalone")), "edge-02")
		})
		out, _ := cli(t, base, 0, "machines", "standalone")
		if !strings.Contains(out, "edge-01") || !strings.Contains(out, "NotYet") || !strings.Contains(out, "2026-01-31T00:00:00Z") {
			t.Errorf("machines standalone:\n%s", out)
		}
		if !strings.Contains(line(out, "edge-02 "), "10.0.26100.4946 (24H2)") { // a build string shows its release, as status does
			t.Errorf("edge-02's OS:\n%s", out)
		}
	})
	t.Run("warned 7 and 1 days before, then OutOfPolicy", func(t *testing.T) {
		devPost(t, base, "/dev/clock", `{"now":"2026-01-24T00:00:00Z"}`)
		check(t)
		devPost(t, base, "/dev/clock", `{"now":"2026-01-30T00:00:00Z"}`)
		check(t)
		devPost(t, base, "/dev/clock", `{"now":"2026-01-31T00:00:00Z"}`)
		check(t)
		want := []string{"PolicyWarning/7/", "PolicyWarning/1/", "PolicyViolated/<nil>/"}
		waitUntil(t, "three events published", func() bool { return len(sessionEvents(t)) >= 3 })
		if got := sessionEvents(t); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("events of machine:edge-01 %v, want %v", got, want)
		}
		out, _ := cli(t, base, 0, "machines", "standalone")
		if !strings.Contains(out, "OutOfPolicy") {
			t.Errorf("machines standalone after the window:\n%s", out)
		}
	})
	t.Run("a cluster created with it adopts it", func(t *testing.T) {
		const cA = "aaaaaaaa-6666-4666-8666-000000000001"
		post(t, base, "machine-events", "created-1", `{"type":"ClusterCreated","clusterId":"`+cA+`","clusterName":"hci-edge","nodes":["edge-01"]}`)
		waitUntil(t, "edge-01 adopted", func() bool { return !strings.Contains(string(apiGet(t, base, "/machines/standalone")), "edge-01") })
		if v := clusterOf(t, base, cA); v.ClusterStatus != domain.StatusClustered || v.Nodes[0].OSVersion != "2508" {
			t.Errorf("the cluster: %s, node %+v", v.ClusterStatus, v.Nodes)
		}
	})
}
