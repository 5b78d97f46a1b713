package domain_test

// The rules of docs/messages.md and docs/policy.md that the product's scenarios (Register-AzStackHCI,
// Get-AzureStackHCI, Start-ArcBootstrapReset) depend on:
// safe resets, Arc on every node, the whole view, nothing changed unrecorded, re-imaged
// clusters and sovereign clouds. Each runs on the memory store and on Azurite.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/storetest"
)

func startReset(machine string, restart bool) map[string]any {
	m := map[string]any{"type": "StartMachineReset", "clusterId": cA, "machine": machine}
	if restart {
		m["restart"] = true
	}
	return m
}

func installed(cluster, machine, os string) map[string]any {
	m := map[string]any{"type": "MachineInstalled", "machine": machine, "installedAt": "2026-10-01T00:00:00Z", "osVersion": os}
	if cluster != "" {
		m["clusterId"] = cluster
	}
	return m
}

func problemCode(res domain.Result) string {
	if res.Problem == nil {
		return string(res.Outcome)
	}
	return res.Problem.Code
}

// op is the reset operation a StartMachineReset answered.
func op(t *testing.T, res domain.Result) domain.ResetOperation {
	t.Helper()
	o, ok := res.Detail.(domain.ResetOperation)
	if !ok {
		t.Fatalf("no operation in %+v (problem %v)", res, res.Problem)
	}
	return o
}

func nodeOf(t *testing.T, v domain.ClusterView, name string) domain.NodeView {
	t.Helper()
	for _, n := range v.Nodes {
		if strings.EqualFold(n.Name, name) {
			return n
		}
	}
	t.Fatalf("no node %s in %+v", name, v.Nodes)
	return domain.NodeView{}
}

// A reset starts only for a Registered node of a Registered cluster whose identity no other
// cluster holds: a machine reset and moved to another cluster cannot be reset from the old one.
func TestResetOnlyWhereTheMachineIsRegistered(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		const cC = "cccccccc-0000-4000-8000-000000000003"
		reg := func(id, name string, nodes ...string) map[string]any {
			return with(register(id, name, nodes...), "arcResourceGroup", "arc", "osVersion", "2508")
		}
		expect(t, h.cmd("", reg(cA, "hci-a", "n1", "n2", "n3")), domain.Created, "")
		expect(t, h.fact("", map[string]any{"type": "ClusterCreated", "clusterId": cC, "nodes": []string{"m1"}}), domain.Created, "")
		expect(t, h.fact("", installed(cA, "n4", "2508")), domain.Updated, "") // a node no Register named

		got := map[string]string{
			"unknown cluster":        problemCode(h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cB, "machine": "n1"})),
			"cluster not registered": problemCode(h.cmd("", map[string]any{"type": "StartMachineReset", "clusterId": cC, "machine": "m1"})),
			"node never registered":  problemCode(h.cmd("", startReset("n4", false))),
		}
		// n1 is reset, then registered to cluster B: A may not reset it again.
		o := op(t, h.cmd("", startReset("n1", false)))
		expect(t, h.fact("", map[string]any{"type": "ResetCompleted", "operationId": o.OperationID, "machine": "n1", "result": "Succeeded"}), domain.Updated, "")
		got["node reset"] = problemCode(h.cmd("", startReset("n1", false)))
		expect(t, h.cmd("", reg(cB, "hci-b", "n1")), domain.Created, "")
		got["node reset and moved"] = problemCode(h.cmd("", startReset("n1", false)))
		// n2 re-imaged into B while A is a suspected orphan: claimed there, so A may not reset it.
		h.mutate(cA, func(c *domain.Cluster) {
			c.Orphan, c.OrphanReason, c.GraceUntil = domain.OrphanSuspected, "Silent", t0.Add(7*24*time.Hour)
		})
		expect(t, h.cmd("", reg(cB, "hci-b", "n2")), domain.Updated, "")
		got["node claimed elsewhere"] = problemCode(h.cmd("", startReset("n2", false)))
		// n2 then syncs for A (clearing the claim), but B's registration holds its identity.
		expect(t, h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n2"}), domain.Updated, "")
		got["node held elsewhere"] = problemCode(h.cmd("", startReset("n2", false)))
		got["node of this cluster"] = problemCode(h.cmd("", startReset("n3", false)))

		want := map[string]string{
			"unknown cluster":        domain.CodeUnknownCluster,
			"cluster not registered": domain.CodeNotRegistered,
			"node never registered":  domain.CodeMachineNotRegistered,
			"node reset":             domain.CodeMachineNotRegistered,
			"node reset and moved":   domain.CodeMachineNotRegistered,
			"node claimed elsewhere": domain.CodeNodeRegisteredElsewhere,
			"node held elsewhere":    domain.CodeNodeRegisteredElsewhere,
			"node of this cluster":   string(domain.Updated),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("StartMachineReset answers (-want +got):\n%s", diff)
		}
	})
}

// A second start answers the running operation with its true status, Stalled included; restart
// replaces a Stalled or Failed one (the old ends Superseded) and is refused ResetInProgress
// otherwise; a Stalled one can be cancelled (Cancelled, MachineResetCancelled), the machine
// staying registered.
func TestResetRestartAndCancel(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", with(register(cA, "hci-a", "n1", "n2"), "osVersion", "2508")), domain.Created, "")
		cancels := 0
		cancel := func() domain.Result {
			t.Helper()
			cancels++
			res, err := h.svc.Apply(context.Background(), domain.CancelMachineReset{ClusterID: cA, Machine: "n1"},
				domain.Meta{MessageID: fmt.Sprint("admin-cancel-", cancels), Principal: "ops"})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		type answer struct {
			Outcome domain.Outcome
			Code    string
			Status  string
			Events  string
		}
		ans := func(res domain.Result) answer {
			a := answer{Outcome: res.Outcome, Events: strings.Join(types(res.Events), ",")}
			if res.Problem != nil {
				a.Code = res.Problem.Code
			}
			if o, ok := res.Detail.(domain.ResetOperation); ok {
				a.Status = o.Status
			}
			return a
		}
		got := map[string]answer{"cancel without a reset": ans(cancel())}
		first := op(t, h.cmd("", startReset("n1", false)))
		h.clk.Advance(time.Hour)
		got["second start"] = ans(h.cmd("", startReset("n1", false)))
		got["restart of a running reset"] = ans(h.cmd("", startReset("n1", true)))
		got["cancel of a running reset"] = ans(cancel())
		h.clk.Advance(24 * time.Hour)
		got["start while stalled"] = ans(h.cmd("", startReset("n1", false)))
		res := h.cmd("", startReset("n1", true))
		got["restart while stalled"] = ans(res)
		second := op(t, res)
		h.clk.Advance(25 * time.Hour)
		got["cancel while stalled"] = ans(cancel())
		got["cancel again"] = ans(cancel())
		got["late progress of the cancelled"] = ans(h.fact("", map[string]any{"type": "ResetProgress", "operationId": second.OperationID, "machine": "n1", "stage": "GatewayCleanup", "status": "Succeeded"}))
		third := op(t, h.cmd("", startReset("n1", false)))
		got["start after a cancel"] = answer{Outcome: domain.Updated, Status: third.Status}
		expect(t, h.fact("", map[string]any{"type": "ResetCompleted", "operationId": third.OperationID, "machine": "n1", "result": "Failed", "error": "agent offline"}), domain.Updated, "")
		got["cancel of a failed reset"] = ans(cancel())
		got["start after a failure"] = ans(h.cmd("", startReset("n1", false)))
		got["restart after a failure"] = ans(h.cmd("", startReset("n1", true)))

		want := map[string]answer{
			"cancel without a reset":         {Outcome: domain.Rejected, Code: domain.CodeNoResetOperation},
			"second start":                   {Outcome: domain.Unchanged, Status: domain.ResetInProgress},
			"restart of a running reset":     {Outcome: domain.Rejected, Code: domain.CodeResetInProgress, Events: domain.EvRequestRejected},
			"cancel of a running reset":      {Outcome: domain.Rejected, Code: domain.CodeResetInProgress},
			"start while stalled":            {Outcome: domain.Unchanged, Status: domain.ResetStalled},
			"restart while stalled":          {Outcome: domain.Updated, Status: domain.ResetInProgress, Events: domain.EvMachineResetRequested},
			"cancel while stalled":           {Outcome: domain.Updated, Status: domain.ResetCancelled, Events: domain.EvMachineResetCancelled},
			"cancel again":                   {Outcome: domain.Unchanged, Status: domain.ResetCancelled},
			"late progress of the cancelled": {Outcome: domain.Unchanged},
			"start after a cancel":           {Outcome: domain.Updated, Status: domain.ResetInProgress},
			"cancel of a failed reset":       {Outcome: domain.Rejected, Code: domain.CodeResetEnded},
			"start after a failure":          {Outcome: domain.Unchanged, Status: domain.ResetFailed},
			"restart after a failure":        {Outcome: domain.Updated, Status: domain.ResetInProgress, Events: domain.EvMachineResetRequested},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answers (-want +got):\n%s", diff)
		}
		if second.Supersedes != first.OperationID {
			t.Errorf("the restarted operation supersedes %q, want %q", second.Supersedes, first.OperationID)
		}
		if n := nodeOf(t, h.view(cA), "n1"); n.RegistrationStatus != domain.StatusRegistered {
			t.Errorf("after cancels and failures n1 is %s, want Registered", n.RegistrationStatus)
		}
		hist, err := h.svc.History(context.Background(), cA, domain.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		superseded := 0
		for _, e := range hist.Items {
			if e.What == "node n1 reset "+first.OperationID && e.Before == domain.ResetStalled && e.After == domain.ResetSuperseded {
				superseded++
			}
		}
		if superseded != 1 {
			t.Errorf("history records the first operation Superseded %d times, want once", superseded)
		}
	})
}

// After a successful reset the machine's syncs are rejected MachineNotRegistered and move
// nothing of the cluster.
func TestSyncOfAResetMachineIsRejected(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", with(register(cA, "hci-a", "n1", "n2"), "osVersion", "2508")), domain.Created, "")
		o := op(t, h.cmd("", startReset("n1", false)))
		expect(t, h.fact("", map[string]any{"type": "ResetCompleted", "operationId": o.OperationID, "machine": "n1", "result": "Succeeded"}), domain.Updated, "")
		before := h.view(cA)
		h.clk.Advance(2 * time.Hour)
		res := h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n1"})
		expect(t, res, domain.Rejected, domain.CodeMachineNotRegistered, domain.EvRequestRejected)
		if !strings.Contains(res.Problem.Reason, o.OperationID) {
			t.Errorf("the reason does not name the reset: %s", res.Problem.Reason)
		}
		after := h.view(cA)
		if !after.LastConnected.Equal(*before.LastConnected) || nodeOf(t, after, "n1").LastSync != nil {
			t.Errorf("the rejected sync moved lastConnected %v -> %v or the node's lastSync %v", before.LastConnected, after.LastConnected, nodeOf(t, after, "n1").LastSync)
		}
		if after.ArcIntegration != domain.ArcPartiallyEnabled {
			t.Errorf("arcIntegration after a machine's reset = %s, want PartiallyEnabled", after.ArcIntegration)
		}
	})
}

// A re-run Register enables Arc on every registered node, listed or not, where the node's own OS
// version has it: a cluster registered on 20H2 and upgraded gets Arc on a re-run without
// osVersion; a node still on 20H2 stays NotSupported and the cluster is PartiallyEnabled.
func TestArcOnEveryNode(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", with(register(cA, "hci-a", "n1", "n2", "n3"), "osVersion", "20H2")), domain.Created, "", domain.EvClusterRegistered)
		h.clk.Advance(time.Hour)
		h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n1", "osVersion": "21H2"})
		h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n2", "osVersion": "10.0.20348.2113"})
		rerun := register(cA, "hci-a", "n1")
		delete(rerun, "osVersion") // Register-AzStackHCI's re-run has none
		res := h.cmd("", rerun)
		expect(t, res, domain.Updated, "", domain.EvArcEnabled)
		type arc struct {
			Enabled     any
			Cluster     string
			Nodes       map[string]string
			OSRelease2  string
			Unsupported string
		}
		view := h.view(cA)
		got := arc{Enabled: field(t, res.Events[0], "machines"), Cluster: view.ArcIntegration, Nodes: map[string]string{},
			OSRelease2: nodeOf(t, view, "n2").OSRelease}
		for _, n := range view.Nodes {
			got.Nodes[n.Name] = n.ArcStatus
		}
		want := arc{Enabled: []any{"n1", "n2"}, Cluster: domain.ArcPartiallyEnabled, OSRelease2: "21H2",
			Nodes: map[string]string{"n1": domain.ArcEnabled, "n2": domain.ArcEnabled, "n3": domain.ArcNotSupported}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after the re-run (-want +got):\n%s", diff)
		}
		h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n3", "osVersion": "23H2"})
		expect(t, h.cmd("", rerun), domain.Updated, "", domain.EvArcEnabled)
		if v := h.view(cA); v.ArcIntegration != domain.ArcEnabled {
			t.Errorf("every node upgraded and enabled: arcIntegration %s, want Enabled", v.ArcIntegration)
		}
		// A node added later and not yet registered shows as such.
		expect(t, h.fact("", map[string]any{"type": "ClusterCreated", "clusterId": cA, "nodes": []string{"n1", "n2", "n3", "n4"}}), domain.Updated, "")
		v := h.view(cA)
		n4 := nodeOf(t, v, "n4")
		wantFields(t, "a node added later", fields{"cluster arc": domain.ArcPartiallyEnabled, "n4 arc": domain.ArcDisabled, "n4 registration": domain.StatusNotYet},
			fields{"cluster arc": v.ArcIntegration, "n4 arc": n4.ArcStatus, "n4 registration": n4.RegistrationStatus})
	})
}

// The view shows the values a re-run Register must repeat.
func TestViewShowsTheRegistrationValues(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", with(register(cA, "hci-a", "n1"), "resourceName", "res-a", "arcResourceGroup", "arc-a")), domain.Created, "")
		v := h.view(cA)
		type values struct {
			Subscription, Tenant, Group, Name, ArcGroup string
			Apps                                        []string
		}
		got := values{v.SubscriptionID, v.TenantID, v.ResourceGroup, v.ResourceName, v.ArcResourceGroup, v.AppIdentities}
		want := values{sub, ten, "res-a-rg", "res-a", "arc-a", []string{"res-a", "res-a.arc"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("view (-want +got):\n%s", diff)
		}
	})
}

// Nothing a re-run changes goes unrecorded: another tenant is refused; a rename of the same
// resource is accepted and recorded; every machine one message claims is recorded.
func TestNothingChangesUnrecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		reg := func(id, name string, nodes ...string) map[string]any {
			return with(register(id, name, nodes...), "arcResourceGroup", "arc")
		}
		expect(t, h.cmd("", reg(cA, "hci-a", "n1", "n2", "n3")), domain.Created, "")
		res := h.cmd("", with(reg(cA, "hci-a", "n1"), "tenantId", sub2))
		expect(t, res, domain.Rejected, domain.CodeUnregisterFirst)
		res = h.cmd("", reg(cA, "hci-renamed", "n1"))
		expect(t, res, domain.Rejected, domain.CodeUnregisterFirst) // the default resource name follows the new name
		if !strings.Contains(res.Problem.Reason, "resourceName hci-a") {
			t.Errorf("the refusal does not say which resource name to repeat: %s", res.Problem.Reason)
		}
		expect(t, h.cmd("rename", with(reg(cA, "hci-renamed", "n1"), "resourceName", "hci-a")), domain.Updated, "")
		if v := h.view(cA); v.ClusterName != "hci-renamed" || v.ResourceName != "hci-a" {
			t.Errorf("after the rename: name %s, resource %s", v.ClusterName, v.ResourceName)
		}

		// Cluster A is suspected; B registers all three of its machines in one message.
		h.mutate(cA, func(c *domain.Cluster) {
			c.Orphan, c.OrphanReason, c.GraceUntil = domain.OrphanSuspected, "Silent", t0.Add(7*24*time.Hour)
		})
		expect(t, h.cmd("claims", reg(cB, "hci-b", "n1", "n2", "n3")), domain.Created, "")
		hist, err := h.svc.History(context.Background(), cA, domain.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		type entry struct{ What, Before, After, MessageID string }
		var got []entry
		for _, e := range hist.Items {
			if e.What == "clusterName" || strings.HasSuffix(e.What, "claimedBy") {
				got = append(got, entry{e.What, e.Before, e.After, strings.SplitN(e.MessageID, "|", 2)[0]})
			}
		}
		want := []entry{ // newest first
			{"node n3 claimedBy", "", cB, "claims"}, {"node n2 claimedBy", "", cB, "claims"}, {"node n1 claimedBy", "", cB, "claims"},
			{"clusterName", "hci-a", "hci-renamed", "rename"}, {"clusterName", "", "hci-a", "msg-1"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("history of A (-want +got):\n%s", diff)
		}
	})
}

// The documented re-image flow: reinstall, create a new cluster, register it. The Register refused
// NodeRegisteredElsewhere records its claims; the holder, all its machines claimed and silent for
// a day, is suspected at once, and the refusal says so; sent again, the Register succeeds.
func TestReimagedClusterFlow(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		const cC = "cccccccc-0000-4000-8000-000000000003"
		reg := func(id, name string, nodes ...string) map[string]any {
			return with(register(id, name, nodes...), "arcResourceGroup", "arc")
		}
		expect(t, h.cmd("", reg(cA, "hci-a", "n1", "n2")), domain.Created, "")
		expect(t, h.cmd("", reg(cC, "hci-c", "m1", "m2")), domain.Created, "")
		h.clk.Advance(20 * time.Hour)
		h.fact("", map[string]any{"type": "Sync", "clusterId": cC, "machine": "m1"})

		// Day 1.5: A silent for 36 hours, C heard 16 hours ago.
		h.clk.Advance(16 * time.Hour)
		res := h.cmd("", reg(cB, "hci-b", "n1")) // only one of A's machines
		expect(t, res, domain.Rejected, domain.CodeNodeRegisteredElsewhere, domain.EvRequestRejected)
		if r := res.Problem.Reason; !strings.Contains(r, cA) || !strings.Contains(r, "not suspected") || !strings.Contains(r, "n2 not claimed") {
			t.Errorf("refusal naming one of two machines: %s", r)
		}
		res = h.cmd("", reg(cB, "hci-b", "m1", "m2"))
		expect(t, res, domain.Rejected, domain.CodeNodeRegisteredElsewhere)
		if r := res.Problem.Reason; !strings.Contains(r, cC) || !strings.Contains(r, "not suspected") || !strings.Contains(r, "heard from") {
			t.Errorf("refusal by a cluster still syncing: %s", r)
		}
		if v := h.view(cC); v.Orphan != domain.OrphanNone {
			t.Errorf("a cluster heard from within a day was suspected: %s", v.Orphan)
		}

		res = h.cmd("", reg(cB, "hci-b", "n1", "n2"))
		expect(t, res, domain.Rejected, domain.CodeNodeRegisteredElsewhere, domain.EvOrphanSuspected, domain.EvRequestRejected)
		if r := res.Problem.Reason; !strings.Contains(r, cA) || !strings.Contains(r, "now suspected") {
			t.Errorf("refusal that completes the claims: %s", r)
		}
		if res.Events[0].ClusterID != cA || field(t, res.Events[0], "reason") != domain.OrphanMachinesClaimed {
			t.Errorf("OrphanSuspected %s of %s", res.Events[0].Body, res.Events[0].ClusterID)
		}
		if v := h.view(cA); v.Orphan != domain.OrphanSuspected {
			t.Errorf("holder after the refusal: orphan %s", v.Orphan)
		}
		expect(t, h.cmd("", reg(cB, "hci-b", "n1", "n2")), domain.Created, "", domain.EvClusterRegistered, domain.EvArcEnabled)
	})
}

// ClusterUnregistered and every CleanupRequested say in which cloud, tenant and subscription the
// clean-up acts; a cloud name matches whatever its letter case.
func TestCleanupNamesItsCloudAndTenant(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		expect(t, h.cmd("", with(register(cA, "hci-a", "n1"), "cloud", "azurechinacloud", "region", "ChinaEast2")), domain.Created, "")
		type where struct{ Cloud, Tenant, Subscription any }
		plan, err := h.svc.PlanUnregister(context.Background(), cA, false) // the dry run shows the same
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(where{domain.CloudChina, ten, sub}, where{plan.Cloud, plan.TenantID, plan.SubscriptionID}); diff != "" {
			t.Errorf("dry-run plan (-want +got):\n%s", diff)
		}
		res := h.cmd("", map[string]any{"type": "Unregister", "clusterId": cA})
		expect(t, res, domain.Updated, "")
		for _, e := range res.Events {
			got := where{field(t, e, "cloud"), field(t, e, "tenantId"), field(t, e, "subscriptionId")}
			if diff := cmp.Diff(where{domain.CloudChina, ten, sub}, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", e.Type, diff)
			}
		}
	})
}

// When the offline window passes, the silent nodes turn OutOfPolicy with the cluster; a node's own
// sync brings it back (no BIOS event), the others stay OutOfPolicy until they sync.
func TestSilentNodesTurnOutOfPolicy(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a", "nodes", []map[string]any{{"name": "a-n1"}, {"name": "a-n2"}})
		h.register(cB, "b")
		for d := 1; d <= 31; d++ {
			h.at(float64(d))
			h.sync(cB, "b") // the fleet is heard: the guard is not active
			h.check(0)
		}
		h.drain()
		statuses := func() map[string]string {
			v := h.view(cA)
			out := map[string]string{"cluster": v.ConnectionStatus}
			for _, n := range v.Nodes {
				out[n.Name] = n.ConnectionStatus
			}
			return out
		}
		want := map[string]string{"cluster": domain.StatusOutOfPolicy, "a-n1": domain.StatusOutOfPolicy, "a-n2": domain.StatusOutOfPolicy}
		if diff := cmp.Diff(want, statuses()); diff != "" {
			t.Fatalf("after the offline window (-want +got):\n%s", diff)
		}
		h.sync(cA, "a") // a-n1
		if got := names(h.drain(cA)); got != "PolicyRestored/Connection" {
			t.Errorf("events of a-n1's sync: %q, want only PolicyRestored/Connection", got)
		}
		want = map[string]string{"cluster": domain.StatusConnected, "a-n1": domain.StatusConnected, "a-n2": domain.StatusOutOfPolicy}
		if diff := cmp.Diff(want, statuses()); diff != "" {
			t.Errorf("after a-n1's sync (-want +got):\n%s", diff)
		}
	})
}

// While the mass-disconnect guard holds, the view says so (silenceHeld) for a cluster that the
// clock would have turned Disconnected; once syncs are heard again it does not.
func TestViewSaysSilenceIsHeld(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.register(cA, "a")
		h.register(cB, "b")
		h.at(0.5)
		if v := h.view(cA); v.SilenceHeld {
			t.Errorf("within the connected window: silenceHeld")
		}
		h.at(2) // nothing heard from anyone since day 0: the guard holds
		h.check(0)
		if v := h.view(cA); !v.SilenceHeld || v.ConnectionStatus != domain.StatusConnected {
			t.Errorf("guard holding: silenceHeld %v, %s; want true, Connected", v.SilenceHeld, v.ConnectionStatus)
		}
		h.sync(cB, "b")
		if v := h.view(cA); v.SilenceHeld {
			t.Errorf("syncs heard again: silenceHeld still true")
		}
		if v := h.view(cB); v.SilenceHeld {
			t.Errorf("the cluster that synced shows silenceHeld")
		}
	})
}

// While the mass-disconnect guard holds, a held cluster is looked at once and then parked: a run's
// cost does not grow with the number of held clusters. The first run after syncs are heard again
// judges every held cluster, not an hour later.
func TestGuardReleaseJudgesEveryHeldCluster(t *testing.T) {
	for _, tc := range []struct {
		store string
		fleet int
	}{{"memory", 5}, {"memory", 40}, {"tables", 5}, {"tables", 15}} {
		fleet := tc.fleet
		t.Run(fmt.Sprint(tc.store, "/", fleet, " clusters"), func(t *testing.T) {
			st := storetest.Count(storeFactories[tc.store](t), slices.Concat(sweepCalls, []string{"PutIndex", "DeleteIndexIf"})...) // and the index writes
			h := harnessOn(t, st)
			id := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }
			for i := range fleet {
				h.register(id(i), fmt.Sprint("c", i))
			}
			h.at(2) // nothing heard since day 0: every cluster's connected window passed, held
			h.check(0)
			var costs []int64
			for minute := 5; minute <= 60; minute += 5 {
				h.clk.Set(t0.Add(2*swDay + time.Duration(minute)*time.Minute))
				st.Reset()
				if rep := h.check(0); !rep.GuardActive || rep.Examined != 0 {
					t.Fatalf("minute %d: %+v, want the guard active and nothing examined", minute, rep)
				}
				costs = append(costs, st.Calls())
			}
			if want := []int64{2}; !cmp.Equal(want, slices.Compact(costs)) {
				t.Errorf("store calls per run while held: %v, want %v each (NewestSync, DueBy)", costs, want)
			}
			h.sync(id(0), "c0") // the fleet is heard again
			h.clk.Set(h.clk.Now().Add(time.Minute))
			rep := h.check(0)
			if rep.GuardActive || rep.Released != fleet {
				t.Fatalf("first run after the silence: %+v, want %d released", rep, fleet)
			}
			for i := 1; i < fleet; i++ {
				if v := h.view(id(i)); v.ConnectionStatus != domain.StatusDisconnect {
					t.Fatalf("cluster %d after the first run: %s, want Disconnected", i, v.ConnectionStatus)
				}
			}
			if rep := h.check(0); rep.Released != 0 {
				t.Errorf("the next run released %d again", rep.Released)
			}
		})
	}
}

// A machine installed before any cluster names it is listed as standalone, and its own 30-day
// window warns at 7 and 1 days, then turns it OutOfPolicy with PolicyViolated (policy Cluster,
// machine set, clusterId empty, SessionId machine:<name>); a cluster that names it adopts it
// (PolicyRestored). The sweeps look at it only when something is due.
func TestStandaloneMachineAgesOut(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		install := func(machine string) {
			h.accept(domain.QueueMachineEvents, map[string]any{"type": "MachineInstalled", "machine": machine, "installedAt": h.clk.Now().Format(time.RFC3339), "osVersion": "2508"})
		}
		install("Edge-01")
		for i := range 3 {
			h.at(float64(i+1) / 10)
			install(fmt.Sprint("later-", i)) // installed later: their deadlines come later
		}
		page, err := h.svc.StandaloneMachines(ctx, domain.Page{Limit: 2})
		if err != nil || len(page.Items) != 2 || page.NextCursor == "" {
			t.Fatalf("first page: %+v %v", page, err)
		}
		want := domain.StandaloneMachine{Machine: "Edge-01", InstalledAt: t0, OSVersion: "2508", ClusterStatus: domain.StatusNotYet,
			Deadline: t0.Add(30 * swDay), Action: "Create or join a cluster with this machine before the deadline."}
		if diff := cmp.Diff(want, page.Items[0]); diff != "" {
			t.Errorf("listed (-want +got):\n%s", diff)
		}
		type event struct {
			Type, Session, Cluster, Machine, Policy string
			DaysLeft                                any
		}
		events := func() []event {
			evs, err := h.st.Pending(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.st.MarkPublished(ctx, evs); err != nil {
				t.Fatal(err)
			}
			var out []event
			for _, e := range evs {
				var b map[string]any
				_ = json.Unmarshal(e.Body, &b)
				if m, _ := b["machine"].(string); strings.EqualFold(m, "Edge-01") {
					out = append(out, event{e.Type, e.SessionID(), b["clusterId"].(string), m, b["policy"].(string), b["daysLeft"]})
				}
			}
			return out
		}
		events()
		steps := []struct {
			day      float64
			examined int
			want     []event
		}{
			{22.9, 0, nil},
			{23, 1, []event{{domain.EvPolicyWarning, "machine:edge-01", "", "Edge-01", domain.PolicyCluster, float64(7)}}},
			{23.01, 0, nil},
			// Each run examines what is due: here also the later machines' first warnings...
			{29, 4, []event{{domain.EvPolicyWarning, "machine:edge-01", "", "Edge-01", domain.PolicyCluster, float64(1)}}},
			// ... and their second.
			{30, 4, []event{{domain.EvPolicyViolated, "machine:edge-01", "", "Edge-01", domain.PolicyCluster, nil}}},
			{30.1, 1, nil}, // the three installed later violate, one by one; Edge-01 is not looked at again
			{30.2, 1, nil},
			{30.3, 1, nil},
			{31, 0, nil},
		}
		for _, step := range steps {
			h.at(step.day)
			rep := h.check(0)
			if got := events(); !cmp.Equal(step.want, got) || rep.Examined != step.examined {
				t.Fatalf("day %v: examined %d (want %d), events (-want +got):\n%s", step.day, rep.Examined, step.examined, cmp.Diff(step.want, got))
			}
		}
		page, _ = h.svc.StandaloneMachines(ctx, domain.Page{})
		if len(page.Items) != 4 || page.Items[0].ClusterStatus != domain.StatusOutOfPolicy {
			t.Fatalf("after the window: %+v", page.Items)
		}
		h.accept(domain.QueueMachineEvents, map[string]any{"type": "ClusterCreated", "clusterId": cA, "nodes": []string{"edge-01"}})
		if diff := cmp.Diff([]event{{domain.EvPolicyRestored, cA, cA, "edge-01", domain.PolicyCluster, nil}}, events()); diff != "" {
			t.Errorf("adopted: events (-want +got):\n%s", diff)
		}
		if page, _ := h.svc.StandaloneMachines(ctx, domain.Page{}); len(page.Items) != 3 {
			t.Errorf("after adoption %d standalone machines listed, want 3", len(page.Items))
		}
	})
}

// TestStandaloneNoticeNeverOvertakesAnUnpublishedOne: a standalone machine's warning whose
// publish failed (still pending) goes out before the next notice, in the run that commits it.
func TestStandaloneNoticeNeverOvertakesAnUnpublishedOne(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		h.accept(domain.QueueMachineEvents, map[string]any{"type": "MachineInstalled", "machine": "Edge-01", "installedAt": h.clk.Now().Format(time.RFC3339), "osVersion": "2508"})
		var types []string
		for _, day := range []float64{23, 29} { // the 7-day warning, left unpublished; then the 1-day one
			h.at(day)
			types = nil
			for _, e := range h.check(0).Committed {
				types = append(types, fmt.Sprintf("%s/%s", e.Type, e.SessionID()))
			}
		}
		want := []string{domain.EvPolicyWarning + "/machine:edge-01", domain.EvPolicyWarning + "/machine:edge-01"}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("published by the day-29 run (-want +got):\n%s", diff)
		}
	})
}

// TestUnregisterReadsItsHintsAtOnce: the clean-up of an unregistered cluster's index hints reads
// them in one request per kind, not one per machine (4 nodes: the machines' hints and the Arc
// resource group's, at most 2 reads), and the hints are gone after.
func TestUnregisterReadsItsHintsAtOnce(t *testing.T) {
	for _, store := range []string{"memory", "tables"} {
		t.Run(store, func(t *testing.T) {
			st := storetest.Count(storeFactories[store](t), "GetIndex", "GetIndexes")
			h := harnessOn(t, st)
			nodes := []map[string]any{{"name": "n1"}, {"name": "n2"}, {"name": "n3"}, {"name": "n4"}}
			h.register(cA, "hci-a", "nodes", nodes)
			v := h.view(cA)
			group := strings.ToLower(v.SubscriptionID) + "|" + strings.ToLower(v.ArcResourceGroup) // the identity group
			hint := func() string {
				e, err := st.GetIndex(context.Background(), "machine", group, "n1")
				if err != nil {
					return err.Error()
				}
				return e.Value
			}
			if got := hint(); got != cA {
				t.Fatalf("the hint of n1 before Unregister: %q, want %s", got, cA)
			}
			st.Reset()
			if res := h.cmd("u1", map[string]any{"type": "Unregister", "clusterId": cA}); res.Outcome != domain.Updated {
				t.Fatalf("Unregister: %s %+v", res.Outcome, res.Problem)
			}
			if n := st.Calls(); n > 2 {
				t.Errorf("index reads of an Unregister of 4 nodes: %d, want at most 2", n)
			}
			if got := hint(); got == cA {
				t.Errorf("the hint of n1 still names the cluster after Unregister")
			}
		})
	}
}
