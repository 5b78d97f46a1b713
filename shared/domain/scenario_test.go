package domain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// storeFactories are the stores every scenario and sweep journey runs on: memory and Azurite,
// each checking every event committed against its schema (schema_test.go).
var storeFactories = map[string]func(t testing.TB) domain.Store{
	"memory": func(t testing.TB) domain.Store { return schemaChecked(t, memory.New(nil)) },
	"tables": func(t testing.TB) domain.Store {
		st, err := tables.New(context.Background(), tables.Config{ConnectionString: azurite.Start(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return schemaChecked(t, st)
	},
}

const (
	cA   = "aaaaaaaa-0000-4000-8000-000000000001"
	cB   = "bbbbbbbb-0000-4000-8000-000000000002"
	sub  = "11111111-1111-4111-8111-111111111111"
	sub2 = "33333333-3333-4333-8333-333333333333"
	ten  = "22222222-2222-4222-8222-222222222222"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func register(id, name string, nodes ...string) map[string]any {
	var ns []map[string]any
	for _, n := range nodes {
		ns = append(ns, map[string]any{"name": n})
	}
	return map[string]any{"type": "Register", "clusterId": id, "clusterName": name, "tenantId": ten,
		"subscriptionId": sub, "region": "East US", "createResourceGroup": true, "osVersion": "23H2", "nodes": ns}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func types(evs []domain.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func expect(t *testing.T, res domain.Result, outcome domain.Outcome, code string, evTypes ...string) {
	t.Helper()
	if res.Outcome != outcome {
		t.Fatalf("outcome %s (problem %v), want %s", res.Outcome, res.Problem, outcome)
	}
	if code != "" && (res.Problem == nil || res.Problem.Code != code) {
		t.Fatalf("problem %v, want code %s", res.Problem, code)
	}
	if evTypes != nil && strings.Join(types(res.Events), ",") != strings.Join(evTypes, ",") {
		t.Fatalf("events %v, want %v", types(res.Events), evTypes)
	}
}

func field(t *testing.T, e domain.Event, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

func TestRegisterJourney(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.step(t, "register", func(t *testing.T) {
			res := h.cmd("r1", register(strings.ToUpper(cA), "hci-01", "node1", "node2"))
			expect(t, res, domain.Created, "", domain.EvClusterRegistered, domain.EvArcEnabled)
			if got := field(t, res.Events[1], "machines"); fmt.Sprint(got) != "[node1 node2]" {
				t.Errorf("ArcEnabled machines = %v", got)
			}
			v := h.view(cA)
			wantID := "/subscriptions/" + sub + "/resourceGroups/hci-01-rg/providers/Microsoft.AzureStackHCI/clusters/hci-01"
			wantFields(t, "view after register", fields{"id": cA, "resource": wantID, "region": "eastus", "cloud": "AzureCloud",
				"registration": "Registered", "cluster": "Clustered", "connection": "Connected", "arc": "Enabled", "nodes": 2,
				"node1 arc": "Enabled", "last connected": t0.Format(time.RFC3339)},
				fields{"id": v.ClusterID, "resource": v.ResourceID, "region": v.Region, "cloud": v.Cloud,
					"registration": v.RegistrationStatus, "cluster": v.ClusterStatus, "connection": v.ConnectionStatus, "arc": v.ArcIntegration, "nodes": len(v.Nodes),
					"node1 arc": v.Nodes[0].ArcStatus, "last connected": timeOrNone(v.LastConnected)})
		})

		h.step(t, "re-runs", func(t *testing.T) {

			expect(t, h.cmd("r1", register(cA, "hci-01", "node1", "node2")), domain.Duplicate, "")
			expect(t, h.cmd("", register(cA, "hci-01", "node1", "node2")), domain.Unchanged, "", []string{}...)
			res := h.cmd("", register(cA, "hci-01", "node3"))
			expect(t, res, domain.Updated, "", domain.EvArcEnabled)
			if n := len(h.view(cA).Nodes); n != 3 {
				t.Fatalf("a Register removed or lost nodes: %d", n)
			}
		})

		h.step(t, "refusals", func(t *testing.T) {

			for _, tc := range []struct {
				name string
				msg  map[string]any
				code string
			}{
				{"other region", with(register(cA, "hci-01", "node1"), "region", "westeurope"), domain.CodeResourceExistsInDiffRegn},
				{"other group", with(register(cA, "hci-01", "node1"), "resourceGroup", "elsewhere"), domain.CodeUnregisterFirst},
				{"other subscription", with(register(cA, "hci-01", "node1"), "subscriptionId", sub2), domain.CodeUnregisterFirst},
				{"other arc group", with(register(cA, "hci-01", "node1"), "arcResourceGroup", "arc-elsewhere"), domain.CodeArcResourceGroupMismatch},
				{"node elsewhere", with(register(cB, "hci-02", "nodeX", "NODE2"), "arcResourceGroup", "hci-01-rg"), domain.CodeNodeRegisteredElsewhere},
				{"unsupported region", with(register(cB, "hci-02", "n9"), "region", "Mars North"), domain.CodeRegionNotSupported},
				{"unknown cloud", with(register(cB, "hci-02", "n9"), "cloud", "AzureGermanCloud"), domain.CodeRegionNotSupported},
			} {
				res := h.cmd("", tc.msg)
				expect(t, res, domain.Rejected, tc.code, domain.EvRequestRejected)
				if res.Events[0].ClusterID == "" || field(t, res.Events[0], "code") != tc.code {
					t.Errorf("%s: RequestRejected %s", tc.name, res.Events[0].Body)
				}
			}
		})

		h.step(t, "plan", func(t *testing.T) {

			plan, err := h.svc.PlanUnregister(context.Background(), cA, false)
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, s := range plan.Steps {
				steps = append(steps, fmt.Sprintf("%d:%s:%s", s.Step, s.Artifact.Kind, s.Artifact.Condition))
			}
			want := "1:ArcAppIdentity:Always 2:ArcRoleAssignment:IfArcResourceGroupUnused 3:ClusterResource:Always 4:AppIdentity:Always 5:ResourceGroup:IfOwnedAndEmpty"
			if strings.Join(steps, " ") != want {
				t.Fatalf("plan %v", steps)
			}
			if h.view(cA).RegistrationStatus != "Registered" {
				t.Fatal("PlanUnregister acted")
			}
		})

		h.step(t, "unregister", func(t *testing.T) {

			res := h.cmd("u1", map[string]any{"type": "Unregister", "clusterId": cA})
			expect(t, res, domain.Updated, "", domain.EvClusterUnregistered, "CleanupRequested", "CleanupRequested", "CleanupRequested", "CleanupRequested", "CleanupRequested")
			for i, e := range res.Events[1:] {
				if field(t, e, "step") != float64(i+1) {
					t.Errorf("CleanupRequested %d body %s", i, e.Body)
				}
			}
			v := h.view(cA)
			wantFields(t, "after unregister", fields{"registration": "NotYet", "connection": "NotYet", "arc": "Disabled"},
				fields{"registration": v.RegistrationStatus, "connection": v.ConnectionStatus, "arc": v.ArcIntegration})
			expect(t, h.cmd("", map[string]any{"type": "Unregister", "clusterId": cA}), domain.Rejected, domain.CodeNotRegistered)
			expect(t, h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "node1"}), domain.Rejected, domain.CodeNotRegistered)

		})

		h.step(t, "another cluster takes a machine", func(t *testing.T) {
			// After the unregister another cluster may take node2.
			expect(t, h.cmd("", with(register(cB, "hci-02", "nodeX", "node2"), "arcResourceGroup", "hci-01-rg")), domain.Created, "")
			expect(t, h.cmd("", register(cA, "hci-01", "node1")), domain.Updated, "", domain.EvClusterRegistered, domain.EvArcEnabled)

			hist, _ := h.svc.History(context.Background(), cA, domain.Page{})
			found := false
			for _, e := range hist.Items {
				found = found || (e.What == "registrationStatus" && e.After == "NotYet" && e.Cause == "Unregister" && e.MessageID == "u1")
			}
			if !found {
				t.Errorf("history lacks the unregister: %+v", hist.Items)
			}
		})
	})
}

func TestArcGroupSharedKeepsRoleAssignment(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", with(register(cA, "hci-01", "n1"), "arcResourceGroup", "arc-shared", "createResourceGroup", false)), domain.Created, "")
		expect(t, h.cmd("", with(register(cB, "hci-02", "n2"), "arcResourceGroup", "arc-shared")), domain.Created, "")
		res := h.cmd("", map[string]any{"type": "Unregister", "clusterId": cA, "disableOnlyArc": false})
		var steps []any
		for _, e := range res.Events[1:] {
			steps = append(steps, field(t, e, "step"))
		}
		if fmt.Sprint(steps) != "[1 3 4]" {
			t.Fatalf("steps %v, want [1 3 4] (arc group in use, resource group not owned)", steps)
		}
		res = h.cmd("", map[string]any{"type": "Unregister", "clusterId": cB, "disableOnlyArc": true})
		expect(t, res, domain.Updated, "", "CleanupRequested", "CleanupRequested")
		if v := h.view(cB); v.RegistrationStatus != "Registered" || v.ArcIntegration != "Disabled" {
			t.Fatalf("disableOnlyArc: %+v", v)
		}
		expect(t, h.cmd("", with(register(cB, "hci-02", "n2"), "arcResourceGroup", "arc-shared")), domain.Updated, "", domain.EvArcEnabled)
	})
}

func TestCloudsAndOSVersions(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		res := h.cmd("", with(register(cA, "hci-01", "n1"), "osVersion", "20H2"))
		expect(t, res, domain.Created, "", domain.EvClusterRegistered)
		if v := h.view(cA); v.ArcIntegration != "NotSupported" || v.Nodes[0].ArcStatus != "NotSupported" {
			t.Fatalf("20H2: %+v", v)
		}
		expect(t, h.cmd("", with(register(cB, "hci-02", "n2"), "cloud", "AzureChinaCloud", "region", "China East 2")), domain.Created, "")
		if v := h.view(cB); v.Region != "chinaeast2" || v.Cloud != "AzureChinaCloud" {
			t.Fatalf("china: %+v", v)
		}
		const cC = "cccccccc-0000-4000-8000-000000000003"
		expect(t, h.cmd("", with(register(cC, "hci-03", "n3"), "cloud", "AzureChinaCloud", "region", "eastus")), domain.Rejected, domain.CodeRegionNotSupported)
		expect(t, h.cmd("", with(register(cC, "hci-03", "n3"), "cloud", "AzureUSGovernment", "region", "usgovvirginia")), domain.Created, "")
	})
}

func TestBiosMajorityAndSyncs(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", register(cA, "hci-01", "n1", "n2", "n3")), domain.Created, "")
		sync := func(id, machine, hash string) domain.Result {
			return h.fact(id, map[string]any{"type": "Sync", "clusterId": cA, "machine": machine, "biosConfigHash": hash, "arcAgentVersion": "1.45"})
		}
		h.clk.Advance(time.Hour)
		sync("", "n1", "good")
		sync("", "n2", "good")
		res := sync("", "n3", "odd")
		expect(t, res, domain.Updated, "", domain.EvPolicyViolated)
		if field(t, res.Events[0], "machine") != "n3" || field(t, res.Events[0], "policy") != domain.PolicyBios {
			t.Fatalf("PolicyViolated body %s", res.Events[0].Body)
		}
		if v := h.view(cA); v.Nodes[2].ConnectionStatus != "OutOfPolicy" || v.Nodes[0].ConnectionStatus != "Connected" {
			t.Fatalf("bios: %+v", v.Nodes)
		}
		expect(t, sync("", "n3", "good"), domain.Updated, "", domain.EvPolicyRestored)

		// A sync that only moves lastConnected writes no history.
		before, _ := h.svc.History(context.Background(), cA, domain.Page{})
		h.clk.Advance(12 * time.Hour)
		expect(t, sync("s-late", "n1", "good"), domain.Updated, "")
		after, _ := h.svc.History(context.Background(), cA, domain.Page{})
		if len(after.Items) != len(before.Items) {
			t.Fatalf("plain sync wrote history: %+v", after.Items[0])
		}
		expect(t, sync("s-late", "n1", "good"), domain.Duplicate, "")
		latest := h.clk.Now()

		// A stale sync (enqueued earlier) never moves lastConnected back.
		res2, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents,
			[]byte(`{"type":"Sync","clusterId":"`+cA+`","machine":"n2","biosConfigHash":"good"}`),
			domain.Meta{MessageID: "stale", EnqueuedAt: latest.Add(-6 * time.Hour)})
		if err != nil || res2.Outcome == domain.Rejected {
			t.Fatalf("stale sync: %v %+v", err, res2)
		}
		if v := h.view(cA); !v.LastConnected.Equal(latest) {
			t.Fatalf("lastConnected %v, want %v", v.LastConnected, latest)
		}
		if n, _ := h.st.NewestSync(context.Background()); n.IsZero() {
			t.Fatal("NoteSync never called")
		}
	})
}

func TestRejectionsRecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		res := h.send(domain.QueueRegistrationRequests, "bad-1", `{"type":"Register","clusterId":"nope"}`)
		expect(t, res, domain.Rejected, domain.CodeInvalidField, domain.EvRequestRejected)
		if res.Events[0].SessionID() != domain.UnknownSession || field(t, res.Events[0], "messageId") != "bad-1" || field(t, res.Events[0], "messageType") != "Register" {
			t.Fatalf("RequestRejected %s", res.Events[0].Body)
		}
		expect(t, h.send(domain.QueueRegistrationRequests, "bad-1", `{"type":"Register","clusterId":"nope"}`), domain.Duplicate, "")
		expect(t, h.send(domain.QueueMachineEvents, "", `not json`), domain.Rejected, domain.CodeMalformedMessage)
		expect(t, h.send(domain.QueueMachineEvents, "", map[string]any{"type": "Register"}), domain.Rejected, domain.CodeUnknownMessageType)
		rej, err := h.svc.Rejections(context.Background(), domain.Everywhere(), domain.Page{})
		if err != nil || len(rej.Items) != 3 {
			t.Fatalf("rejections %v %+v", err, rej.Items)
		}
		codes := map[string]bool{}
		for _, r := range rej.Items {
			codes[r.Code] = true
			if r.Code == domain.CodeInvalidField && (r.Field != "clusterId" || r.MessageID != "bad-1") {
				t.Errorf("rejection %+v", r)
			}
		}
		if !codes[domain.CodeMalformedMessage] || !codes[domain.CodeUnknownMessageType] {
			t.Errorf("codes %v", codes)
		}
		// Admin commands are refused without a rejection record.
		ar, err := h.svc.Apply(context.Background(), domain.Unregister{ClusterID: cB}, domain.Meta{Principal: "ops"})
		noErr(t, "admin unregister of unknown cluster", err)
		wantFields(t, "admin unregister of unknown cluster", fields{"outcome": domain.Rejected, "code": domain.CodeUnknownCluster},
			fields{"outcome": ar.Outcome, "code": problemCode(ar)})
	})
}

func TestConcurrentCommandsOnOneCluster(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", register(cA, "hci-01", "n0")), domain.Created, "")
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 1; i <= 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				raw, _ := json.Marshal(register(cA, "hci-01", fmt.Sprintf("n%d", i)))
				res, err := h.svc.HandleMessage(context.Background(), domain.QueueRegistrationRequests, raw, domain.Meta{MessageID: fmt.Sprintf("race-%d", i), EnqueuedAt: t0})
				if err == nil && res.Outcome != domain.Updated {
					err = fmt.Errorf("outcome %s", res.Outcome)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		// The conflict retries back off, so all 8 commit within their first call.
		for err := range errs {
			if err != nil {
				t.Errorf("a concurrent Register failed its delivery: %v", err)
			}
		}
		if n := len(h.view(cA).Nodes); n != 9 {
			t.Fatalf("%d nodes after 8 concurrent additions to 1: a lost update", n)
		}
	})
}

func TestMachineReset(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", register(cA, "hci-01", "n1", "n2")), domain.Created, "")
		res := h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "n1"})
		expect(t, res, domain.Rejected, domain.CodeResetNotSupported)
		if !strings.Contains(res.Problem.Reason, "23H2") {
			t.Errorf("reason does not name the version: %s", res.Problem.Reason)
		}
		expect(t, h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "n9"}), domain.Rejected, domain.CodeUnknownMachine)
		expect(t, h.fact("", map[string]any{"type": "MachineInstalled", "clusterId": cA, "machine": "n1", "installedAt": "2026-10-01T00:00:00Z", "osVersion": "2508"}), domain.Updated, "")

		res = h.cmd("start-1", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "n1"})
		expect(t, res, domain.Updated, "", domain.EvMachineResetRequested)
		op := res.Detail.(domain.ResetOperation).OperationID
		again := h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "n1"})
		if again.Outcome != domain.Unchanged || again.Detail.(domain.ResetOperation).OperationID != op {
			t.Fatalf("second start: %+v", again)
		}
		progress := func(stage, status string) domain.Result {
			return h.fact("", map[string]any{"type": "ResetProgress", "operationId": op, "machine": "n1", "stage": stage, "status": status})
		}
		h.clk.Advance(time.Minute)
		expect(t, progress("ExtensionCleanup", "Succeeded"), domain.Updated, "")
		expect(t, progress("ExtensionCleanup", "InProgress"), domain.Unchanged, "") // out of order: not regressed
		st, err := h.svc.ResetStatus(context.Background(), cA, "n1")
		noErr(t, "reset status", err)
		wantFields(t, "reset status", fields{"status": "InProgress", "stage 0": "Succeeded", "elapsed": int64(60)},
			fields{"status": st.Status, "stage 0": st.Stages[0].Status, "elapsed": int64(st.ElapsedSecs)})
		h.clk.Advance(25 * time.Hour)
		if st, _ := h.svc.ResetStatus(context.Background(), cA, "n1"); st.Status != domain.ResetStalled {
			t.Fatalf("not stalled: %+v", st)
		}
		expect(t, h.fact("", map[string]any{"type": "ResetProgress", "operationId": "reset-unknown", "machine": "n1", "stage": "GatewayCleanup", "status": "InProgress"}), domain.Rejected, domain.CodeUnknownOperation)
		res = h.fact("", map[string]any{"type": "ResetCompleted", "operationId": op, "machine": "n1", "result": "Succeeded"})
		expect(t, res, domain.Updated, "", domain.EvMachineReadyForRegistration)
		expect(t, progress("GatewayCleanup", "Failed"), domain.Unchanged, "")
		st, _ = h.svc.ResetStatus(context.Background(), cA, "n1")
		wantFields(t, "after completion", fields{"status": "Succeeded", "stage 3": "Succeeded", "completed": true},
			fields{"status": st.Status, "stage 3": st.Stages[3].Status, "completed": st.CompletedAt != nil})
		v := h.view(cA)
		wantFields(t, "nodes after reset", fields{"n1 registration": "NotYet", "n1 arc": "Disabled", "n2 registration": "Registered"},
			fields{"n1 registration": v.Nodes[0].RegistrationStatus, "n1 arc": v.Nodes[0].ArcStatus, "n2 registration": v.Nodes[1].RegistrationStatus})
		res = h.cmd("", register(cA, "hci-01", "n1", "n2"))
		expect(t, res, domain.Updated, "", domain.EvArcEnabled)

		// A failed reset keeps the machine registered.
		h.fact("", map[string]any{"type": "MachineInstalled", "clusterId": cA, "machine": "n2", "installedAt": "2026-10-01T00:00:00Z", "osVersion": "2601"})
		res = h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "n2"})
		op2 := res.Detail.(domain.ResetOperation).OperationID
		res = h.fact("", map[string]any{"type": "ResetCompleted", "clusterId": cA, "operationId": op2, "machine": "n2", "result": "Failed", "error": "agent offline"})
		expect(t, res, domain.Updated, "", domain.EvMachineResetFailed)
		st, _ = h.svc.ResetStatus(context.Background(), cA, "n2")
		wantFields(t, "failed reset", fields{"status": "Failed", "error": "agent offline", "n2 registration": "Registered"},
			fields{"status": st.Status, "error": st.Error, "n2 registration": h.view(cA).Nodes[1].RegistrationStatus})

		// A plain start answers the failed operation; a restart replaces it. The first operation's
		// late reports change nothing (not rejected), with or without the cluster named.
		res = h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "n2"})
		plain, _ := res.Detail.(domain.ResetOperation)
		wantFields(t, "a plain start after a failure", fields{"outcome": domain.Unchanged, "operation": op2, "status": domain.ResetFailed},
			fields{"outcome": res.Outcome, "operation": plain.OperationID, "status": plain.Status})
		res = h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": "n2", "restart": true})
		op3 := res.Detail.(domain.ResetOperation).OperationID
		if op3 == op2 {
			t.Fatalf("the second reset reused operation %s", op2)
		}
		expect(t, h.fact("", map[string]any{"type": "ResetCompleted", "operationId": op2, "machine": "n2", "result": "Failed", "error": "agent offline"}), domain.Unchanged, "")
		expect(t, h.fact("", map[string]any{"type": "ResetProgress", "clusterId": cA, "operationId": op2, "machine": "n2", "stage": "GatewayCleanup", "status": "Succeeded"}), domain.Unchanged, "")
		st, _ = h.svc.ResetStatus(context.Background(), cA, "n2")
		wantFields(t, "the running reset after the earlier operation's reports", fields{"operation": op3, "status": domain.ResetInProgress, "stage 1": domain.ResetNotStarted},
			fields{"operation": st.OperationID, "status": st.Status, "stage 1": st.Stages[1].Status})
		expect(t, h.fact("", map[string]any{"type": "ResetProgress", "clusterId": cA, "operationId": "reset-unknown", "machine": "n2", "stage": "GatewayCleanup", "status": "Succeeded"}), domain.Rejected, domain.CodeUnknownOperation)
		// The running operation reported under another machine's name is misaddressed: rejected.
		expect(t, h.fact("", map[string]any{"type": "ResetProgress", "clusterId": cA, "operationId": op3, "machine": "n1", "stage": "GatewayCleanup", "status": "Succeeded"}), domain.Rejected, domain.CodeUnknownOperation)
	})
}

func TestMachineInstalledClaimsAndWindows(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		// A standalone machine's install time is adopted by the cluster that registers it.
		expect(t, h.fact("", map[string]any{"type": "MachineInstalled", "machine": "n1", "installedAt": "2026-10-05T00:00:00Z", "osVersion": "2508"}), domain.Created, "")
		expect(t, h.fact("", map[string]any{"type": "MachineInstalled", "machine": "n1", "installedAt": "2026-10-09T00:00:00Z"}), domain.Unchanged, "")
		expect(t, h.cmd("", with(register(cA, "hci-01", "n1"), "arcResourceGroup", "arc")), domain.Created, "")
		if e, err := h.st.GetIndex(context.Background(), "standalone", "", "n1"); err == nil {
			t.Fatalf("standalone row kept after registration: %+v", e)
		}
		if v := h.view(cA); v.Nodes[0].OSVersion != "2508" {
			t.Fatalf("adopted os version: %+v", v.Nodes[0])
		}
		// A machine of A re-installed into B (same subscription and Arc group) is claimed there.
		expect(t, h.cmd("", with(register(cB, "hci-02", "n2"), "arcResourceGroup", "arc")), domain.Created, "")
		expect(t, h.fact("", map[string]any{"type": "MachineInstalled", "clusterId": cB, "machine": "n1", "installedAt": "2026-11-01T00:00:00Z"}), domain.Updated, "")
		rec, err := h.st.Load(context.Background(), cA, "")
		if err != nil || rec.Cluster.Nodes[0].ClaimedBy != cB {
			t.Fatalf("claim not recorded: %v %+v", err, rec.Cluster)
		}
		// ClusterCreated sets Clustered for a cluster first heard of.
		const cC = "cccccccc-0000-4000-8000-000000000003"
		expect(t, h.fact("", map[string]any{"type": "ClusterCreated", "clusterId": cC, "clusterName": "hci-03", "nodes": []string{"m1", "m2"}}), domain.Created, "")
		v := h.view(cC)
		wantFields(t, "cluster created", fields{"cluster": "Clustered", "registration": "NotYet", "nodes": 2},
			fields{"cluster": v.ClusterStatus, "registration": v.RegistrationStatus, "nodes": len(v.Nodes)})
		// Repair keeps choices, records the expiry and clears credentialExpired.
		res := h.cmd("", map[string]any{"type": "RepairRegistration", "clusterId": cA, "arcSpn": map[string]any{"appId": ten, "credentialExpiresAt": "2027-11-01T00:00:00Z"}})
		expect(t, res, domain.Updated, "", domain.EvRegistrationRepaired)
		v = h.view(cA)
		wantFields(t, "repair", fields{"credential expires": "2027-11-01T00:00:00Z", "has resource": true},
			fields{"credential expires": timeOrNone(v.CredentialExpiresAt), "has resource": v.ResourceID != ""})
		expect(t, h.cmd("", map[string]any{"type": "RepairRegistration", "clusterId": cC}), domain.Rejected, domain.CodeCannotRepairNotRegistered)
	})
}

// mutate stands in for a sweep: it changes a cluster's stored state directly.
func (h *harness) mutate(id string, fn func(c *domain.Cluster)) {
	h.t.Helper()
	rec, err := h.st.Load(context.Background(), id, "")
	if err != nil {
		h.t.Fatal(err)
	}
	fn(rec.Cluster)
	rec.Cluster.Version++
	if _, err := h.st.Commit(context.Background(), domain.Change{Partition: id, Cluster: rec.Cluster, ETag: rec.ETag, Project: true}); err != nil {
		h.t.Fatal(err)
	}
}

func TestOrphansAndRestoredPolicies(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", register(cA, "hci-01", "n1", "n2")), domain.Created, "")
		h.mutate(cA, func(c *domain.Cluster) {
			c.Orphan, c.OrphanReason, c.GraceUntil = domain.OrphanSuspected, "Silent", t0.Add(7*24*time.Hour)
			c.ConnectionStatus = domain.StatusOutOfPolicy
		})
		// A suspected cluster's machine may be registered elsewhere: it is claimed there.
		res := h.cmd("", with(register(cB, "hci-02", "n1"), "arcResourceGroup", "hci-01-rg"))
		expect(t, res, domain.Created, "")
		rec, _ := h.st.Load(context.Background(), cA, "")
		if rec.Cluster.Nodes[0].ClaimedBy != cB {
			t.Fatalf("claim not marked on the suspected cluster: %+v", rec.Cluster.Nodes[0])
		}
		res = h.fact("sync-1", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n2"})
		expect(t, res, domain.Updated, "", domain.EvPolicyRestored, domain.EvOrphanCleared)
		if field(t, res.Events[1], "cause") != "sync-1" || field(t, res.Events[0], "policy") != domain.PolicyConnection {
			t.Fatalf("events %s %s", res.Events[0].Body, res.Events[1].Body)
		}
		v := h.view(cA)
		wantFields(t, "after sync", fields{"orphan": "None", "connection": "Connected", "grace until": "none"},
			fields{"orphan": v.Orphan, "connection": v.ConnectionStatus, "grace until": timeOrNone(v.OrphanGraceUntil)})
		// A cleaned-up orphan is a tombstone: syncs are rejected, a deliberate Register is allowed.
		h.mutate(cA, func(c *domain.Cluster) {
			c.Orphan, c.RegistrationStatus, c.ConnectionStatus = domain.OrphanCleanedUp, domain.StatusNotYet, domain.StatusNotYet
			c.ArcIntegration, c.Nodes[1].ArcStatus = domain.ArcDisabled, domain.ArcDisabled
		})
		expect(t, h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n2"}), domain.Rejected, domain.CodeNotRegistered)
		expect(t, h.cmd("", register(cA, "hci-01", "n2")), domain.Updated, "", domain.EvClusterRegistered, domain.EvArcEnabled)
		if v := h.view(cA); v.Orphan != "None" || v.RegistrationStatus != "Registered" {
			t.Fatalf("re-registered tombstone: %+v", v)
		}
		// A late registration clears registration OutOfPolicy.
		const cC = "cccccccc-0000-4000-8000-000000000003"
		expect(t, h.fact("", map[string]any{"type": "MachineInstalled", "clusterId": cC, "machine": "m1", "installedAt": "2026-09-01T00:00:00Z"}), domain.Created, "")
		h.mutate(cC, func(c *domain.Cluster) { c.RegistrationStatus = domain.StatusOutOfPolicy })
		res = h.cmd("", register(cC, "hci-03", "m1"))
		expect(t, res, domain.Updated, "", domain.EvClusterRegistered, domain.EvPolicyRestored, domain.EvArcEnabled)
		if field(t, res.Events[1], "policy") != domain.PolicyRegistration {
			t.Fatalf("PolicyRestored %s", res.Events[1].Body)
		}
		// An unregister in progress refuses a Register (9113).
		h.mutate(cC, func(c *domain.Cluster) { c.ArcIntegration = domain.ArcDisableInProgress })
		expect(t, h.cmd("", register(cC, "hci-03", "m1")), domain.Rejected, domain.CodeArcDisableInProgress)
	})
}

// A command applied without a recorded change leaves one "accepted" history entry with its
// MessageId (who asked what, and that it was applied); a redelivery of it and a fact (Sync) leave
// none.
func TestUnchangedCommandsAreRecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.cmd("r1", register(cA, "hci-01", "node1"))
		history := func() []domain.HistoryEntry {
			t.Helper()
			p, err := h.svc.History(context.Background(), cA, domain.Page{})
			if err != nil {
				t.Fatal(err)
			}
			return p.Items
		}
		before := len(history())
		expect(t, h.cmd("r2", with(register(cA, "hci-01", "node1"), "requestedBy", "alice@contoso.com")), domain.Unchanged, "")
		h.cmd("r2", register(cA, "hci-01", "node1")) // redelivered
		h.send(domain.QueueMachineEvents, "s1", map[string]any{"type": "Sync", "clusterId": cA, "machine": "node1", "biosConfigHash": "h"})
		h.send(domain.QueueMachineEvents, "s2", map[string]any{"type": "Sync", "clusterId": cA, "machine": "node1", "biosConfigHash": "h"})
		got := history()
		var noChange []domain.HistoryEntry
		for _, e := range got[:len(got)-before] {
			if e.What == "accepted" {
				noChange = append(noChange, e)
			}
		}
		if len(noChange) != 1 || noChange[0].MessageID != "r2" || noChange[0].Cause != domain.MsgRegister || noChange[0].After != string(domain.Unchanged) ||
			noChange[0].RequestedBy != "alice@contoso.com" || noChange[0].Principal != "" {
			t.Fatalf("new history entries %+v", got[:len(got)-before])
		}
	})
}

// A machine's OS version is that of its latest report, not of the last to arrive: a late, older
// MachineInstalled or Sync does not roll it back (and the reset's version gate reads it).
func TestOSVersionOfTheLatestReport(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", register(cA, "hci-01", "n1", "n2")), domain.Created, "")
		at := func(offset time.Duration, body map[string]any) domain.Result {
			t.Helper()
			raw, _ := json.Marshal(body)
			h.seq++
			res, err := h.svc.HandleMessage(context.Background(), domain.QueueMachineEvents, raw,
				domain.Meta{MessageID: fmt.Sprint("os-", h.seq), EnqueuedAt: h.clk.Now().Add(offset)})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		at(0, map[string]any{"type": "Sync", "clusterId": cA, "machine": "n1", "osVersion": "2508"})
		at(-30*time.Minute, map[string]any{"type": "MachineInstalled", "clusterId": cA, "machine": "n1", "installedAt": "2026-10-01T00:00:00Z", "osVersion": "23H2"})
		at(0, map[string]any{"type": "MachineInstalled", "clusterId": cA, "machine": "n2", "installedAt": "2026-10-01T00:00:00Z", "osVersion": "2508"})
		at(-30*time.Minute, map[string]any{"type": "Sync", "clusterId": cA, "machine": "n2", "osVersion": "23H2"})
		for _, n := range h.view(cA).Nodes {
			if n.OSVersion != "2508" {
				t.Errorf("%s osVersion %s, want 2508 (the latest report)", n.Name, n.OSVersion)
			}
		}
		for _, m := range []string{"n1", "n2"} {
			expect(t, h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": m}), domain.Updated, "", domain.EvMachineResetRequested)
		}
	})
}
