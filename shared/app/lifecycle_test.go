package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// envelope is a Service Bus invocation as current hosts send it: strings JSON-encoded twice.
func envelope(t testing.TB, messageID string, body any) string {
	t.Helper()
	raw, _ := json.Marshal(body)
	twice := func(s string) string {
		once, _ := json.Marshal(s)
		again, _ := json.Marshal(string(once))
		return string(again)
	}
	return `{"Data":{"message":` + twice(string(raw)) + `},"Metadata":{"MessageId":` + twice(messageID) +
		`,"DeliveryCount":"1","EnqueuedTimeUtc":"2026-11-01T12:00:00","EnqueuedTime":"2026-11-01T12:00:00+00:00"}}`
}

// outcomeOf returns the outcome the reply's Logs state for function ("" when their last entry is
// not function's invocation line).
func outcomeOf(logs []string, function string) string {
	if len(logs) == 0 || !strings.Contains(logs[len(logs)-1], " function="+function+" ") {
		return ""
	}
	return invoke.Outcome(logs)
}

// Host-shaped envelopes through the app's handler walk a registration and a reset journey, on the
// store RegistrarStorage selects: memory, and Table Storage (Azurite) through a connection string.
func TestLifecycleThroughTheHostAdapter(t *testing.T) {
	for name, storage := range map[string]func(t *testing.T) string{
		"memory": func(*testing.T) string { return "memory" },
		"tables": func(t *testing.T) string { return azurite.Start(t) },
	} {
		t.Run(name, func(t *testing.T) { testLifecycle(t, storage(t)) })
	}
}

func testLifecycle(t *testing.T, storage string) {
	const id = "aaaaaaaa-0000-4000-8000-000000000001"
	const sub = "11111111-1111-4111-8111-111111111111"
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: storage})
	pub := &publisher{}
	a, err := New(context.Background(), cfg, &Options{Publisher: pub, Clock: clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	post := func(function, messageID string, body any) {
		t.Helper()
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/"+function, strings.NewReader(envelope(t, messageID, body))))
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s: status %d %s", function, messageID, w.Code, w.Body.String())
		}
	}
	register := map[string]any{"type": "Register", "clusterId": strings.ToUpper(id), "clusterName": "hci-01", "tenantId": sub,
		"subscriptionId": sub, "region": "East US", "osVersion": "2508", "nodes": []map[string]any{{"name": "n1"}, {"name": "n2"}}}
	post("RegistrationRequests", "m1", register)
	post("RegistrationRequests", "m1", register) // redelivery: duplicate
	post("MachineEvents", "m2", map[string]any{"type": "Sync", "clusterId": id, "machine": "n1", "biosConfigHash": "h"})
	post("RegistrationRequests", "m3", map[string]any{"type": "Bogus"})
	post("RegistrationRequests", "m4", map[string]any{"type": "StartMachineReset", "clusterId": id, "machine": "n2"})

	v, err := a.Service.Cluster(context.Background(), id)
	if err != nil || v.RegistrationStatus != "Registered" || v.Nodes[1].Reset == nil {
		t.Fatalf("view %v %+v", err, v)
	}
	op := v.Nodes[1].Reset.OperationID
	post("MachineEvents", "m5", map[string]any{"type": "ResetCompleted", "operationId": op, "machine": "n2", "result": "Succeeded"})

	var types []string
	for _, e := range pub.sent {
		types = append(types, e.Type)
	}
	want := "ClusterRegistered,ArcEnabled,RequestRejected,MachineResetRequested,MachineReadyForRegistration"
	if strings.Join(types, ",") != want {
		t.Fatalf("published %v, want %s", types, want)
	}
	rej, err := a.Service.Rejections(context.Background(), domain.Everywhere(), domain.Page{})
	if err != nil || len(rej.Items) != 1 || rej.Items[0].Code != domain.CodeUnknownMessageType || rej.Items[0].MessageID != "m3" {
		t.Fatalf("rejections %+v (%v)", rej.Items, err)
	}
	if st, err := a.Service.ResetStatus(context.Background(), id, "n2"); err != nil || st.Status != "Succeeded" {
		t.Fatalf("reset %v %+v", err, st)
	}
	// Each message's events were published right after its commit and marked: nothing is left
	// for the OutboxRelay to send a second time.
	if left, err := a.Store.Pending(context.Background(), 100); err != nil || len(left) != 0 {
		t.Fatalf("still pending after the flushes: %d events (%v)", len(left), err)
	}
}

// Every message type of docs/messages.md through the host adapter, as the host sends it (double-encoded,
// and once single-encoded with body fields copied into Metadata): each answers 200 with the
// outcome in its log line, and the events published are those the contract names.
func TestEveryMessageTypeThroughTheHostAdapter(t *testing.T) {
	const id = "bbbbbbbb-0000-4000-8000-000000000002"
	const sub = "11111111-1111-4111-8111-111111111111"
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"})
	pub := &publisher{}
	a, err := New(context.Background(), cfg, &Options{Publisher: pub, Clock: clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	send := func(function, envelope, want string, wantEvents ...string) {
		t.Helper()
		before := len(pub.sent)
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/"+function, strings.NewReader(envelope)))
		var rep struct{ Logs []string }
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s (%v)", function, w.Code, w.Body.String(), err)
		}
		if got := outcomeOf(rep.Logs, function); got != want {
			t.Errorf("%s: outcome %q in logs %q, want %q", function, got, rep.Logs, want)
		}
		var types []string
		for _, e := range pub.sent[before:] {
			types = append(types, e.Type)
		}
		if strings.Join(types, ",") != strings.Join(wantEvents, ",") {
			t.Errorf("%s: published %v, want %v", function, types, wantEvents)
		}
	}
	post := func(function string, body any, want string, wantEvents ...string) {
		t.Helper()
		n++
		send(function, envelope(t, fmt.Sprintf("msg-%d", n), body), want, wantEvents...)
	}
	view := func() domain.ClusterView {
		t.Helper()
		v, err := a.Service.Cluster(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	post("MachineEvents", map[string]any{"type": "MachineInstalled", "machine": "n3", "installedAt": "2026-10-30T08:00:00Z", "osVersion": "2508"}, "created")
	post("RegistrationRequests", map[string]any{"type": "Register", "clusterId": id, "clusterName": "hci-02", "tenantId": sub,
		"subscriptionId": sub, "region": "westeurope", "osVersion": "2508", "nodes": []map[string]any{{"name": "n1"}, {"name": "n2"}, {"name": "n3"}}},
		"created", "ClusterRegistered", "ArcEnabled")
	if rec, err := a.Store.Load(context.Background(), id, ""); err != nil || !rec.Cluster.InstalledAt.Equal(time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("the standalone machine's install time was not adopted: %+v (%v)", rec.Cluster, err)
	}
	post("MachineEvents", map[string]any{"type": "ClusterCreated", "clusterId": id, "clusterName": "hci-02", "nodes": []string{"n1", "n2", "n3"}, "createdAt": "2026-10-31T08:00:00Z"}, "unchanged")
	// A single-encoded envelope whose Metadata carries copies of the body's fields (docs/architecture.md).
	sync := `{"type":"Sync","clusterId":"` + id + `","machine":"n1","biosConfigHash":"h1","arcAgentVersion":"1.45"}`
	send("MachineEvents", `{"Data":{"message":`+sync+`},"Metadata":{"MessageId":"sync-single","DeliveryCount":1,`+
		`"EnqueuedTimeUtc":"2026-11-01T12:00:00","type":"Sync","clusterId":"`+id+`","machine":"n1"}}`, "updated")
	post("RegistrationRequests", map[string]any{"type": "RepairRegistration", "clusterId": id,
		"arcSpn": map[string]any{"appId": "22222222-2222-4222-8222-222222222222", "credentialExpiresAt": "2027-06-01T00:00:00Z"}},
		"updated", "RegistrationRepaired")
	post("RegistrationRequests", map[string]any{"type": "StartMachineReset", "clusterId": id, "machine": "n2"}, "updated", "MachineResetRequested")
	op := view().Nodes[1].Reset.OperationID
	post("MachineEvents", map[string]any{"type": "ResetProgress", "clusterId": id, "operationId": op, "machine": "n2", "stage": "ExtensionCleanup", "status": "Succeeded"}, "updated")
	post("MachineEvents", map[string]any{"type": "ResetCompleted", "operationId": op, "machine": "n2", "result": "Failed", "error": "agent gone"}, "updated", "MachineResetFailed")
	if r := view().Nodes[1]; r.Reset.Status != domain.ResetFailed || r.RegistrationStatus != domain.StatusRegistered {
		t.Errorf("after a failed reset: %+v", r)
	}
	post("RegistrationRequests", map[string]any{"type": "Unregister", "clusterId": id}, "updated",
		"ClusterUnregistered", "CleanupRequested", "CleanupRequested", "CleanupRequested", "CleanupRequested")
	post("RegistrationRequests", map[string]any{"type": "Unregister", "clusterId": id}, "rejected", "RequestRejected")
	post("MachineEvents", map[string]any{"type": "Sync", "clusterId": id, "machine": "n1", "biosConfigHash": "h1"}, "rejected", "RequestRejected")
	send("RegistrationRequests", envelope(t, "not-json", "{not json"), "rejected", "RequestRejected")
	rej, err := a.Service.Rejections(context.Background(), domain.Everywhere(), domain.Page{})
	if err != nil || len(rej.Items) != 3 || rej.Items[0].Code != domain.CodeMalformedMessage || rej.Items[1].Code != domain.CodeNotRegistered {
		t.Fatalf("rejections %+v (%v)", rej.Items, err)
	}
}

// A body with its own "MessageId" field shadows the host's key (docs/architecture.md): the adapter does not
// trust it, and the message is still processed once, keyed by its sequence number or, without
// one, by its body; a redelivery is a duplicate, not a second Unregister (NotRegistered).
func TestShadowedMessageIDStaysIdempotent(t *testing.T) {
	const sub = "11111111-1111-4111-8111-111111111111"
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"})
	a, err := New(context.Background(), cfg, &Options{Publisher: &publisher{}, Clock: clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	send := func(envelope, want string) {
		t.Helper()
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/RegistrationRequests", strings.NewReader(envelope)))
		var rep struct{ Logs []string }
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%d %s (%v)", w.Code, w.Body.String(), err)
		}
		if got := outcomeOf(rep.Logs, "RegistrationRequests"); got != want {
			t.Errorf("outcome %q in logs %q, want %q", got, rep.Logs, want)
		}
	}
	for i, seq := range []string{`,"SequenceNumber":"41"`, ""} {
		id := fmt.Sprintf("cccccccc-0000-4000-8000-00000000000%d", i)
		send(envelope(t, fmt.Sprint("reg-", i), map[string]any{"type": "Register", "clusterId": id, "clusterName": fmt.Sprint("hci-", i),
			"tenantId": sub, "subscriptionId": sub, "region": "eastus", "osVersion": "2508", "nodes": []map[string]any{{"name": "n1"}}}), "created")
		unregister := `{"Data":{"message":{"type":"Unregister","clusterId":"` + id + `","MessageId":"shadow"}},` +
			`"Metadata":{"MessageId":"shadow","DeliveryCount":"1"` + seq + `,"type":"Unregister","clusterId":"` + id + `"}}`
		send(unregister, "updated")
		send(unregister, "duplicate")
	}
}

// The store runs on the service's clock: after the clock moves months ahead (as the local runner's
// does), a message's idempotency marker is not pruned as old by the next OrphanSweep, and a
// redelivery is still a duplicate.
func TestStoreMarkersOnTheServiceClock(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"})
	a, err := New(context.Background(), cfg, &Options{Publisher: &publisher{}, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	deliver := func() domain.Outcome {
		t.Helper()
		res, err := a.Service.HandleMessage(context.Background(), domain.QueueRegistrationRequests, []byte(`{"type":"Bogus"}`),
			domain.Meta{MessageID: "bad-1", EnqueuedAt: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return res.Outcome
	}
	clk.Advance(90 * 24 * time.Hour)
	if got := deliver(); got != domain.Rejected {
		t.Fatalf("first delivery: %s", got)
	}
	clk.Advance(time.Minute)
	if _, err := a.Service.SweepOrphans(context.Background(), domain.SweepRun{ID: "o"}); err != nil {
		t.Fatal(err)
	}
	if got := deliver(); got != domain.Duplicate {
		t.Fatalf("redelivery after the sweep: %s, want duplicate", got)
	}
}
