package devhost

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
)

// The runner's topic shows each event with the application properties Service Bus carries
// (docs/events.md), its cause's traceparent included.
func TestEventsShowTheirTraceparent(t *testing.T) {
	r, _, _ := harness(t, &recorder{}, nil)
	e := domain.NewEvent("m1", 0, domain.EvArcEnabled, "c1", "", start, nil)
	e.Traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if err := r.Publish(context.Background(), []domain.Event{e}); err != nil {
		t.Fatal(err)
	}
	got := r.Events()[0].ApplicationProperties
	want := map[string]any{"clusterId": "c1", "eventType": domain.EvArcEnabled, "schemaVersion": int32(1), "traceparent": e.Traceparent}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("application properties (-want +got):\n%s", d)
	}
}
