package bus_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

// Each event is published with the traceparent it was committed with, read back by the real
// azservicebus client from the AMQP double; an event without one carries no such property. With
// tracing on, the send is a producer span, child of the caller's span, linked to each event's
// trace.
func TestPublishCarriesEachEventsTraceparent(t *testing.T) {
	const (
		tpA = "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaa-01"
		tpB = "00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bbbbbbbbbbbbbbbb-00"
	)
	conn := sbdouble.Start(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c, err := bus.New(bus.Config{ConnectionString: conn, Topic: topic}, &bus.Options{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	evs := []domain.Event{
		domain.NewEvent("m-a", 0, domain.EvArcEnabled, "c-1", "", at, nil),
		domain.NewEvent("m-b", 0, domain.EvArcEnabled, "c-1", "", at, nil),
		domain.NewEvent("m-c", 0, domain.EvArcEnabled, "c-1", "", at, nil),
	}
	evs[0].Traceparent, evs[1].Traceparent = tpA, tpB
	ctx, parent := tp.Tracer("test").Start(context.Background(), "OutboxRelay")
	if err := c.Publish(ctx, evs); err != nil {
		t.Fatal(err)
	}
	parent.End()

	got := map[string]any{}
	for _, m := range receiveAll(t, sdkClient(t, conn), len(evs)) {
		got[m.MessageID] = m.ApplicationProperties[bus.PropertyTraceparent]
	}
	want := map[string]any{evs[0].ID: tpA, evs[1].ID: tpB, evs[2].ID: nil}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("traceparent application property by MessageId (-want +got):\n%s", d)
	}

	type span struct {
		Name, Kind, Parent string
		Links              []string
	}
	var spans []span
	for _, s := range rec.Ended() {
		if s.Name() == "OutboxRelay" {
			continue
		}
		var links []string
		for _, l := range s.Links() {
			links = append(links, l.SpanContext.TraceID().String())
		}
		spans = append(spans, span{s.Name(), s.SpanKind().String(), s.Parent().SpanID().String(), links})
	}
	wantSpans := []span{{"send " + topic, trace.SpanKindProducer.String(), parent.SpanContext().SpanID().String(),
		[]string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}}
	if d := cmp.Diff(wantSpans, spans); d != "" {
		t.Errorf("send spans (-want +got):\n%s", d)
	}
}
