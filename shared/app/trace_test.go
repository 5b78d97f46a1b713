package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/telemetry"
	"github.com/azlocal/registrar/shared/testkit/azurite"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

// eventsTopic is the events topic's default name (ServiceBusConnection's topic in these tests).
const eventsTopic = "registration-events"

const timerEnvelope = `{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{}}`

// invoke posts an envelope to function as the host does, with traceparent tp when not "", and
// returns the reply's Logs.
func invokeWith(t *testing.T, h http.Handler, function, envelope, tp string) []string {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/"+function, strings.NewReader(envelope))
	r.Header.Set("X-Azure-Functions-InvocationId", "6a1c4e9e-0000-4000-8000-000000000001")
	if tp != "" {
		r.Header.Set(telemetry.HeaderTraceparent, tp)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var rep struct{ Logs []string }
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s (%v)", function, w.Code, w.Body.String(), err)
	}
	return rep.Logs
}

// subscriber reads the events topic's subscription with the real azservicebus client.
type subscriber struct {
	t *testing.T
	r *azservicebus.Receiver
}

func subscribe(t *testing.T, conn string) *subscriber {
	t.Helper()
	sb, err := azservicebus.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	r, err := sb.NewReceiverForSubscription(eventsTopic, "audit", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	return &subscriber{t: t, r: r}
}

// traceIDs receives n events and returns each one's traceparent trace ID by event type.
func (s *subscriber) traceIDs(n int) map[string]string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := map[string]string{}
	for len(got) < n {
		msgs, err := s.r.ReceiveMessages(ctx, n-len(got), nil)
		if err != nil {
			s.t.Fatalf("receive: %v (%d of %d events)", err, len(got), n)
		}
		for _, m := range msgs {
			tp, _ := m.ApplicationProperties[bus.PropertyTraceparent].(string)
			got[*m.Subject] = telemetry.SpanContext(tp).TraceID().String()
		}
	}
	return got
}

var logTraceID = regexp.MustCompile(`msg=invocation .* traceId=([0-9a-f]{32}) `)

// An event carries the trace of the invocation that committed it, read from the AMQP double by
// the real azservicebus client: published right after the commit, and published a minute later by
// OutboxRelay (whose own invocation is another trace), because the outbox stores the traceparent
// with the event. An invocation without a traceparent starts a new trace, which its Logs line and
// its events share.
func TestEventsCarryTheirCausesTraceID(t *testing.T) {
	const (
		sub      = "11111111-1111-4111-8111-111111111111"
		tpFirst  = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		tpLate   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		tpRelay  = "00-5c1d6c0e8e8a4a3b9c2f0d1e2a3b4c5d-1111111111111111-01"
		idFirst  = "dddddddd-0000-4000-8000-000000000001"
		idLate   = "dddddddd-0000-4000-8000-000000000002"
		idNoTrac = "dddddddd-0000-4000-8000-000000000003"
	)
	d := sbdouble.StartDouble(t)
	retry := azservicebus.RetryOptions{MaxRetries: 1, RetryDelay: 50 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond}
	pub, err := bus.New(bus.Config{ConnectionString: d.ConnString(), Topic: eventsTopic}, &bus.Options{Retry: &retry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close(context.Background()) })
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"})
	a, err := New(context.Background(), cfg, &Options{Publisher: pub, Clock: clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	register := func(id string) string {
		return envelope(t, "reg-"+id, map[string]any{"type": "Register", "clusterId": id, "clusterName": "hci-" + id[len(id)-1:],
			"tenantId": sub, "subscriptionId": sub, "region": "eastus", "osVersion": "2508", "nodes": []map[string]any{{"name": "n1"}}})
	}
	events := subscribe(t, d.ConnString())

	invokeWith(t, a.Handler, "RegistrationRequests", register(idFirst), tpFirst)
	want := map[string]string{domain.EvClusterRegistered: "0af7651916cd43dd8448eb211c80319c", domain.EvArcEnabled: "0af7651916cd43dd8448eb211c80319c"}
	if d := cmp.Diff(want, events.traceIDs(2)); d != "" {
		t.Errorf("published right after the commit: trace ID by event (-want +got):\n%s", d)
	}

	d.Stop() // the commit succeeds, the publish after it fails: the events wait in the outbox
	invokeWith(t, a.Handler, "RegistrationRequests", register(idLate), tpLate)
	if left, err := a.Store.Pending(context.Background(), 10); err != nil || len(left) != 2 {
		t.Fatalf("pending after the failed publish: %d events (%v), want 2", len(left), err)
	}
	d.Restart()
	events = subscribe(t, d.ConnString())
	invokeWith(t, a.Handler, "OutboxRelay", timerEnvelope, tpRelay)
	want = map[string]string{domain.EvClusterRegistered: "4bf92f3577b34da6a3ce929d0e0e4736", domain.EvArcEnabled: "4bf92f3577b34da6a3ce929d0e0e4736"}
	if d := cmp.Diff(want, events.traceIDs(2)); d != "" {
		t.Errorf("published later by OutboxRelay: trace ID by event, want the cause's, not the relay's (-want +got):\n%s", d)
	}

	logs := invokeWith(t, a.Handler, "RegistrationRequests", register(idNoTrac), "")
	m := logTraceID.FindStringSubmatch(logs[len(logs)-1])
	if m == nil {
		t.Fatalf("no trace ID in the invocation's Logs line %q", logs)
	}
	want = map[string]string{domain.EvClusterRegistered: m[1], domain.EvArcEnabled: m[1]}
	if d := cmp.Diff(want, events.traceIDs(2)); d != "" {
		t.Errorf("without a traceparent: trace ID by event, want the new trace of the Logs line (-want +got):\n%s", d)
	}
}

// With tracing on, one message's trace holds the invocation's span (child of the host's
// traceparent), azcore's spans of its Table Storage calls (Azurite) and the Service Bus send (the
// AMQP double), and the event's traceparent names the invocation's span as its parent.
func TestTraceFlowsIntoTableAndServiceBusCalls(t *testing.T) {
	const (
		sub     = "11111111-1111-4111-8111-111111111111"
		id      = "eeeeeeee-0000-4000-8000-000000000001"
		traceID = "0af7651916cd43dd8448eb211c80319c"
	)
	conn := sbdouble.Start(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: azurite.Start(t), config.EnvServiceBus: conn})
	a, err := New(context.Background(), cfg, &Options{Tracing: telemetry.Export(tp), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	events := subscribe(t, conn)
	invokeWith(t, a.Handler, "RegistrationRequests", envelope(t, "reg-1", map[string]any{"type": "Register", "clusterId": id, "clusterName": "hci-1",
		"tenantId": sub, "subscriptionId": sub, "region": "eastus", "osVersion": "2508", "nodes": []map[string]any{{"name": "n1"}}}),
		"00-"+traceID+"-b7ad6b7169203331-01")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, err := events.r.ReceiveMessages(ctx, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	eventParent := telemetry.SpanContext(msgs[0].ApplicationProperties[bus.PropertyTraceparent].(string))

	spans := rec.Ended()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var invocation sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == "RegistrationRequests" {
			invocation = s
		}
	}
	if invocation == nil {
		t.Fatalf("no invocation span among %d spans", len(spans))
	}
	// Which kinds of span descend from the invocation's span, in its trace.
	kinds := map[string]bool{}
	for _, s := range spans {
		for p := s; p != nil; p = byID[p.Parent().SpanID()] {
			if p == invocation && s != invocation && s.SpanContext().TraceID().String() == traceID {
				kinds[kindOf(s.Name())] = true
				break
			}
		}
	}
	got := struct {
		Parent, EventTrace, EventParent string
		Children                        map[string]bool
	}{invocation.Parent().SpanID().String(), eventParent.TraceID().String(), eventParent.SpanID().String(), kinds}
	want := got
	want.Parent, want.EventTrace, want.EventParent = "b7ad6b7169203331", traceID, invocation.SpanContext().SpanID().String()
	want.Children = map[string]bool{"table call": true, "table HTTP": true, "service bus send": true}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("trace of one message (-want +got):\n%s", d)
	}
}

// kindOf groups span names: azcore's Table client spans ("Client.SubmitTransaction",
// "Pager[ListEntitiesResponse].NextPage", ...), its HTTP spans ("HTTP POST", ...), and the bus's
// send span.
func kindOf(name string) string {
	switch {
	case strings.HasPrefix(name, "Client.") || strings.HasPrefix(name, "ServiceClient.") || strings.HasPrefix(name, "Pager["):
		return "table call"
	case strings.HasPrefix(name, "HTTP "):
		return "table HTTP"
	case name == "send "+eventsTopic:
		return "service bus send"
	}
	return name
}
