package admin

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// The reset routes (docs/admin-api.md): a second start answers the running operation with its
// true status; restart=true replaces a Stalled one and is 409 ResetInProgress for a running one;
// DELETE cancels a Stalled one (409 while it runs), the machine staying registered.
func TestResetRestartAndCancelRoutes(t *testing.T) {
	e := seeded(t) // node1 in progress, node2 stalled
	r := "/api/v1/machines/" + cluster1 + "/"
	type answer struct {
		Outcome domain.Outcome
		Status  string
	}
	reset := func(method, target string) answer {
		t.Helper()
		var out struct {
			Outcome domain.Outcome        `json:"outcome"`
			Detail  domain.ResetOperation `json:"detail"`
		}
		decode(t, e.call(method, target, operator, ""), &out)
		return answer{out.Outcome, out.Detail.Status}
	}
	got := map[string]answer{
		"start, stalled":  reset("POST", r+"node2/reset"),
		"start, running":  reset("POST", r+"node1/reset"),
		"restart stalled": reset("POST", r+"node2/reset?restart=true"),
	}
	problem(t, e.call("POST", r+"node1/reset?restart=true", operator, ""), http.StatusConflict, domain.CodeResetInProgress)
	problem(t, e.call("DELETE", r+"node1/reset", operator, ""), http.StatusConflict, domain.CodeResetInProgress)
	problem(t, e.call("POST", r+"node1/reset?restart=yes", operator, ""), http.StatusBadRequest, domain.CodeInvalidField)
	problem(t, e.call("DELETE", r+"node1/reset?restart=true", operator, ""), http.StatusBadRequest, domain.CodeInvalidField)
	problem(t, e.call("DELETE", r+"node1/reset", reader, ""), http.StatusForbidden, "Forbidden")
	e.clk.Advance(25 * time.Hour)
	got["cancel stalled"] = reset("DELETE", r+"node1/reset")
	got["cancel again"] = reset("DELETE", r+"node1/reset")
	want := map[string]answer{
		"start, stalled":  {domain.Unchanged, domain.ResetStalled},
		"start, running":  {domain.Unchanged, domain.ResetInProgress},
		"restart stalled": {domain.Updated, domain.ResetInProgress},
		"cancel stalled":  {domain.Updated, domain.ResetCancelled},
		"cancel again":    {domain.Unchanged, domain.ResetCancelled},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, reader, ""), &v)
	if n := v.Nodes[0]; n.Name != "node1" || n.RegistrationStatus != domain.StatusRegistered || n.Reset.Status != domain.ResetCancelled {
		t.Errorf("node1 after the cancel: %+v", n)
	}
}

// GET /machines/standalone pages the machines no cluster names yet; its cursors are its own.
func TestStandaloneMachinesRoute(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	for _, m := range []string{"edge-3", "edge-1", "edge-2"} {
		res, err := e.svc.HandleMessage(context.Background(), queueMachine,
			[]byte(`{"type":"MachineInstalled","machine":"`+m+`","installedAt":"2026-02-01T00:00:00Z"}`),
			domain.Meta{MessageID: "i-" + m, EnqueuedAt: e.clk.Now(), Queue: queueMachine})
		if err != nil || res.Outcome != domain.Created {
			t.Fatalf("install %s: %+v %v", m, res, err)
		}
	}
	var names []string
	target := "/api/v1/machines/standalone?limit=2"
	for pages := 0; target != ""; pages++ {
		var pg domain.PageOf[domain.StandaloneMachine]
		decode(t, e.call("GET", target, reader, ""), &pg)
		for _, m := range pg.Items {
			names = append(names, m.Machine+" "+m.ClusterStatus)
		}
		target = ""
		if pg.NextCursor != "" {
			target = "/api/v1/machines/standalone?limit=2&cursor=" + url.QueryEscape(pg.NextCursor)
		}
		if pages > 2 {
			t.Fatal("the pages do not end")
		}
	}
	if diff := cmp.Diff([]string{"edge-1 NotYet", "edge-2 NotYet", "edge-3 NotYet"}, names); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	problem(t, e.call("GET", "/api/v1/machines/standalone?cursor=garbage", reader, ""), http.StatusBadRequest, domain.CodeInvalidField)
}

// Standalone machines belong to no subscription: a caller whose clusters/read is scoped to
// subscriptions is refused (403), as for dead letters.
func TestStandaloneMachinesNeedAnUnscopedReader(t *testing.T) {
	e := seeded(t)
	problem(t, e.call("GET", "/api/v1/machines/standalone", readerHere, ""), http.StatusForbidden, "Forbidden")
	var pg domain.PageOf[domain.StandaloneMachine]
	decode(t, e.call("GET", "/api/v1/machines/standalone", reader, ""), &pg)
}
