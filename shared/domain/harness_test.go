package domain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/google/go-cmp/cmp"
)

// harness drives the domain API on one store with a manual clock from t0, the one harness of the
// domain's tests; drain reads the events committed from the store's outbox.
type harness struct {
	t   testing.TB
	st  domain.Store
	clk *clock.Manual
	svc *domain.Service
	seq int // messages sent with a fresh MessageId
	run int // sweep runs (check)
}

// newHarness is a harness on a new store of mk.
func newHarness(t testing.TB, mk func(testing.TB) domain.Store) *harness { return harnessOn(t, mk(t)) }

// harnessOn is a harness on st.
func harnessOn(t testing.TB, st domain.Store) *harness {
	clk := clock.NewManual(t0)
	return &harness{t: t, st: st, clk: clk, svc: domain.NewService(st, clk, &domain.Options{Logger: slog.New(slog.DiscardHandler)})}
}

// forEachStore runs fn as a subtest on a new harness of each store (storeFactories).
func forEachStore(t *testing.T, fn func(t *testing.T, h *harness)) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) { fn(t, newHarness(t, mk)) })
	}
}

// send delivers body (JSON, or a raw string) on queue with messageID (a fresh one when "").
func (h *harness) send(queue domain.QueueKind, messageID string, body any) domain.Result {
	h.t.Helper()
	if messageID == "" {
		h.seq++
		messageID = fmt.Sprintf("msg-%d", h.seq)
	}
	raw, ok := body.(string)
	if !ok {
		b, _ := json.Marshal(body)
		raw = string(b)
	}
	res, err := h.svc.HandleMessage(context.Background(), queue, []byte(raw), domain.Meta{MessageID: messageID, EnqueuedAt: h.clk.Now()})
	if err != nil {
		h.t.Fatalf("HandleMessage(%s): %v", raw, err)
	}
	return res
}

// accept delivers body on queue with a fresh MessageId and fails the test unless it is accepted.
func (h *harness) accept(queue domain.QueueKind, body map[string]any) domain.Result {
	h.t.Helper()
	res := h.send(queue, "", body)
	if res.Outcome == domain.Rejected {
		h.t.Fatalf("%v: rejected %+v", body, res.Problem)
	}
	return res
}

// cmd sends a registration request.
func (h *harness) cmd(messageID string, body map[string]any) domain.Result {
	h.t.Helper()
	return h.send(domain.QueueRegistrationRequests, messageID, body)
}

// fact sends a machine event.
func (h *harness) fact(messageID string, body map[string]any) domain.Result {
	h.t.Helper()
	return h.send(domain.QueueMachineEvents, messageID, body)
}

// view is the cluster's view.
func (h *harness) view(id string) domain.ClusterView {
	h.t.Helper()
	v, err := h.svc.Cluster(context.Background(), id)
	if err != nil {
		h.t.Fatalf("Cluster(%s): %v", id, err)
	}
	return v
}

const swDay = 24 * time.Hour

// at sets the clock to t0 plus days.
func (h *harness) at(days float64) { h.clk.Set(t0.Add(time.Duration(days * float64(swDay)))) }

// register registers cluster id named name with one node, name-n1 (extra: more fields, key then value).
func (h *harness) register(id, name string, extra ...any) {
	h.t.Helper()
	m := map[string]any{"type": "Register", "clusterId": id, "clusterName": name, "tenantId": ten,
		"subscriptionId": sub, "region": "eastus", "createResourceGroup": true, "osVersion": "23H2",
		"nodes": []map[string]any{{"name": name + "-n1"}}}
	for i := 0; i < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	h.accept(domain.QueueRegistrationRequests, m)
}

// sync syncs the node of a cluster registered by register.
func (h *harness) sync(id, name string) {
	h.t.Helper()
	h.accept(domain.QueueMachineEvents, map[string]any{"type": "Sync", "clusterId": id, "machine": name + "-n1"})
}

// installed sends MachineInstalled of machine into cluster id, installed at t0.
func (h *harness) installed(id, machine string) {
	h.t.Helper()
	h.accept(domain.QueueMachineEvents, map[string]any{"type": "MachineInstalled", "clusterId": id, "machine": machine,
		"installedAt": t0.Format(time.RFC3339), "osVersion": "2508"})
}

// fields are the values a step checks, by name.
type fields map[string]any

// wantFields fails t unless got has want's values, printing only the fields that differ.
func wantFields(t testing.TB, what string, want, got fields) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s (-want +got):\n%s", what, d)
	}
}

// noErr fails t when err is set.
func noErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// timeOrNone is *at in RFC 3339 (UTC), "none" for nil.
func timeOrNone(at *time.Time) string {
	if at == nil {
		return "none"
	}
	return at.UTC().Format(time.RFC3339)
}

// deadlinePolicies are the policies of ds, in order.
func deadlinePolicies(ds []domain.Deadline) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Policy)
	}
	return out
}

// firstDeadline is the first of ds' deadlines, zero for none.
func firstDeadline(ds []domain.Deadline) time.Time {
	if len(ds) == 0 {
		return time.Time{}
	}
	return ds[0].Deadline
}

// orphanIDs are the clusters of os, in order.
func orphanIDs(os []domain.OrphanView) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.ClusterID)
	}
	return out
}

// planIDs are the clusters of plans, in order.
func planIDs(plans []domain.Plan) []string {
	var out []string
	for _, p := range plans {
		out = append(out, p.ClusterID)
	}
	return out
}

// step runs one step of a journey as a subtest of t, with h reporting to it; a failed step ends
// the journey.
func (h *harness) step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	parent := h.t
	ok := t.Run(name, func(t *testing.T) {
		h.t = t
		defer func() { h.t = parent }()
		fn(t)
	})
	if !ok {
		t.FailNow()
	}
}
